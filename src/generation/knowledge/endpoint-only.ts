import { URL_CHAIN, type ClassKnowledge } from './types.js';

// Authentication bypass and information disclosure have no payload syntax of their own: the patch is
// scoped to the vulnerable endpoint and the request features the exploit needs (learned from
// evidence). The path-traversal signature still applies because many bypasses walk out of a
// public path.
export const authBypass: ClassKnowledge = {
  attackClass: 'auth-bypass',
  components: ['path', 'query', 'headers', 'proxy-headers'],
  signatures: [
    // `..` in a URL path: legitimate clients normalise it away, so it is safe to block anywhere.
    {
      id: 'bypass-dot-dot',
      regexes: ['\\.\\.[/\\\\;]'],
      // In the URL only: `../` in a body is a code sample or a relative import, not a bypass.
      components: ['path', 'query'],
      unscoped: true,
      transforms: { default: URL_CHAIN },
    },
    {
      // Spellings a browser never sends for its own paths: `/./` (browsers remove dot segments) and a
      // percent-escape still there after one decoding (`/%2577ebui` — double encoding).
      id: 'bypass-path-spelling',
      regexes: ['%[0-9a-f]{2}|/\\./'],
      components: ['path'],
      unscoped: true,
      transforms: { default: ['URL_DECODE_UNI', 'LOWERCASE'] },
    },
    // Servlet path parameters that make a protected path look like a static or public one.
    {
      id: 'bypass-path-parameter',
      regexes: [';\\.(?:jsp|css|js|png|ico|html)\\b|;jsessionid=[^/?]{0,64}\\.(?:css|js|png)\\b|%00'],
      transforms: { default: URL_CHAIN },
    },
    {
      // Loopback claimed in a forwarding header (`Forwarded: for=[127.0.0.1]`, `X-Forwarded-For:
      // localhost`), a rewrite header naming a path, or an auth header dropped as hop-by-hop
      // (`Connection: close, X-Auth-Token`): clients on the Internet never need these.
      id: 'bypass-proxy-headers',
      regexes: [
        '^\\s*(?:(?:for|by)=)?"?\\[?(?:127\\.|::1\\b|localhost\\b|0\\.0\\.0\\.0)|[;,]\\s*(?:for|by)="?\\[?(?:127\\.|::1\\b|localhost\\b)|^/|,\\s*x-[a-z0-9-]*(?:auth|token|user|forwarded)',
      ],
      components: ['proxy-headers'],
      unscoped: true,
      transforms: { default: ['LOWERCASE'] },
    },
  ],
  unscoped: false,
  cwes: ['CWE-287', 'CWE-288', 'CWE-306', 'CWE-284', 'CWE-285', 'CWE-862', 'CWE-863', 'CWE-639', 'CWE-1390'],
  keywords: [
    'authentication bypass',
    'bypass authentication',
    'unauthenticated',
    'auth bypass',
    'improper authentication',
    'authorization bypass',
    'improper authorization',
    'access control',
    'broken access control',
    'privilege escalation',
    'alternate path',
    'unauthorized access',
  ],
};

export const infoDisclosure: ClassKnowledge = {
  attackClass: 'info-disclosure',
  components: ['path', 'query'],
  signatures: [],
  unscoped: false,
  cwes: ['CWE-200', 'CWE-284', 'CWE-532', 'CWE-538'],
  // "Obtain sensitive information" is an impact most advisories list, not a technique.
  keywords: ['information disclosure', 'password disclosure', 'leak'],
};
