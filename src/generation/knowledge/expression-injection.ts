import { BODY_CHAIN, HEADER_CHAIN, URL_CHAIN, type ClassKnowledge } from './types.js';

// OGNL, SpEL, EL, MVEL: an expression opener (`%{`, `${`, `#{`, `(#`, `[#`, `T(`) followed closely by
// the Java reflection or runtime access every exploit needs.
export const expressionInjection: ClassKnowledge = {
  attackClass: 'expression-injection',
  components: ['path', 'query', 'body', 'headers'],
  signatures: [
    {
      id: 'java-expression',
      regexes: [
        '(?:[%$#]\\{|\\(#|\\[#|\\bt\\()[^}]{0,100}?(?:javax?\\.|getruntime|processbuilder|_memberaccess|@ognl|ognlcontext|\\.exec\\(|forname|getclass|scriptengine|classloader|#context|#request)',
        // Evaluation probes: `%{128*128}`, `${7*7}`, `#{3*3}`; arithmetic inside an expression opener.
        '[%$#]\\{\\s*\\d+\\s*[*+/-]\\s*\\d+\\s*\\}',
      ],
      transforms: { default: URL_CHAIN, body: BODY_CHAIN, headers: HEADER_CHAIN },
    },
  ],
  unscoped: true,
  cwes: ['CWE-917', 'CWE-94', 'CWE-95', 'CWE-1336'],
  keywords: [
    'ognl',
    'spel',
    'expression',
    'expression language',
    'el injection',
    'routing-expression',
    'mvel',
  ],
};
