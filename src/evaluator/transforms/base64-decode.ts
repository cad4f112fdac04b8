import { fromCode } from './shared.js';

// BASE64_DECODE (AWS: "decode a Base64-encoded string"; invalid input undocumented). As in Coraza's
// t:base64Decode (and ModSecurity v2's APR decoder): padding is optional, CR and LF are skipped, decoding
// stops at the first '=' or other non-alphabet byte and returns what was decoded so far, and a final group
// of 2 or 3 symbols yields 1 or 2 bytes (a lone trailing symbol is dropped).

/** Standard alphabet → 6-bit value, -1 for anything else. */
export const BASE64_VALUES: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let k = 0; k < alphabet.length; k++) table[alphabet.charCodeAt(k)] = k;
  return table;
})();

/** Decode the 6-bit symbols that `valueOf` yields; shared by BASE64_DECODE and BASE64_DECODE_EXT. */
export function base64DecodeWith(input: string, valueOf: (c: number) => number | 'skip' | 'stop'): string {
  let out = '';
  let acc = 0;
  let count = 0;
  for (let i = 0; i < input.length; i++) {
    const v = valueOf(input.charCodeAt(i));
    if (v === 'skip') continue;
    if (v === 'stop') break;
    acc = (acc << 6) | v;
    if (++count === 4) {
      out += fromCode((acc >> 16) & 0xff, (acc >> 8) & 0xff, acc & 0xff);
      acc = 0;
      count = 0;
    }
  }
  if (count === 2) out += fromCode((acc >> 4) & 0xff);
  else if (count === 3) out += fromCode((acc >> 10) & 0xff, (acc >> 2) & 0xff);
  return out;
}

function strictValue(c: number): number | 'skip' | 'stop' {
  if (c === 0x0d || c === 0x0a) return 'skip';
  const v = BASE64_VALUES[c] ?? -1;
  return v < 0 ? 'stop' : v;
}

export function base64Decode(input: string): string {
  if (input.length === 0) return input;
  return base64DecodeWith(input, strictValue);
}
