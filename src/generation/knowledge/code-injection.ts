import { BODY_CHAIN, HEADER_CHAIN, URL_CHAIN, type ClassKnowledge } from './types.js';

// Code injection: PHP code and dangerous functions, Java class-loader data binding (Spring4Shell),
// Drupal render arrays, Groovy/script console payloads.
export const codeInjection: ClassKnowledge = {
  attackClass: 'code-injection',
  components: ['body', 'args', 'path', 'headers'],
  signatures: [
    {
      id: 'server-code',
      regexes: [
        '<\\?php|\\b(?:eval|assert|system|passthru|shell_exec|proc_open|popen|phpinfo|base64_decode|file_put_contents)\\s*\\(',
        '\\.execute\\(\\)|runtime\\.getruntime',
        // Groovy (Grape annotations, AST transforms), Node.js and Python code that reaches the OS.
        '@grab(?:config|resolver)?\\s*\\(|@groovy\\.transform|child_process|process\\.mainmodule|__import__\\s*\\(|\\bos\\.(?:system|popen)\\s*\\(|subprocess\\.',
      ],
      transforms: { default: URL_CHAIN, body: BODY_CHAIN, headers: HEADER_CHAIN },
    },
    {
      // Binding a request to the class loader (Spring4Shell) or to a render array's callbacks
      // (Drupalgeddon): no client ever names these in a parameter, so they are safe anywhere.
      id: 'framework-internals',
      regexes: [
        'class\\.module\\.classloader|#(?:post_render|pre_render|access_callback|lazy_builder|markup)\\b',
      ],
      unscoped: true,
      transforms: { default: URL_CHAIN, body: BODY_CHAIN, headers: HEADER_CHAIN },
    },
  ],
  unscoped: false,
  cwes: ['CWE-94', 'CWE-95', 'CWE-96', 'CWE-913'],
  // Impact words ("remote code execution", "arbitrary code") name no technique: they are not keywords.
  keywords: ['code injection', 'php code', 'eval', 'groovy', 'script console', 'data binding'],
};
