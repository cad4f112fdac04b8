// move-payload: carry the same parameters somewhere else. A typical server merges query and form
// parameters (PHP $_REQUEST, Java getParameter, Spring data binding) or binds a JSON body to the same
// fields (Express + qs, Spring, Rails), so the attack still lands; a rule that inspects only the query or
// only the body misses. Targets: the query string (a POST becomes a GET and loses its body), an
// application/x-www-form-urlencoded body, and an application/json body (POST unless the method already
// carries a body). PHP-style names (`a[b][]`) become nested JSON and back, as qs and PHP parse them.
//
// Only requests that carry parameters qualify: a query with at least one `name=value`, a form body, or a
// JSON object body. A query without `=` (`/?unix:...|http://...`, `?redirect:${...}`) is read raw by
// the target, so it stays put.

import { byteStringToUtf8, utf8ToByteString } from '../../core/bytes.js';
import { type HttpRequest, asciiLower, setHeader } from '../../requests/model.js';
import { decodeSlot, encodeFor, toUnits } from '../encoding.js';
import {
  type Draft,
  bodyKind,
  draftOf,
  formatParams,
  joinTarget,
  paramsOf,
  parseJsonBody,
} from '../parts.js';
import type { VariantTechnique } from '../types.js';

/** A parameter: decoded name and value, plus the raw form it came in when it came from a URL or form. */
interface Moved {
  name: string;
  value: string;
  eq: boolean;
  raw?: { name: string; value: string; from: 'query' | 'form' };
}

type Target = 'query' | 'form' | 'json';

const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

function fromParams(s: string, from: 'query' | 'form'): Moved[] {
  return paramsOf(s).map((p) => ({
    name: decodeSlot(p.name, from),
    value: decodeSlot(p.value, from),
    eq: p.eq,
    raw: { name: p.name, value: p.value, from },
  }));
}

/** A JSON object flattened to bracket-notation parameters (`a[b][0]=v`), as qs and PHP would read them. */
export function flattenJson(value: unknown, prefix = '', out: Moved[] = []): Moved[] {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value)
      ? value.map((v, i) => [String(i), v] as const)
      : Object.entries(value);
    for (const [k, v] of entries) flattenJson(v, prefix === '' ? k : `${prefix}[${k}]`, out);
    if (entries.length === 0 && prefix !== '')
      out.push({ name: utf8ToByteString(prefix), value: '', eq: true });
    return out;
  }
  const text = value === null ? '' : String(value as string | number | boolean);
  out.push({ name: utf8ToByteString(prefix), value: utf8ToByteString(text), eq: true });
  return out;
}

function isUtf8(bytes: string): boolean {
  return utf8ToByteString(byteStringToUtf8(bytes)) === bytes;
}

type Json = string | Json[] | { [k: string]: Json };

/** Bracket path of a PHP/qs name (`a[b][]` → ['a', 'b', '']), or undefined for a plain or odd name. */
function bracketPath(name: string): string[] | undefined {
  const m = /^([^[\]]+)((?:\[[\w .-]*\])+)$/.exec(name);
  if (!m) return undefined;
  return [m[1]!, ...[...m[2]!.matchAll(/\[([^\]]*)\]/g)].map((x) => x[1]!)];
}

/**
 * Parameters as a JSON object: bracket names nest (qs style), repeated plain names become arrays, objects
 * keyed 0..n-1 become arrays. Undefined when names clash (`a=1&a[b]=2`) or a value is not UTF-8 text.
 */
export function paramsToJson(params: readonly Moved[]): Record<string, Json> | undefined {
  const root: Record<string, Json> = Object.create(null) as Record<string, Json>;
  for (const p of params) {
    if (!isUtf8(p.name) || !isUtf8(p.value)) return undefined;
    const name = byteStringToUtf8(p.name);
    const value = byteStringToUtf8(p.value);
    const path = bracketPath(name) ?? [name];
    let node: Record<string, Json> | Json[] = root;
    for (let i = 0; i < path.length; i++) {
      const key = path[i]!;
      const last = i === path.length - 1;
      if (Array.isArray(node)) {
        if (key !== '') return undefined;
        if (last) node.push(value);
        else {
          const child: Record<string, Json> = Object.create(null) as Record<string, Json>;
          node.push(child);
          node = child;
        }
        continue;
      }
      const obj: Record<string, Json> = node;
      if (last) {
        if (key === '') return undefined;
        const prev = obj[key];
        if (prev === undefined) obj[key] = value;
        else if (typeof prev === 'string') obj[key] = [prev, value];
        else if (Array.isArray(prev) && path.length === 1) prev.push(value);
        else return undefined;
        continue;
      }
      const next = path[i + 1]!;
      let child: Json | undefined = obj[key];
      if (child === undefined) {
        child = next === '' ? [] : (Object.create(null) as Record<string, Json>);
        obj[key] = child;
      }
      if (typeof child === 'string') return undefined;
      if (Array.isArray(child) !== (next === '')) return undefined;
      node = child;
    }
  }
  return arraysFromIndexes(root) as Record<string, Json>;
}

