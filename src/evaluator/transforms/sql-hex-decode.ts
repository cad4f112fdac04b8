import { fromCode, hexValue } from './shared.js';

// SQL_HEX_DECODE (AWS: "0x414243" → "ABC"). As in ModSecurity's t:sqlHexDecode: a "0x"/"0X" followed by at
// least two hex digits is replaced by the bytes of its complete digit pairs; an odd last digit stays as is,
// and "0x" without two hex digits after it is left unchanged. No word-boundary check ("a0x41" → "aA").

const HEX_LITERAL = /0[xX][0-9a-fA-F]{2}/;

export function sqlHexDecode(input: string): string {
  if (!HEX_LITERAL.test(input)) return input;
  const n = input.length;
  let out = '';
  let i = 0;
  while (i < n) {
    const c = input.charCodeAt(i);
    const next = input.charCodeAt(i + 1);
    if (
      c === 0x30 /* 0 */ &&
      (next === 0x78 || next === 0x58) /* x X */ &&
      hexValue(input.charCodeAt(i + 2)) >= 0 &&
      hexValue(input.charCodeAt(i + 3)) >= 0
    ) {
      i += 2;
      for (;;) {
        const hi = hexValue(input.charCodeAt(i));
        const lo = hexValue(input.charCodeAt(i + 1));
        if (hi < 0 || lo < 0) break;
        out += fromCode((hi << 4) | lo);
        i += 2;
      }
      continue;
    }
    out += input[i];
    i++;
  }
  return out;
}
