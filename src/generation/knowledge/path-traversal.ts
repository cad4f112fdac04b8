import { BODY_CHAIN, HEADER_CHAIN, URL_CHAIN, type ClassKnowledge } from './types.js';

// Path traversal and local file read: `../` in any encoding (decoded twice; `..;/` for Tomcat,
// backslashes for Windows) and the files attackers read first.
export const pathTraversal: ClassKnowledge = {
  attackClass: 'path-traversal',
  components: ['path', 'query', 'body', 'cookies'],
  signatures: [
    {
      id: 'dot-dot-slash',
      regexes: [
        '\\.\\.[/\\\\;]|/etc/(?:passwd|shadow|group|hosts)\\b|(?:win|boot|system)\\.ini|/proc/self/|web-inf/web\\.xml|file:/',
      ],
      transforms: { default: URL_CHAIN, body: BODY_CHAIN, cookies: HEADER_CHAIN },
    },
  ],
  unscoped: true,
  cwes: ['CWE-22', 'CWE-23', 'CWE-35', 'CWE-36', 'CWE-73', 'CWE-98', 'CWE-552'],
  keywords: [
    'traversal',
    'directory traversal',
    'path traversal',
    'arbitrary file',
    'file read',
    'lfi',
    'local file',
  ],
};
