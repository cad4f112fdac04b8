// url-encode: percent-encode the payload in path segments, query names/values and form names/values.
// The server decodes once, so it sees exactly what the original request made it see; a rule that only
// matches the literal characters misses. The `/` between path segments and the `&`/`=` between
// parameters stay raw (they are structure, not payload).

import type { HttpRequest } from '../../requests/model.js';
import { decodeSlot, encodeAll, encodeNonAlnum } from '../encoding.js';
import { type Draft, mapSlots, URL_SLOTS } from '../parts.js';
import type { VariantTechnique } from '../types.js';

/**
 * Re-encode every URL slot of `req` from its decoded view with `encode`. A raw `;` in a path segment
 * stays raw: Tomcat and Jetty cut path parameters at a raw `;` before decoding, so `..;` and `..%3B`
 * differ there.
 */
export function reencodeUrlSlots(
  req: HttpRequest,
  encode: (decoded: string) => string,
  detail: string,
): Draft {
  return mapSlots(
    req,
    URL_SLOTS,
    (raw, slot) =>
      slot.kind === 'path'
        ? raw
            .split(';')
            .map((part) => encode(decodeSlot(part, 'path')))
            .join(';')
        : encode(decodeSlot(raw, slot.kind)),
    detail,
  );
}

export const urlEncode: VariantTechnique = {
  name: 'url-encode',
  description:
    'percent-encode non-alphanumerics (then every byte) in path segments, query and form parameters',
  derive(req) {
    return [
      reencodeUrlSlots(req, encodeNonAlnum, 'non-alphanumeric'),
      reencodeUrlSlots(req, encodeAll, 'every-byte'),
    ];
  },
};
