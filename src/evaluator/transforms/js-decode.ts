import { fromCode, hexValue, isOctal, unicodeToByte } from './shared.js';

// JS_DECODE (AWS): decode JavaScript escapes; for \uHHHH a code in the full-width ASCII range FF01–FF5E is
// folded to ASCII, otherwise only the low byte is kept (high byte zeroed, lossy). The rest follows
// ModSecurity's t:jsDecode: \xHH; octal \OOO of 1–3 digits (only 2 when the first is above 3, so the value
// fits a byte); \a \b \f \n \r \t \v; any other escaped byte loses its backslash (\' → '; \u and \x
// without enough hex digits → u and x); a trailing lone \ is kept. \u and \x are lowercase only.

const SIMPLE: ReadonlyMap<number, string> = new Map([
  [0x61, '\x07'], // a
  [0x62, '\b'], // b
  [0x66, '\f'], // f
  [0x6e, '\n'], // n
  [0x72, '\r'], // r
  [0x74, '\t'], // t
  [0x76, '\v'], // v
]);

/** Hex value of input[at..at+count) or -1 when any of those bytes is not a hex digit (or is missing). */
export function readHex(input: string, at: number, count: number): number {
  let value = 0;
  for (let k = 0; k < count; k++) {
    const d = hexValue(input.charCodeAt(at + k));
    if (d < 0) return -1;
    value = (value << 4) | d;
  }
  return value;
}

/** Octal escape after the backslash at `i`: [value, index after the escape], or undefined. */
export function readOctal(input: string, i: number): [number, number] | undefined {
  if (!isOctal(input.charCodeAt(i + 1))) return undefined;
  let j = i + 1;
  while (j < input.length && j < i + 4 && isOctal(input.charCodeAt(j))) j++;
  if (j === i + 4 && input.charCodeAt(i + 1) > 0x33 /* '3' */) j--;
  return [parseInt(input.slice(i + 1, j), 8), j];
}

export function jsDecode(input: string): string {
  let i = input.indexOf('\\');
  if (i < 0) return input;
  const n = input.length;
  let out = input.slice(0, i);
  while (i < n) {
    if (input.charCodeAt(i) !== 0x5c /* \ */ || i + 1 >= n) {
      out += input[i];
      i++;
      continue;
    }
    const e = input.charCodeAt(i + 1);
    if (e === 0x75 /* u */) {
      const code = readHex(input, i + 2, 4);
      if (code >= 0) {
        out += fromCode(unicodeToByte(code));
        i += 6;
        continue;
      }
    } else if (e === 0x78 /* x */) {
      const code = readHex(input, i + 2, 2);
      if (code >= 0) {
        out += fromCode(code);
        i += 4;
        continue;
      }
    } else {
      const octal = readOctal(input, i);
      if (octal !== undefined) {
        out += fromCode(octal[0]);
        i = octal[1];
        continue;
      }
    }
    out += SIMPLE.get(e) ?? input[i + 1];
    i += 2;
  }
  return out;
}
