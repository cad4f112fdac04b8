// Small byte-level helpers shared by the transformation modules. Every function here works on
// "byte strings" (see ../bytes.ts): one JS char per byte, char codes 0x00–0xFF.

export const fromCode = String.fromCharCode;

/** Value of an ASCII hex digit, or -1 when `c` (a char code, possibly NaN) is not one. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** The byte a `%HH` escape at `input[i]` stands for (the `%` is not checked), or -1 when the two
 * characters after `i` are not both hex digits (or the input ends first). */
export function hexPairAt(input: string, i: number): number {
  const hi = hexValue(input.charCodeAt(i + 1));
  const lo = hexValue(input.charCodeAt(i + 2));
  return hi >= 0 && lo >= 0 ? (hi << 4) | lo : -1;
}

export function isOctal(c: number): boolean {
  return c >= 0x30 && c <= 0x37;
}

/** C `isspace` in the "C" locale: space, \t, \n, \v, \f, \r. */
export function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Map a 16-bit code unit to one byte the way ModSecurity's `%uHHHH` / `\uHHHH` decoders do (and as AWS
 * documents for URL_DECODE_UNI and JS_DECODE): full-width ASCII U+FF01–U+FF5E folds to U+0021–U+007E,
 * anything else keeps only its low byte (lossy).
 */
export function unicodeToByte(code: number): number {
  const low = code & 0xff;
  if ((code & 0xff00) === 0xff00 && low > 0x00 && low < 0x5f) return low + 0x20;
  return low;
}

/** UTF-8 encode one code point as a byte string (lone surrogates and out-of-range values become U+FFFD). */
export function codePointToUtf8(cp: number): string {
  if (cp < 0x80) return fromCode(cp);
  if (cp < 0x800) return fromCode(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) cp = 0xfffd;
  if (cp < 0x10000) return fromCode(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  return fromCode(
    0xf0 | (cp >> 18),
    0x80 | ((cp >> 12) & 0x3f),
    0x80 | ((cp >> 6) & 0x3f),
    0x80 | (cp & 0x3f),
  );
}
