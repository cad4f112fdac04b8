// param-order: reorder query and form parameters (reversed, then rotated by one). Servers look
// parameters up by name, so order does not matter, except among parameters that share a name (PHP keeps
// the last `a=`, Java the first, `a[]=` builds an array in order): those keep their relative order, only
// the groups move.

import type { HttpRequest } from '../../requests/model.js';
import { type Param, bodyKind, draftOf, formatParams, hasQueryMark, joinTarget, paramsOf } from '../parts.js';
import type { VariantTechnique } from '../types.js';

/** Group key: the name up to its first `[` (so `a[0]`, `a[1]`, `a[]` stay together and in order). */
function groupKey(p: Param): string {
  const b = p.name.indexOf('[');
  return b > 0 ? p.name.slice(0, b) : p.name;
}

/** Parameters grouped by name, groups in order of first appearance. */
function groups(params: readonly Param[]): Param[][] {
  const map = new Map<string, Param[]>();
  for (const p of params) {
    const k = groupKey(p);
    const g = map.get(k);
    if (g) g.push(p);
    else map.set(k, [p]);
  }
  return [...map.values()];
}

function reorderParams(s: string, how: 'reverse' | 'rotate'): string {
  const g = groups(paramsOf(s));
  if (g.length < 2) return s;
  const order = how === 'reverse' ? [...g].reverse() : [...g.slice(1), g[0]!];
  return formatParams(order.flat());
}

function reorder(req: HttpRequest, how: 'reverse' | 'rotate') {
  const d = draftOf(req, how);
  d.uri = joinTarget(req.path, reorderParams(req.query, how), hasQueryMark(req));
  if (bodyKind(req) === 'form') d.body = reorderParams(req.body!, how);
  return d;
}

export const paramOrder: VariantTechnique = {
  name: 'param-order',
  description: 'query and form parameters reversed, then rotated (same-name parameters keep their order)',
  derive(req) {
    return [reorder(req, 'reverse'), reorder(req, 'rotate')];
  },
};
