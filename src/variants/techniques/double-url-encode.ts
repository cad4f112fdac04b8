// double-url-encode: the url-encode form with every `%` encoded again as `%25`, for servers and
// frameworks that decode twice (a proxy and the application, or a decoding router). Path and query only:
// form bodies are decoded once by the body parser. Query and path get separate variants so that a server
// that decodes the path once still routes the query-borne attack to the right endpoint. A raw `;` in a
// path stays raw (see url-encode).

import type { HttpRequest } from '../../requests/model.js';
import { type SlotKind, decodeSlot, encodeNonAlnum } from '../encoding.js';
import { type SlotWhere, mapSlots } from '../parts.js';
import type { VariantTechnique } from '../types.js';

function doubleEncode(req: HttpRequest, where: readonly SlotWhere[], detail: string) {
  const twice = (raw: string, kind: SlotKind) => encodeNonAlnum(decodeSlot(raw, kind)).replace(/%/g, '%25');
  return mapSlots(
    req,
    where,
    (raw, slot) =>
      slot.kind === 'path'
        ? raw
            .split(';')
            .map((p) => twice(p, 'path'))
            .join(';')
        : twice(raw, slot.kind),
    detail,
  );
}

export const doubleUrlEncode: VariantTechnique = {
  name: 'double-url-encode',
  description: 'percent-encode twice (% → %25) in the query, then in the path, for servers that decode twice',
  derive(req) {
    return [doubleEncode(req, ['query-name', 'query-value'], 'query'), doubleEncode(req, ['path'], 'path')];
  },
};
