// sql-comment (sqli only): replace the separator between SQL tokens with an inline comment `/**/`, which
// every SQL dialect treats as whitespace: spaces outside string literals, the gap after a `,`, between
// `)` and a word, and between a keyword and `(` (`SELECT/**/(`), never between a function name and its
// `(` (MySQL then no longer sees a built-in function) and never inside the `-- ` comment marker.

import { editSlot } from '../encoding.js';
import { ALL_SLOTS, mapSlots } from '../parts.js';
import { sqlSeparatorEdits } from '../sql.js';
import type { VariantTechnique } from '../types.js';

export const sqlComment: VariantTechnique = {
  name: 'sql-comment',
  description: 'SQL injection: /**/ instead of the spaces (and empty gaps) between SQL tokens',
  derive(req) {
    if (req.class !== 'sqli') return [];
    return [
      mapSlots(req, ALL_SLOTS, (raw, slot) => editSlot(raw, slot.kind, (d) => sqlSeparatorEdits(d, '/**/'))),
    ];
  },
};
