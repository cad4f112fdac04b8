// Taking a request apart into the places a payload can sit (path segments, query and form parameters,
// JSON string values, raw bodies, header values) and putting it back together byte for byte.

import { byteStringToUtf8, utf8ToByteString } from '../core/bytes.js';
import { type HttpRequest, asciiLower, headerValues } from '../requests/model.js';
import type { SlotKind } from './encoding.js';

/** A mutable copy of what a technique may change. `detail` names the form the technique produced. */
export interface Draft {
  method: string;
  uri: string;
  headers: [string, string][];
  body: string | undefined;
  detail?: string;
}

export function draftOf(req: HttpRequest, detail?: string): Draft {
  return {
    method: req.method,
    uri: req.uri,
    headers: req.headers.map(([n, v]) => [n, v]),
    body: req.body,
    ...(detail === undefined ? {} : { detail }),
  };
}

/** Rebuild the target from a path and a query; `hasQuery` keeps a `?` even for an empty query. */
export function joinTarget(path: string, query: string, hasQuery: boolean): string {
  return hasQuery || query !== '' ? `${path}?${query}` : path;
}

export function hasQueryMark(req: Pick<HttpRequest, 'uri'>): boolean {
  return req.uri.includes('?');
}

// ---- parameters (query string, form body) ----

/** One raw `name=value` parameter; `eq` records whether it had a `=`. */
export interface Param {
  name: string;
  value: string;
  eq: boolean;
}

/**
 * Split a query string or form body on `&`, each part at its first `=`. Empty parts are kept (as null)
 * so `formatParams(parseParams(s)) === s` for every `s`.
 */
export function parseParams(s: string): (Param | null)[] {
  if (s === '') return [];
  return s.split('&').map((part) => {
    if (part === '') return null;
    const eq = part.indexOf('=');
    return eq < 0
      ? { name: part, value: '', eq: false }
      : { name: part.slice(0, eq), value: part.slice(eq + 1), eq: true };
  });
}

export function formatParams(parts: readonly (Param | null)[]): string {
  return parts.map((p) => (p === null ? '' : p.eq ? `${p.name}=${p.value}` : p.name)).join('&');
}

/** The non-empty parameters only. */
export function paramsOf(s: string): Param[] {
  return parseParams(s).filter((p): p is Param => p !== null);
}

// ---- bodies ----

export type BodyKind = 'none' | 'form' | 'json' | 'multipart' | 'text';

/** Media type of the first Content-Type header, lower-cased, without parameters ('' when none). */
function mediaType(req: Pick<HttpRequest, 'headers'>): string {
  const ct = headerValues(req, 'content-type')[0] ?? '';
  return asciiLower(ct.split(';')[0]!.trim());
}

