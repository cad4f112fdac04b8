import { BODY_CHAIN, HEADER_CHAIN, URL_CHAIN, type ClassKnowledge } from './types.js';

// Insecure deserialization: serialized Java objects (raw, hex, base64), XStream and .NET gadget
// class names, PHP serialized objects.
export const deserialization: ClassKnowledge = {
  attackClass: 'deserialization',
  components: ['body', 'cookies', 'headers', 'query'],
  signatures: [
    {
      id: 'serialized-object',
      regexes: [
        'ro0ab|aced0005|\\xac\\xed\\x00\\x05|dynamic-proxy|java\\.beans\\.eventhandler|java\\.lang\\.processbuilder|jdk\\.nashorn|javax\\.imageio|com\\.sun\\.rowset',
        'expandedwrapper|objectdataprovider|objectstateformatter|\\bo:\\d+:\\\\*"[a-z_\\\\]',
      ],
      transforms: { default: URL_CHAIN, body: BODY_CHAIN, headers: HEADER_CHAIN, cookies: HEADER_CHAIN },
    },
  ],
  unscoped: true,
  cwes: ['CWE-502'],
  keywords: ['deserialization', 'deserialize', 'serialized', 'xstream', 'gadget'],
};
