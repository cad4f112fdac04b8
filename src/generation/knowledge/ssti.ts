import { BODY_CHAIN, URL_CHAIN, type ClassKnowledge } from './types.js';

// Server-side template injection: template delimiters around arithmetic or object traversal
// (Jinja2/Twig/Handlebars), FreeMarker/Velocity directives, EJS option smuggling, HFS macros.
export const ssti: ClassKnowledge = {
  attackClass: 'ssti',
  components: ['query', 'body', 'path', 'headers'],
  signatures: [
    {
      id: 'template-expression',
      regexes: [
        '\\{\\{[^}]{0,80}?(?:\\d\\s*[*+]\\s*\\d|__\\w+__|\\.constructor|self\\.|config\\.|lipsum|cycler|process\\.|require\\(|popen)',
        '<#assign|freemarker\\.template|\\{\\.exec\\||outputfunctionname|process\\.mainmodule|child_process|internalget\\(',
        // Java template engines (Thymeleaf, Velocity, JSP EL) evaluate `${…}`/`#set(…)` with reflection.
        '(?:[$#*]\\{|#set\\s*\\()[^}]{0,100}?(?:getclass|forname|getruntime|processbuilder|t\\(\\s*java\\.)',
      ],
      transforms: { default: URL_CHAIN, body: BODY_CHAIN },
    },
  ],
  unscoped: true,
  cwes: ['CWE-1336', 'CWE-94'],
  keywords: ['template', 'ssti', 'velocity', 'freemarker', 'jinja', 'twig', 'ejs'],
};