/** `{ "0": x, "1": y }` → `[x, y]`, recursively. */
function arraysFromIndexes(node: Json): Json {
  if (typeof node === 'string') return node;
  if (Array.isArray(node)) return node.map(arraysFromIndexes);
  const keys = Object.keys(node);
  const out: Record<string, Json> = Object.create(null) as Record<string, Json>;
  for (const k of keys) out[k] = arraysFromIndexes(node[k]!);
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return keys.map((k) => out[k]!);
  return out;
}

/** Raw `name=value` for the query string or a form body. */
function rawParam(p: Moved, target: 'query' | 'form'): { name: string; value: string; eq: boolean } {
  if (p.raw && (p.raw.from === target || target === 'form'))
    return { name: p.raw.name, value: p.raw.value, eq: p.eq };
  if (p.raw) {
    // Form → query: the raw form text may hold bytes a request line cannot carry (spaces, quotes, `#`);
    // encode those and keep every escape and `+` as it was.
    const fix = (s: string) =>
      toUnits(s, 'form')
        .map((u) => (u.raw !== u.char || u.raw === '+' ? u.raw : encodeFor(u.char, 'query')))
        .join('');
    return { name: fix(p.raw.name), value: fix(p.raw.value), eq: p.eq };
  }
  return { name: encodeFor(p.name, target), value: encodeFor(p.value, target), eq: p.eq };
}

function removeHeaders(headers: [string, string][], names: readonly string[]): [string, string][] {
  return headers.filter(([n]) => !names.includes(asciiLower(n)));
}

function moveTo(req: HttpRequest, params: Moved[], target: Target, rawQuery: string): Draft | undefined {
  const d = draftOf(req, `to-${target}`);
  if (target === 'query') {
    if (rawQuery !== '') return undefined;
    d.uri = `${req.path}?${formatParams(params.map((p) => rawParam(p, 'query')))}`;
    d.body = undefined;
    d.headers = removeHeaders(d.headers, ['content-type', 'content-length']);
    if (req.method.toUpperCase() === 'POST') d.method = 'GET';
    return d;
  }
  let body: string;
  if (target === 'form') {
    body = formatParams(params.map((p) => rawParam(p, 'form')));
  } else {
    const json = paramsToJson(params);
    if (json === undefined) return undefined;
    body = utf8ToByteString(JSON.stringify(json));
  }
  d.uri = joinTarget(req.path, rawQuery, false);
  d.body = body;
  if (BODYLESS.has(req.method.toUpperCase())) d.method = 'POST';
  setHeader(
    d.headers,
    'Content-Type',
    target === 'form' ? 'application/x-www-form-urlencoded' : 'application/json',
  );
  setHeader(d.headers, 'Content-Length', String(body.length));
  return d;
}

export const movePayload: VariantTechnique = {
  name: 'move-payload',
  description: 'move the parameters between the query string, a form body and a JSON body',
  derive(req) {
    const kind = bodyKind(req);
    const query = paramsOf(req.query).some((p) => p.eq) ? fromParams(req.query, 'query') : [];
    let body: Moved[] = [];
    if (kind === 'form') body = fromParams(req.body!, 'form');
    else if (kind === 'json') {
      const json = parseJsonBody(req.body!);
      if (json === null || typeof json !== 'object' || Array.isArray(json)) return [];
      body = flattenJson(json);
    } else if (kind !== 'none') return []; // XML, multipart, text: nowhere to put parameters
    if (query.length === 0 && body.length === 0) return [];
    // A query that is not parameters (no `=` anywhere) is never moved: it stays on every variant.
    const rawQuery = query.length ? '' : req.query;
    const all = [...query, ...body];
    const out: Draft[] = [];
    const targets: Target[] = ['query', 'form', 'json'];
    for (const t of targets) {
      const already = t === 'query' ? body.length === 0 : t === kind && query.length === 0;
      if (already) continue;
      const d = moveTo(req, all, t, rawQuery);
      if (d) out.push(d);
    }
    return out;
  },
};
