// The one request shape the local AWS WAF evaluator inspects. Every input format (test-case JSONL, raw
// HTTP, nuclei templates, AWS WAF logs, HAR) is parsed into an `HttpRequest`.
//
// All inspected text is a *byte string* (see ../bytes.ts): `method`, `uri`, `path`, `query`, `fragment`,
// header names and values, and `body` hold one char per byte. Text inputs (JSON, YAML) are UTF-8 encoded
// with `utf8ToByteString`; raw HTTP files are read as bytes and kept as they are.

export type Expectation = 'block' | 'allow';

export interface HttpRequest {
  /** Unique id (the test case id; `<file>#<line>` or `<file>#<n>` when the input has none). */
  id: string;
  /** HTTP method exactly as sent (case kept). */
  method: string;
  /** Raw request target in origin form, as it goes on the wire: path plus `?` and query; never decoded. */
  uri: string;
  /** Raw, undecoded path: `uri` before the first `?`. */
  path: string;
  /** Raw query string after the first `?`, without it; '' when there is none. */
  query: string;
  /** URI fragment (text after `#`), only when the source records one (AWS WAF logs). Browsers never send it. */
  fragment?: string;
  /** Headers in arrival order; duplicates kept; names in their original case. */
  headers: [name: string, value: string][];
  /** Body bytes as a byte string; undefined when the request has no body (or the source never logs one). */
  body?: string;
  clientIp?: string;
  /** ISO 3166-1 alpha-2 country of `clientIp`, as AWS WAF geo match sees it. */
  country?: string;
  asn?: number;
  /** Labels already on the request before the rule under test runs (e.g. added by earlier rule groups). */
  labels?: string[];
  ja3?: string;
  ja4?: string;
  /** What the rule under test should do with this request. */
  expect?: Expectation;
  cve?: string | null;
  class?: string;
  cwe?: string | null;
  /** Where the request came from (a file, a template, a dataset). */
  source?: string;
  tags?: string[];
}

/** One problem with one entry of an input file. `line` is 1-based. */
export interface ParseError {
  file: string;
  line: number;
  message: string;
}

/** What every parser yields: a request, or an error for one entry (the other entries still parse). */
export type ParseResult = { request: HttpRequest } | { error: ParseError };

/** Every field except `path`/`query`, which `buildRequest` derives from `uri`. */
export type RequestInit = Omit<HttpRequest, 'path' | 'query'>;

/** Build an `HttpRequest`, deriving `path` and `query` from `uri`. All text must already be byte strings. */
export function buildRequest(init: RequestInit): HttpRequest {
  const { path, query } = splitTarget(init.uri);
  const req: HttpRequest = {
    id: init.id,
    method: init.method,
    uri: init.uri,
    path,
    query,
    headers: init.headers,
  };
  // Copy the optional fields that are set, so objects stay small and `toEqual` comparisons stay simple.
  for (const key of OPTIONAL_KEYS) {
    const value = init[key];
    if (value !== undefined) (req as unknown as Record<string, unknown>)[key] = value;
  }
  return req;
}

const OPTIONAL_KEYS = [
  'fragment',
  'body',
  'clientIp',
  'country',
  'asn',
  'labels',
  'ja3',
  'ja4',
  'expect',
  'cve',
  'class',
  'cwe',
  'source',
  'tags',
] as const satisfies readonly (keyof RequestInit)[];

/**
 * Split an origin-form target into the raw path (before the first `?`) and raw query (after it).
 * Nothing is decoded or normalised, and a `#` stays where it is: a request target on the wire has no
 * fragment, so a `#` that reaches the server is part of the path or query (OGNL payloads rely on this).
 */
export function splitTarget(uri: string): { path: string; query: string } {
  const q = uri.indexOf('?');
  return q < 0 ? { path: uri, query: '' } : { path: uri.slice(0, q), query: uri.slice(q + 1) };
}

/**
 * Turn a request target into origin form. An absolute-form target (`http://host:8080/a?b`) becomes
 * `/a?b` and its authority (without user info) is returned as `host`; an empty path becomes `/`.
 * Origin-form, `*` and authority-form targets are returned unchanged. No normalisation or decoding:
 * `WHATWG URL` would resolve `..` and re-encode characters, which would hide exactly what a WAF rule
 * needs to see, so the URL is split by hand.
 */
export function toOriginForm(target: string): { uri: string; host?: string } {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s.exec(target);
  if (!m) return { uri: target };
  const authority = m[2] ?? '';
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  let rest = m[3] ?? '';
  if (rest === '' || rest.startsWith('?') || rest.startsWith('#')) rest = '/' + rest;
  return { uri: rest, host };
}

