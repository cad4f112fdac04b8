// unicode-encode: IIS / ASP.NET `%uXXXX` escapes, which AWS URL_DECODE_UNI also decodes. Two forms for
// every non-alphanumeric ASCII byte of path segments, query and form parameters: `%u002E` (the plain code
// point) and the full-width form `%uFF0E` (U+FF01–U+FF5E fold to ASCII in IIS's best-fit mapping and in
// URL_DECODE_UNI). A space has no full-width ASCII twin and stays `%u0020`; bytes ≥ 0x80 (UTF-8 text)
// stay `%HH`, since `%u00E9` would decode to a different byte than the original UTF-8.

import { isAlnumCode } from '../encoding.js';
import { reencodeUrlSlots } from './url-encode.js';
import type { VariantTechnique } from '../types.js';

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

/** `%uXXXX` for one byte; `fullWidth` picks U+FF01–U+FF5E for visible ASCII. */
function unicodeEscape(c: number, fullWidth: boolean): string {
  if (c >= 0x80) return '%' + c.toString(16).toUpperCase().padStart(2, '0');
  if (fullWidth && c >= 0x21 && c <= 0x7e) return '%u' + hex4(0xff00 + c - 0x20);
  return '%u' + hex4(c);
}

function encodeUnicode(fullWidth: boolean) {
  return (decoded: string) => {
    let out = '';
    for (let i = 0; i < decoded.length; i++) {
      const c = decoded.charCodeAt(i);
      out += isAlnumCode(c) ? decoded[i]! : unicodeEscape(c, fullWidth);
    }
    return out;
  };
}

export const unicodeEncode: VariantTechnique = {
  name: 'unicode-encode',
  description:
    'IIS %uXXXX escapes (%u002E) and full-width forms (%uFF0E for ., %uFF0F for /) for non-alphanumerics',
  derive(req) {
    return [
      reencodeUrlSlots(req, encodeUnicode(false), 'u00xx'),
      reencodeUrlSlots(req, encodeUnicode(true), 'full-width'),
    ];
  },
};
