import { codesToString, hexValue } from './shared.js';

// URL_DECODE (AWS: "decode a URL-encoded value"). Details follow ModSecurity's t:urlDecode, which AWS does
// not contradict: %HH → byte, + → space, and an invalid or truncated % escape is left as is.

export function urlDecode(input: string): string {
  if (input.indexOf('%') < 0 && input.indexOf('+') < 0) return input;
  const n = input.length;
  const out = new Uint16Array(n); // decoding never lengthens
  let k = 0;
  for (let i = 0; i < n; i++) {
    const c = input.charCodeAt(i);
    if (c === 0x25 /* % */ && i + 2 < n) {
      const hi = hexValue(input.charCodeAt(i + 1));
      const lo = hexValue(input.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out[k++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[k++] = c === 0x2b /* + */ ? 0x20 : c;
  }
  return codesToString(out, k);
}
