import { BODY_CHAIN, HEADER_CHAIN, URL_CHAIN, type ClassKnowledge } from './types.js';

// JNDI lookups (Log4Shell and relatives): `${jndi:ldap://…}`, the same hidden behind nested lookups
// (`${${lower:j}ndi:`, `${::-j}`), and JNDI URLs inside JMX service strings (`rmi:///jndi/ldap://`).
export const jndiInjection: ClassKnowledge = {
  attackClass: 'jndi-injection',
  components: ['headers', 'query', 'body', 'path', 'cookies'],
  signatures: [
    {
      id: 'jndi-lookup',
      regexes: [
        '\\$\\{\\s*(?:jndi\\s*:|[^}]{0,30}\\$\\{[^}]{0,30}(?:lower|upper|::-|env:|sys:|date:|main:|base64:))|jndi[:/]+(?:ldaps?|rmi|dns|iiop|corba|nds|nis)\\b',
      ],
      transforms: { default: URL_CHAIN, body: BODY_CHAIN, headers: HEADER_CHAIN, cookies: HEADER_CHAIN },
    },
    {
      // A lookup URL given as a parameter value (a data source, a JMX service URL, a provider URL).
      id: 'jndi-url-value',
      regexes: ['(?:^|[=&"\'\\s(,])(?:ldaps?|rmi|iiop|corbaname)://'],
      components: ['query', 'body'],
      transforms: { default: URL_CHAIN, body: BODY_CHAIN },
    },
  ],
  unscoped: true,
  // CWE-502 (deserialization) is what a JNDI lookup often leads to, not the technique itself.
  cwes: ['CWE-917', 'CWE-74'],
  keywords: ['jndi', 'log4j', 'log4shell', 'ldap', 'lookup'],
};
