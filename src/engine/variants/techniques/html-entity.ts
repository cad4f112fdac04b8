// html-entity (xss only): HTML character references inside the attribute values of injected tags. The
// browser decodes references in attribute values before it runs an event handler or follows a
// `javascript:` URL, so `<svg onload=&#x61;lert(1)>` still runs `alert(1)`. Only values that execute are
// touched: `on*` handlers and attributes whose value starts with a `javascript:`/`vbscript:`/`data:`
// scheme. Two forms: every byte as a hex reference (`&#x61;`), and named references for punctuation
// (`&lpar;`, `&colon;`, `&sol;`) with the first letter as a decimal reference (`&#97;`). Text inside
// `<script>` is never touched: the HTML parser does not decode references there. In URL slots the `&`,
// `#` and `;` of a reference are percent-encoded, so the server hands the page the reference itself.

import type { Edit } from '../encoding.js';
import { editSlot } from '../encoding.js';
import { ALL_SLOTS, mapSlots } from '../parts.js';
import type { VariantTechnique } from '../types.js';

const NAMED: Readonly<Record<string, string>> = {
  '(': '&lpar;',
  ')': '&rpar;',
  ':': '&colon;',
  '/': '&sol;',
  '.': '&period;',
  ',': '&comma;',
  "'": '&apos;',
  '"': '&quot;',
  '=': '&equals;',
  ';': '&semi;',
  '+': '&plus;',
  '`': '&grave;',
};

type Form = 'hex' | 'named';

export function entityEncode(value: string, form: Form): string {
  let out = '';
  let firstLetterDone = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    const c = value.charCodeAt(i);
    if (form === 'hex') out += `&#x${c.toString(16)};`;
    else if (NAMED[ch] !== undefined) out += NAMED[ch];
    else if (!firstLetterDone && /[A-Za-z]/.test(ch)) {
      out += `&#${c};`;
      firstLetterDone = true;
    } else out += ch;
  }
  return out;
}

const TAG_REGION = /<([A-Za-z][A-Za-z0-9]*)([^<>]*)/g;
// name = value, the value double-quoted, single-quoted or unquoted (HTML: up to whitespace or `>`).
const ATTRIBUTE = /[\s/"']([A-Za-z][\w-]*)\s*=\s*("[^"]*"?|'[^']*'?|[^\s>"']+)/g;
const EXECUTES = (name: string, value: string) =>
  /^on/i.test(name) || /^\s*(?:javascript|vbscript|data)\s*:/i.test(value);

/** Edits entity-encoding the executing attribute values of every tag in `decoded`. */
export function attributeEdits(decoded: string, form: Form): Edit[] {
  const edits: Edit[] = [];
  for (const tag of decoded.matchAll(TAG_REGION)) {
    const attrsAt = tag.index + 1 + tag[1]!.length;
    for (const a of tag[2]!.matchAll(ATTRIBUTE)) {
      const name = a[1]!;
      let value = a[2]!;
      let valueAt = attrsAt + a.index + a[0].length - value.length;
      const quote = value[0] === '"' || value[0] === "'" ? value[0] : '';
      if (quote) {
        value = value.slice(1, value.endsWith(quote) && value.length > 1 ? -1 : undefined);
        valueAt += 1;
      }
      if (value === '' || !EXECUTES(name, value)) continue;
      edits.push({ start: valueAt, end: valueAt + value.length, text: entityEncode(value, form) });
    }
  }
  return edits;
}

export const htmlEntity: VariantTechnique = {
  name: 'html-entity',
  description:
    'XSS: HTML character references (&#x61;, &colon;) in event-handler and javascript: attribute values',
  derive(req) {
    if (req.class !== 'xss') return [];
    return (['hex', 'named'] as const).map((form) =>
      mapSlots(req, ALL_SLOTS, (raw, slot) => editSlot(raw, slot.kind, (d) => attributeEdits(d, form)), form),
    );
  },
};
