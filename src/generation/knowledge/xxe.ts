import type { ClassKnowledge } from './types.js';

// XML external entities: an entity declaration with SYSTEM/PUBLIC, or XInclude.
export const xxe: ClassKnowledge = {
  attackClass: 'xxe',
  components: ['body', 'args'],
  signatures: [
    {
      id: 'external-entity',
      regexes: [
        '<!entity\\s+(?:%\\s*)?[\\w.:-]+\\s+(?:system|public)\\b|<!doctype[^>]{0,100}\\[\\s*<!entity|xi:include',
      ],
      transforms: { default: ['URL_DECODE_UNI', 'JS_DECODE', 'HTML_ENTITY_DECODE', 'LOWERCASE'] },
    },
  ],
  unscoped: true,
  cwes: ['CWE-611', 'CWE-776', 'CWE-827'],
  keywords: ['xxe', 'xml external entity', 'external entity', 'xml entity'],
};