// Speed: String#toLowerCase is V8's native case conversion, and on a byte string it differs from
// ASCII-only lower-casing just for the Latin-1 capitals À–Þ (0xC0–0xDE but ×, 0xD7), the only chars
// below 0x100 it changes besides A–Z. So when none of those (and no char above 0xFF) is present, the
// native call is exact. Over the 63,436 path, query, header and body strings of ../shared/corpus,
// x20: 345 ms this way against 2,397 ms for the regex-replace it replaces (6,009 ms on values fresh
// from URL_DECODE); node --import tsx, 2026-12, a scratch script, 2-core shared machine. The same
// function is the evaluator's LOWERCASE transformation (AWS: A–Z only, bytes ≥ 0x80 untouched).
const NOT_ASCII_SAFE = /[\xc0-\xd6\xd8-\xde\u0100-\uffff]/;
const UPPER_RUN = /[A-Z]+/g;

/** ASCII-only lower-casing: header names are compared case-insensitively as ASCII, never as Unicode. */
export function asciiLower(s: string): string {
  if (NOT_ASCII_SAFE.test(s)) return s.replace(UPPER_RUN, (run) => run.toLowerCase());
  return s.toLowerCase();
}

/** Values of every header called `name` (case-insensitive), in order. */
export function headerValues(req: Pick<HttpRequest, 'headers'>, name: string): string[] {
  const wanted = asciiLower(name);
  const out: string[] = [];
  for (const [n, v] of req.headers) if (asciiLower(n) === wanted) out.push(v);
  return out;
}

/** True when the request has at least one header called `name` (case-insensitive). */
export function hasHeader(req: Pick<HttpRequest, 'headers'>, name: string): boolean {
  const wanted = asciiLower(name);
  return req.headers.some(([n]) => asciiLower(n) === wanted);
}

/**
 * Cookies from every `Cookie` header, as name/value pairs in order (duplicates kept). Pairs are
 * separated by `;`, whitespace around a pair and around the name and value is dropped, the name ends at
 * the first `=`. A pair without `=` is a cookie with that name and an empty value (what Go's net/http
 * does); empty pairs (`a=1;;b=2`) are skipped. Values are raw: no quotes removed, nothing decoded.
 * Names are case-sensitive, as AWS WAF's `Cookies` match pattern compares them.
 */
export function cookiesOf(req: Pick<HttpRequest, 'headers'>): [name: string, value: string][] {
  const out: [string, string][] = [];
  for (const header of headerValues(req, 'cookie')) {
    for (const part of header.split(';')) {
      const pair = trimOws(part);
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq < 0) out.push([pair, '']);
      else out.push([trimOws(pair.slice(0, eq)), trimOws(pair.slice(eq + 1))]);
    }
  }
  return out;
}

/**
 * Query arguments as raw name/value pairs, in order. The query is split on `&` only (`;` is data, as
 * in AWS WAF), each argument at its first `=`. Nothing is decoded: `AllQueryArguments` and
 * `SingleQueryArgument` inspect raw values unless the rule adds URL_DECODE. Duplicates are kept (AWS:
 * a repeated argument has every value checked, with OR logic), as are empty values (`a=`) and
 * arguments without `=` (value ''). Zero-length segments (`a=1&&b=2`, a trailing `&`) hold no argument
 * and are skipped.
 */
export function queryArgs(query: string): [name: string, value: string][] {
  const out: [string, string][] = [];
  if (query === '') return out;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    out.push(eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)]);
  }
  return out;
}

/**
 * The string AWS WAF's `HeaderOrder` field inspects: header names in arrival order, lower-cased, joined
 * by `:` with no spaces (AWS example: `host:user-agent:accept:authorization:referer`). Repeated headers
 * appear each time they were sent.
 */
export function headerOrder(req: Pick<HttpRequest, 'headers'>): string {
  return req.headers.map(([n]) => asciiLower(n)).join(':');
}

/** Trim HTTP optional whitespace (space and tab) from both ends. */
export function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s[a] === ' ' || s[a] === '\t')) a++;
  while (b > a && (s[b - 1] === ' ' || s[b - 1] === '\t')) b--;
  return s.slice(a, b);
}

/** Set `name` to `value`: replace the first header of that name in place, or insert it at `index`. */
export function setHeader(headers: [string, string][], name: string, value: string, index = headers.length) {
  const wanted = asciiLower(name);
  const at = headers.findIndex(([n]) => asciiLower(n) === wanted);
  if (at >= 0) headers[at] = [headers[at]![0], value];
  else headers.splice(index, 0, [name, value]);
}
