// UTF8_TO_UNICODE (AWS: "convert all UTF-8 character sequences to Unicode"; output form undocumented). As
// ModSecurity's t:utf8toUnicode, each valid multi-byte UTF-8 sequence becomes %uHHHH (lowercase hex, at
// least 4 digits, 5–6 for code points above FFFF) and ASCII is unchanged. Simplification: a byte that does
// not start a valid, shortest-form, non-surrogate sequence is copied through as is (ModSecurity emits
// extra bytes for some of those).

const HAS_HIGH_BYTE = /[\x80-\xff]/;

function isCont(c: number): boolean {
  return (c & 0xc0) === 0x80;
}

function unicodeEscape(cp: number): string {
  return '%u' + cp.toString(16).padStart(4, '0');
}

export function utf8ToUnicode(input: string): string {
  if (!HAS_HIGH_BYTE.test(input)) return input;
  const n = input.length;
  let out = '';
  let i = 0;
  while (i < n) {
    const c = input.charCodeAt(i);
    if (c >= 0xc2 && c <= 0xdf && isCont(input.charCodeAt(i + 1))) {
      out += unicodeEscape(((c & 0x1f) << 6) | (input.charCodeAt(i + 1) & 0x3f));
      i += 2;
      continue;
    }
    if (c >= 0xe0 && c <= 0xef && isCont(input.charCodeAt(i + 1)) && isCont(input.charCodeAt(i + 2))) {
      const cp =
        ((c & 0x0f) << 12) | ((input.charCodeAt(i + 1) & 0x3f) << 6) | (input.charCodeAt(i + 2) & 0x3f);
      if (cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff)) {
        out += unicodeEscape(cp);
        i += 3;
        continue;
      }
    }
    if (
      c >= 0xf0 &&
      c <= 0xf4 &&
      isCont(input.charCodeAt(i + 1)) &&
      isCont(input.charCodeAt(i + 2)) &&
      isCont(input.charCodeAt(i + 3))
    ) {
      const cp =
        ((c & 0x07) << 18) |
        ((input.charCodeAt(i + 1) & 0x3f) << 12) |
        ((input.charCodeAt(i + 2) & 0x3f) << 6) |
        (input.charCodeAt(i + 3) & 0x3f);
      if (cp >= 0x10000 && cp <= 0x10ffff) {
        out += unicodeEscape(cp);
        i += 4;
        continue;
      }
    }
    out += input[i];
    i++;
  }
  return out;
}
