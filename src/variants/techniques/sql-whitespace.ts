// sql-whitespace (sqli only): other whitespace between SQL tokens. SQL lexers accept tab and line feed
// wherever a space goes (and in the gaps sql-comment uses, where no whitespace was needed); in a query
// string or form body `+` is a space too, so the third form swaps `%20` for `+` (or `+` for `%20`).
// Header values get the tab form only (a line feed would end the header).

import { type Edit, applyEdits, decodeSlot } from '../encoding.js';
import { type Slot, ALL_SLOTS, mapSlots } from '../parts.js';
import { looksLikeSql, sqlSeparators } from '../sql.js';
import type { VariantTechnique } from '../types.js';

type Form = 'tab' | 'newline' | 'plus';

function edits(decoded: string, slot: Slot, form: Form, raw: string): Edit[] {
  if (!looksLikeSql(decoded)) return [];
  const seps = sqlSeparators(decoded);
  switch (form) {
    case 'tab':
      return seps.map((s) => ({ ...s, text: '\t' }));
    case 'newline':
      return slot.where === 'header' ? [] : seps.map((s) => ({ ...s, text: '\n' }));
    case 'plus': {
      if (slot.kind !== 'query' && slot.kind !== 'form') return [];
      // Where the original wrote spaces as `+`, write `%20`; otherwise `+`.
      const usesPlus = /\+/.test(raw) && !/%20/i.test(raw);
      return seps
        .filter((s) => s.kind === 'space')
        .map((s) => ({ start: s.start, end: s.end, text: usesPlus ? '%20' : '+', raw: true }));
    }
  }
}

export const sqlWhitespace: VariantTechnique = {
  name: 'sql-whitespace',
  description: 'SQL injection: tab, line feed, or + (%20) between SQL tokens',
  derive(req) {
    if (req.class !== 'sqli') return [];
    return (['tab', 'newline', 'plus'] as const).map((form) =>
      mapSlots(
        req,
        ALL_SLOTS,
        (raw, slot) => {
          const e = edits(decodeSlot(raw, slot.kind), slot, form, raw);
          return e.length ? applyEdits(raw, slot.kind, e) : raw;
        },
        form,
      ),
    );
  },
};