/** JSON value of a byte-string body, or undefined when it is not JSON. */
export function parseJsonBody(body: string): unknown {
  const t = body.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
  try {
    return JSON.parse(byteStringToUtf8(body)) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * What the body is, as a server would parse it. `form` needs the form media type *and* a body shaped like
 * parameters (several exploits label XML, JSON or a JSP file as a form); `json` is any body that parses
 * as a JSON object or array, whatever its label (Jolokia and Confluence accept unlabelled JSON).
 */
export function bodyKind(req: Pick<HttpRequest, 'headers' | 'body'>): BodyKind {
  const body = req.body;
  if (body === undefined || body === '') return 'none';
  const mt = mediaType(req);
  if (mt.startsWith('multipart/')) return 'multipart';
  if (parseJsonBody(body) !== undefined) return 'json';
  if (mt === 'application/x-www-form-urlencoded' && looksLikeForm(body)) return 'form';
  return 'text';
}

/** `a=1&b=2` shape: no line breaks, does not start like markup or JSON, first part has `name=`. */
export function looksLikeForm(body: string): boolean {
  if (/[\r\n]/.test(body)) return false;
  if (/^\s*[<{[]/.test(body)) return false;
  const first = paramsOf(body)[0];
  return first !== undefined && first.eq && first.name !== '' && !/\s/.test(first.name);
}

/** A JSON string literal in a body: byte offsets and whether it is an object key. */
interface JsonLiteral {
  start: number;
  end: number;
  key: boolean;
}

function jsonLiterals(body: string): JsonLiteral[] {
  const out: JsonLiteral[] = [];
  const re = /"(?:[^"\\]|\\.)*"/gs;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    const end = m.index + m[0].length;
    let j = end;
    while (j < body.length && /\s/.test(body[j]!)) j++;
    out.push({ start: m.index, end, key: body[j] === ':' });
  }
  return out;
}

/**
 * Map the string values (not keys) of a JSON body. `fn` gets and returns the decoded value as a byte
 * string (UTF-8 bytes); a changed value is written back as a JSON string literal, the rest of the body
 * untouched.
 */
export function mapJsonStrings(body: string, fn: (value: string) => string): string {
  let out = '';
  let at = 0;
  for (const lit of jsonLiterals(body)) {
    if (lit.key) continue;
    let value: string;
    try {
      value = utf8ToByteString(JSON.parse(byteStringToUtf8(body.slice(lit.start, lit.end))) as string);
    } catch {
      continue;
    }
    const next = fn(value);
    if (next === value) continue;
    out += body.slice(at, lit.start) + utf8ToByteString(JSON.stringify(byteStringToUtf8(next)));
    at = lit.end;
  }
  return at === 0 ? body : out + body.slice(at);
}

// ---- slots ----

export type SlotWhere =
  'path' | 'query-name' | 'query-value' | 'form-name' | 'form-value' | 'json' | 'body' | 'header';

export interface Slot {
  where: SlotWhere;
  kind: SlotKind;
  /** Header name (original case), for `header` slots. */
  header?: string;
}

/** Slot groups most techniques use. */
export const URL_SLOTS: readonly SlotWhere[] = [
  'path',
  'query-name',
  'query-value',
  'form-name',
  'form-value',
];
export const ALL_SLOTS: readonly SlotWhere[] = [...URL_SLOTS, 'json', 'body', 'header'];

/** Headers that describe the message rather than carry data: never rewritten by payload techniques. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding']);

/**
 * Apply `fn` to every slot of the kinds in `where` and return the rebuilt request parts. `fn` returns the
 * new raw slot (the same string for no change). Path segments are split on raw `/`, which is never passed
 * to `fn`; parameters keep their `&`/`=` separators.
 */
export function mapSlots(
  req: HttpRequest,
  where: readonly SlotWhere[],
  fn: (raw: string, slot: Slot) => string,
  detail?: string,
): Draft {
  const want = new Set(where);
  const d = draftOf(req, detail);
  let path = req.path;
  let query = req.query;
  if (want.has('path')) {
    path = req.path
      .split('/')
      .map((seg) => (seg === '' ? seg : fn(seg, { where: 'path', kind: 'path' })))
      .join('/');
  }
  if (want.has('query-name') || want.has('query-value')) {
    query = mapParams(req.query, 'query', want, fn);
  }
  d.uri = joinTarget(path, query, hasQueryMark(req));
  const kind = bodyKind(req);
  if (req.body !== undefined && kind !== 'none') {
    if (kind === 'form' && (want.has('form-name') || want.has('form-value'))) {
      d.body = mapParams(req.body, 'form', want, fn);
    } else if (kind === 'json' && want.has('json')) {
      d.body = mapJsonStrings(req.body, (v) => fn(v, { where: 'json', kind: 'text' }));
    } else if ((kind === 'text' || kind === 'multipart') && want.has('body')) {
      d.body = fn(req.body, { where: 'body', kind: 'text' });
    }
  }
  if (want.has('header')) {
    d.headers = d.headers.map(([n, v]) =>
      FRAMING_HEADERS.has(asciiLower(n)) ? [n, v] : [n, fn(v, { where: 'header', kind: 'text', header: n })],
    );
  }
  return d;
}

function mapParams(
  s: string,
  kind: 'query' | 'form',
  want: ReadonlySet<SlotWhere>,
  fn: (raw: string, slot: Slot) => string,
): string {
  const nameWhere: SlotWhere = kind === 'query' ? 'query-name' : 'form-name';
  const valueWhere: SlotWhere = kind === 'query' ? 'query-value' : 'form-value';
  return formatParams(
    parseParams(s).map((p) => {
      if (p === null) return p;
      const name = want.has(nameWhere) && p.name !== '' ? fn(p.name, { where: nameWhere, kind }) : p.name;
      const value =
        want.has(valueWhere) && p.value !== '' ? fn(p.value, { where: valueWhere, kind }) : p.value;
      return { name, value, eq: p.eq };
    }),
  );
}

export function messageKey(d: {
  method: string;
  uri: string;
  headers: readonly (readonly [string, string])[];
  body?: string | undefined;
}): string {
  return JSON.stringify([d.method, d.uri, d.headers, d.body ?? null]);
}
