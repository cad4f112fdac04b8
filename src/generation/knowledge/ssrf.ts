import { BODY_CHAIN, URL_CHAIN, type ClassKnowledge } from './types.js';

// Server-side request forgery: URLs to loopback, private or metadata addresses and unusual schemes in
// parameters, and mod_proxy's `unix:` socket syntax.
export const ssrf: ClassKnowledge = {
  attackClass: 'ssrf',
  components: ['args', 'body', 'cookies', 'path'],
  signatures: [
    {
      id: 'internal-url',
      regexes: [
        '(?:gopher|dict|file|ldap|jar|netdoc)://|https?://(?:127\\.|localhost\\b|0\\.0\\.0\\.0|169\\.254\\.|10\\.\\d|192\\.168\\.|172\\.(?:1[6-9]|2\\d|3[01])\\.|\\[::|metadata\\.)|unix:[^|]*\\|',
        // Loopback or cloud-metadata addresses without a scheme, with a port or path (`127.0.0.1:443/x`).
        '(?:^|["\'=,\\[\\s])(?:127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}|localhost|0\\.0\\.0\\.0|\\[::1?\\])(?::\\d{1,5})/|169\\.254\\.169\\.254|metadata\\.google\\.internal|100\\.100\\.100\\.200',
      ],
      transforms: { default: URL_CHAIN, body: BODY_CHAIN },
    },
  ],
  unscoped: false,
  cwes: ['CWE-918', 'CWE-441'],
  keywords: ['ssrf', 'server-side request forgery', 'server side request forgery'],
};
