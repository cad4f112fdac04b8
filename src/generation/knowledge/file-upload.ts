import { BODY_CHAIN, URL_CHAIN, type ClassKnowledge } from './types.js';

// Unrestricted file upload: server-executable file names in multipart bodies or PUT targets.
export const fileUpload: ClassKnowledge = {
  attackClass: 'file-upload',
  components: ['body', 'path', 'query'],
  signatures: [
    {
      id: 'executable-upload',
      regexes: [
        'filename\\s*=\\s*"?[^"\\r\\n]*\\.(?:jspx?|php\\d?|phtml|phar|aspx?|ashx|asmx|cer|war|sh|cgi|pl|py|exe)(?:["\\r\\n;]|$)',
        // PUT tricks that make Tomcat or IIS write a script file: `x.jsp/`, `x.jsp::$DATA`, `x.jsp%20`.
        '\\.(?:jspx?|php\\d?|aspx?)(?:/|::\\$data|\\s)$',
      ],
      transforms: { default: URL_CHAIN, body: BODY_CHAIN },
    },
  ],
  unscoped: false,
  cwes: ['CWE-434', 'CWE-351'],
  keywords: [
    'upload',
    'file upload',
    'arbitrary file upload',
    'webshell',
    'file write',
    'arbitrary file write',
  ],
};
