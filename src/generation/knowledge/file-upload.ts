import { BODY_CHAIN, URL_CHAIN, type ClassKnowledge } from './types.js';

// Unrestricted file upload: server-executable file names in multipart bodies or PUT targets.
export const fileUpload: ClassKnowledge = {
  attackClass: 'file-upload',
  components: ['body', 'path', 'query'],
  signatures: [
    {
      id: 'executable-upload',
      regexes: [
        'filename\\s*=\\s*"?[^"\\r\\n]*\\.(?:jspx?|php\\d?|phtml|phar|aspx?|ashx|asmx|cer|war|jar|sh|cgi|pl|py|exe)(?:["\\r\\n;/]|$)|\\.(?:jspx?|php\\d?|aspx?)(?:/|::\\$data|%20)?$',
      ],
      transforms: { default: URL_CHAIN, body: BODY_CHAIN },
    },
  ],
  unscoped: false,
  cwes: ['CWE-434', 'CWE-351'],
  keywords: ['upload', 'file upload', 'arbitrary file upload', 'webshell'],
};
