// ByteMatchStatement's positional constraints over byte strings, as AWS documents them.
// CONTAINS_WORD: the search string must appear with a non-word character (anything but
// [A-Za-z0-9_]) or the start/end of the value on each side.

export type Positional = 'EXACTLY' | 'STARTS_WITH' | 'ENDS_WITH' | 'CONTAINS' | 'CONTAINS_WORD';

const isWordByte = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;

/** Offset of the first match, or -1. */
export function byteMatchOffset(value: string, search: string, positional: Positional): number {
  switch (positional) {
    case 'EXACTLY':
      return value === search ? 0 : -1;
    case 'STARTS_WITH':
      return value.startsWith(search) ? 0 : -1;
    case 'ENDS_WITH':
      return value.endsWith(search) ? value.length - search.length : -1;
    case 'CONTAINS':
      return value.indexOf(search);
    case 'CONTAINS_WORD': {
      if (search.length === 0) return -1;
      let from = 0;
      for (;;) {
        const at = value.indexOf(search, from);
        if (at < 0) return -1;
        const before = at === 0 || !isWordByte(value.charCodeAt(at - 1));
        const end = at + search.length;
        const after = end === value.length || !isWordByte(value.charCodeAt(end));
        if (before && after) return at;
        from = at + 1;
      }
    }
  }
}
