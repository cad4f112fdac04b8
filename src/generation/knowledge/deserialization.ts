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
        // Java: the stream header (raw, hex, base64), XStream and XMLDecoder markup, JDK gadget classes.
        'ro0ab|aced0005|\\xac\\xed\\x00\\x05|dynamic-proxy|java\\.beans\\.(?:eventhandler|xmldecoder)|java\\.lang\\.processbuilder|jdk\\.nashorn|javax\\.imageio|com\\.sun\\.rowset',
        // Library gadget chains (commons-collections, Xalan, Spring, C3P0, Groovy, BeanShell) and
        // polymorphic JSON/YAML type hints naming JDK or library classes.
        'invokertransformer|chainedtransformer|templatesimpl|bsh\\.interpreter|com\\.mchange\\.v2|methodclosure|"@type"\\s*:\\s*"(?:com\\.sun|org\\.apache|java|com\\.zaxxer)|!!(?:javax?|com\\.sun)\\.',
        // .NET: BinaryFormatter base64 header, SOAP/CLR formatter namespaces, well-known gadgets.
        'aaeaaad/////|schemas\\.microsoft\\.com/clr/|windowsidentity|typeconfusedelegate|textformattingrunproperties|activitysurrogate|expandedwrapper|objectdataprovider|objectstateformatter',
        // PHP serialized objects, phar wrappers; Ruby and Python YAML object tags.
        '\\bo:\\d+:\\\\*"[a-z_\\\\]|phar://|!ruby/(?:object|hash)|!!python/object',
      ],
      transforms: { default: URL_CHAIN, body: BODY_CHAIN, headers: HEADER_CHAIN, cookies: HEADER_CHAIN },
    },
  ],
  unscoped: true,
  cwes: ['CWE-502'],
  keywords: [
    'deserialization',
    'deserialize',
    'deserializing',
    'serialized',
    'unserialize',
    'object injection',
    'unmarshal',
    'xstream',
    'gadget',
  ],
};
