import { fromCode, hexPairAt, hexValue, unicodeToByte } from './shared.js';

// URL_DECODE_UNI (AWS): URL_DECODE plus Microsoft %uHHHH. A code in the full-width ASCII range FF01–FF5E is
// folded to ASCII; otherwise only the low byte is kept (high byte zeroed). Malformed %u / % escapes are left
// as is, and + → space, as in ModSecurity's t:urlDecodeUni (without its optional best-fit code-page map,
// which AWS does not describe).

// The text between escapes is copied in slices, as in ./url-decode.ts (see there for why).
export function urlDecodeUni(input: string): string {
  const pct = input.indexOf('%');
  const plus = input.indexOf('+');
  if (pct < 0 && plus < 0) return input;
  const n = input.length;
  let out = '';
  let from = 0; // input[from, i) is copied as it is
  for (let i = pct < 0 ? plus : plus < 0 ? pct : Math.min(pct, plus); i < n; i++) {
    const c = input.charCodeAt(i);
    if (c === 0x2b /* + */) {
      out += input.slice(from, i) + ' ';
      from = i + 1;
      continue;
    }
    if (c !== 0x25 /* % */) continue;
    const next = input.charCodeAt(i + 1);
    if (next === 0x75 /* u */ || next === 0x55 /* U */) {
      if (i + 5 < n) {
        const h1 = hexValue(input.charCodeAt(i + 2));
        const h2 = hexValue(input.charCodeAt(i + 3));
        const h3 = hexValue(input.charCodeAt(i + 4));
        const h4 = hexValue(input.charCodeAt(i + 5));
        if (h1 >= 0 && h2 >= 0 && h3 >= 0 && h4 >= 0) {
          out += input.slice(from, i) + fromCode(unicodeToByte((h1 << 12) | (h2 << 8) | (h3 << 4) | h4));
          i += 5;
          from = i + 1;
          continue;
        }
      }
      // Invalid or truncated %u: keep "%u" and carry on after it.
      i += 1;
      continue;
    }
    const byte = hexPairAt(input, i);
    if (byte >= 0) {
      out += input.slice(from, i) + fromCode(byte);
      i += 2;
      from = i + 1;
    }
  }
  return from === 0 ? input : out + input.slice(from);
}
