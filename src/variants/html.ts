// A small tag scanner for injected HTML: tag names and name=value attributes with their positions, as
// an HTML tokenizer would split them (quoted and unquoted values consumed whole, so a `/x=` inside a
// value is never taken for an attribute).

interface HtmlAttribute {
  name: string;
  nameStart: number;
  /** Value without its quotes ('' when the attribute has none). */
  value: string;
  valueStart: number;
}

export interface HtmlTag {
  name: string;
  nameStart: number;
  attributes: HtmlAttribute[];
}

const TAG = /<\/?([A-Za-z][A-Za-z0-9]*)([^<>]*)/g;
// name, then optionally = and a double-quoted, single-quoted or unquoted (up to whitespace or `>`) value
const ATTRIBUTE = /([^\s/>"'=]+)(?:\s*=\s*("[^"]*"?|'[^']*'?|[^\s>"']+))?/g;

export function htmlTags(text: string): HtmlTag[] {
  const tags: HtmlTag[] = [];
  for (const t of text.matchAll(TAG)) {
    const nameStart = t.index + t[0].indexOf(t[1]!);
    const attrsAt = nameStart + t[1]!.length;
    const attributes: HtmlAttribute[] = [];
    for (const a of t[2]!.matchAll(ATTRIBUTE)) {
      const raw = a[2];
      let value = raw ?? '';
      let valueStart = attrsAt + a.index + a[0].length - value.length;
      const quote = value[0] === '"' || value[0] === "'" ? value[0] : '';
      if (quote) {
        value = value.slice(1, value.length > 1 && value.endsWith(quote) ? -1 : undefined);
        valueStart += 1;
      }
      attributes.push({ name: a[1]!, nameStart: attrsAt + a.index, value, valueStart });
    }
    tags.push({ name: t[1]!, nameStart, attributes });
  }
  return tags;
}
