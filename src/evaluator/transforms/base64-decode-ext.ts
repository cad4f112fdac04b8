import { BASE64_VALUES, base64DecodeWith } from './base64-decode.js';

// BASE64_DECODE_EXT (AWS): a forgiving Base64 decoder that ignores characters that aren't valid. As in
// ModSecurity's t:base64DecodeExt, every byte outside the alphabet (whitespace, '.', '=', ...) is skipped
// rather than ending the decode, and the URL-safe symbols '-' and '_' are accepted as 62 and 63.

function forgivingValue(c: number): number | 'skip' {
  if (c === 0x2d /* - */) return 62;
  if (c === 0x5f /* _ */) return 63;
  const v = BASE64_VALUES[c] ?? -1;
  return v < 0 ? 'skip' : v;
}

export function base64DecodeExt(input: string): string {
  if (input.length === 0) return input;
  return base64DecodeWith(input, forgivingValue);
}
