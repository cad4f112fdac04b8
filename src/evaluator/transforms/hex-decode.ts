import { fromCode, hexValue } from './shared.js';

// HEX_DECODE (AWS: "decode a string of hexadecimal characters into a binary"; invalid input undocumented).
// Each pair of hex digits becomes one byte. Not from ModSecurity (which decodes non-hex pairs into garbage)
// nor Coraza (which fails the whole value): a byte that does not start a valid pair — a non-hex byte or a
// trailing odd digit — is copied through unchanged and decoding resumes on the next byte.

export function hexDecode(input: string): string {
  const n = input.length;
  let out = '';
  let i = 0;
  let changed = false;
  while (i < n) {
    const hi = hexValue(input.charCodeAt(i));
    const lo = hexValue(input.charCodeAt(i + 1));
    if (hi >= 0 && lo >= 0) {
      out += fromCode((hi << 4) | lo);
      i += 2;
      changed = true;
    } else {
      out += input[i];
      i++;
    }
  }
  return changed ? out : input;
}
