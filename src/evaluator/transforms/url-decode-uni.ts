import { codesToString, hexValue, unicodeToByte } from './shared.js';

// URL_DECODE_UNI (AWS): URL_DECODE plus Microsoft %uHHHH. A code in the full-width ASCII range FF01–FF5E is
// folded to ASCII; otherwise only the low byte is kept (high byte zeroed). Malformed %u / % escapes are left
// as is, and + → space, as in ModSecurity's t:urlDecodeUni (without its optional best-fit code-page map,
// which AWS does not describe).

export function urlDecodeUni(input: string): string {
  if (input.indexOf('%') < 0 && input.indexOf('+') < 0) return input;
  const n = input.length;
  const out = new Uint16Array(n); // decoding never lengthens (see ./shared.ts for why not `+=`)
  let k = 0;
  let i = 0;
  while (i < n) {
    const c = input.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const next = input.charCodeAt(i + 1);
      if (next === 0x75 /* u */ || next === 0x55 /* U */) {
        if (i + 5 < n) {
          const h1 = hexValue(input.charCodeAt(i + 2));
          const h2 = hexValue(input.charCodeAt(i + 3));
          const h3 = hexValue(input.charCodeAt(i + 4));
          const h4 = hexValue(input.charCodeAt(i + 5));
          if (h1 >= 0 && h2 >= 0 && h3 >= 0 && h4 >= 0) {
            out[k++] = unicodeToByte((h1 << 12) | (h2 << 8) | (h3 << 4) | h4);
            i += 6;
            continue;
          }
        }
        // Invalid or truncated %u: keep "%u" and carry on after it.
        out[k++] = c;
        out[k++] = next;
        i += 2;
        continue;
      }
      if (i + 2 < n) {
        const hi = hexValue(next);
        const lo = hexValue(input.charCodeAt(i + 2));
        if (hi >= 0 && lo >= 0) {
          out[k++] = (hi << 4) | lo;
          i += 3;
          continue;
        }
      }
      out[k++] = c;
      i++;
      continue;
    }
    out[k++] = c === 0x2b /* + */ ? 0x20 : c;
    i++;
  }
  return codesToString(out, k);
}
