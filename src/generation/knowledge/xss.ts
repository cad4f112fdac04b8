import type { ClassKnowledge } from './types.js';

// Cross-site scripting: AWS's built-in detection plus script-bearing markup and URL schemes.
export const xss: ClassKnowledge = {
  attackClass: 'xss',
  components: ['args', 'body', 'path'],
  signatures: [
    {
      id: 'xss-detector',
      detector: 'xss',
      // libinjection's XSS check flags ordinary XML (namespaced attributes): not on bodies.
      components: ['args', 'path', 'cookies'],
      transforms: { default: ['URL_DECODE_UNI', 'HTML_ENTITY_DECODE'] },
    },
    {
      id: 'script-markup',
      regexes: [
        // A script element with content, a script source, or markup carrying an event handler.
        '<\\s*script\\b[^>]{0,100}>[^<]{1,100}<\\s*/\\s*script|<\\s*script\\b[^>]{0,100}\\bsrc\\s*=|<\\s*(?:svg|iframe|img|body|details|object|embed|video|audio|input)\\b[^>]{0,100}\\bon[a-z]+\\s*=',
        'javascript\\s*:|\\b(?:alert|prompt|confirm)\\s*\\(|document\\.(?:cookie|domain)',
      ],
      transforms: {
        default: ['URL_DECODE_UNI', 'URL_DECODE_UNI', 'HTML_ENTITY_DECODE', 'JS_DECODE', 'LOWERCASE'],
      },
    },
  ],
  unscoped: false,
  cwes: ['CWE-79', 'CWE-80', 'CWE-83', 'CWE-87'],
  keywords: ['xss', 'cross-site scripting', 'cross site scripting', 'script injection'],
};
