// html-entity (xss only): HTML character references inside the attribute values of injected tags. The
// browser decodes references in attribute values before it runs an event handler or follows a
// `javascript:` URL, so `<svg onload=&#x61;lert(1)>` still runs `alert(1)`. Only values that execute are
// touched: `on*` handlers and attributes whose value starts with a `javascript:`/`vbscript:`/`data:`
// scheme. Two forms: every byte as a hex reference (`&#x61;`), and named references for punctuation
// (`&lpar;`, `&colon;`, `&sol;`) with the first letter as a decimal reference (`&#97;`). Text inside
// `<script>` is never touched: the HTML parser does not decode references there. In URL slots the `&`,
// `#` and `;` of a reference are percent-encoded, so the server hands the page the reference itself.

import { type Edit, editSlot } from '../encoding.js';
import { htmlTags } from '../html.js';
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

function entityEncode(value: string, form: Form): string {
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

const EXECUTES = (name: string, value: string) =>
  /^on/i.test(name) || /^\s*(?:javascript|vbscript|data)\s*:/i.test(value);

/** Edits entity-encoding the executing attribute values of every tag in `decoded`. */
export function attributeEdits(decoded: string, form: Form): Edit[] {
  const edits: Edit[] = [];
  for (const tag of htmlTags(decoded)) {
    for (const a of tag.attributes) {
      if (a.value === '' || !EXECUTES(a.name, a.value)) continue;
      edits.push({
        start: a.valueStart,
        end: a.valueStart + a.value.length,
        text: entityEncode(a.value, form),
      });
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
