import { fromCode, hexPairAt } from './shared.js';

// URL_DECODE (AWS: "decode a URL-encoded value"). Details follow ModSecurity's t:urlDecode, which AWS does
// not contradict: %HH → byte, + → space, and an invalid or truncated % escape is left as is.

// Speed: the text between escapes is copied in slices, not char by char (`out += c` per char built a
// rope with a node per char that the GC traced and the next transform flattened). URL_DECODE then
// LOWERCASE then an RE2 test over the 4,238 corpus strings (../shared/corpus) that hold a % or +:
// 14.1-15.8 ms CPU per pass char by char, 9.0-10.0 ms in slices (node --import tsx, a scratch script,
// 2026-12, shared 2-core machine).
export function urlDecode(input: string): string {
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
    } else if (c === 0x25 /* % */) {
      const byte = hexPairAt(input, i);
      if (byte >= 0) {
        out += input.slice(from, i) + fromCode(byte);
        i += 2;
        from = i + 1;
      }
    }
  }
  return from === 0 ? input : out + input.slice(from);
}
