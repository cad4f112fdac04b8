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

// The text between escapes is copied in slices: appending it a character at a time made a string per
// character, 10% of all the bytes built-in generation allocated (V8's sampling heap profiler over the
// 103 bundled CVEs, objects collected by GC included).
export function jsDecode(input: string): string {
  let i = input.indexOf('\\');
  if (i < 0) return input;
  const n = input.length;
  let out = '';
  let from = 0; // input[from, i) is copied as it is
  // A trailing lone backslash (i === n - 1) stays, with the rest of the text.
  while (i >= 0 && i + 1 < n) {
    const e = input.charCodeAt(i + 1);
    let piece: string | undefined;
    let next = i + 2;
    if (e === 0x75 /* u */) {
      const code = readHex(input, i + 2, 4);
      if (code >= 0) {
        piece = fromCode(unicodeToByte(code));
        next = i + 6;
      }
    } else if (e === 0x78 /* x */) {
      const code = readHex(input, i + 2, 2);
      if (code >= 0) {
        piece = fromCode(code);
        next = i + 4;
      }
    } else {
      const octal = readOctal(input, i);
      if (octal !== undefined) {
        piece = fromCode(octal[0]);
        next = octal[1];
      }
    }
    out += input.slice(from, i) + (piece ?? SIMPLE.get(e) ?? input[i + 1]);
    from = next;
    i = input.indexOf('\\', next);
  }
  return out + input.slice(from);
}
