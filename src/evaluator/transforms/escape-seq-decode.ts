import { fromCode, hexValue, isOctal } from './shared.js';

// ESCAPE_SEQ_DECODE (AWS): decode the ANSI C escapes \a \b \f \n \r \t \v \\ \? \' \" \xHH and \0OOO; AWS
// says encodings that aren't valid remain in the output, so an unknown escape (\q, \8) or an incomplete \x
// keeps its backslash — ModSecurity's code drops that backslash, its manual (like AWS) says it stays. As in
// ModSecurity: \x/\X need exactly two hex digits, an octal escape is 1–3 octal digits after the backslash
// (so \12 and \012 are both LF) truncated to one byte (\666 → 0xB6), and a trailing lone \ is kept.

const SIMPLE: ReadonlyMap<number, string> = new Map([
  [0x61, '\x07'], // a
  [0x62, '\b'], // b
  [0x66, '\f'], // f
  [0x6e, '\n'], // n
  [0x72, '\r'], // r
  [0x74, '\t'], // t
  [0x76, '\v'], // v
  [0x5c, '\\'], // \
  [0x3f, '?'], // ?
  [0x27, "'"], // '
  [0x22, '"'], // "
]);

export function escapeSeqDecode(input: string): string {
  let i = input.indexOf('\\');
  if (i < 0) return input;
  const n = input.length;
  let out = input.slice(0, i);
  while (i < n) {
    if (input.charCodeAt(i) !== 0x5c || i + 1 >= n) {
      out += input[i];
      i++;
      continue;
    }
    const e = input.charCodeAt(i + 1);
    const simple = SIMPLE.get(e);
    if (simple !== undefined) {
      out += simple;
      i += 2;
      continue;
    }
    if (e === 0x78 || e === 0x58 /* x X */) {
      const hi = hexValue(input.charCodeAt(i + 2));
      const lo = hexValue(input.charCodeAt(i + 3));
      if (hi >= 0 && lo >= 0) {
        out += fromCode((hi << 4) | lo);
        i += 4;
        continue;
      }
    } else if (isOctal(e)) {
      let value = 0;
      let j = i + 1;
      while (j < n && j < i + 4 && isOctal(input.charCodeAt(j))) {
        value = value * 8 + input.charCodeAt(j) - 0x30;
        j++;
      }
      out += fromCode(value & 0xff);
      i = j;
      continue;
    }
    // Not a valid encoding: keep the backslash and the byte after it.
    out += input.slice(i, i + 2);
    i += 2;
  }
  return out;
}
