// Raw HTTP/1.x request files: one or many requests per file, as Burp ("Copy to file", "Save item") and
// nuclei `raw:` blocks write them.
//
//   POST /login HTTP/1.1          <- request line: METHOD SP target [SP HTTP/x.y]
//   Host: target.example          <- headers up to the first empty line (CRLF or LF line ends)
//   Content-Length: 7
//                                 <- blank line
//   a=1&b=2                       <- body
//
//   GET /next HTTP/1.1            <- a new request: a request line after a blank line
//
// The file is read as bytes and kept as bytes (no UTF-8 round trip). Body length: chunked
// Transfer-Encoding is de-chunked; otherwise Content-Length, when present, says exactly how many bytes
// belong to the body (so a body may hold blank lines or request-like text); without either, the body
// runs up to the next request (a request line with an HTTP version right after a blank line) or the end
// of the file, minus the trailing line breaks that separate requests.

import { assertReadableFile, LineIndex, readFileBytes, type ReadOptions } from './io.js';
import {
  type Expectation,
  type HttpRequest,
  type ParseResult,
  asciiLower,
  buildRequest,
  setHeader,
  toOriginForm,
  trimOws,
} from './model.js';

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parse `METHOD SP target [SP HTTP/x.y]`. The target may hold spaces (nuclei and hand-written files
 * put unencoded payloads there). Written without a backtracking regex so a long line costs linear time.
 */
function parseRequestLine(text: string): { method: string; target: string; version?: string } | undefined {
  const sp = text.search(/[ \t]/);
  if (sp <= 0) return undefined;
  const method = text.slice(0, sp);
  if (!TOKEN.test(method)) return undefined;
  const rest = trimOws(text.slice(sp));
  const v = /[ \t](HTTP\/\d+(?:\.\d+)?)$/.exec(rest);
  if (v) {
    const target = trimOws(rest.slice(0, v.index));
    return target === '' ? undefined : { method, target, version: v[1]! };
  }
  return rest === '' ? undefined : { method, target: rest };
}

/** A request line that names its HTTP version: what may start a new request inside a file. */
function isStrictRequestLine(text: string): boolean {
  return parseRequestLine(text)?.version !== undefined;
}

/** A request as written, before conversion: all strings are byte strings. */
export interface RawRequest {
  method: string;
  target: string;
  version?: string;
  headers: [string, string][];
  body?: string;
  /** 1-based line of the request line. */
  line: number;
}

export type RawParseResult = { raw: RawRequest } | { error: { line: number; message: string } };

interface Line {
  /** Line text without its CR LF / LF. */
  text: string;
  /** Offset of the first byte after the line break (or the end of the input). */
  next: number;
}

function readLine(src: string, pos: number): Line {
  const nl = src.indexOf('\n', pos);
  const end = nl < 0 ? src.length : nl;
  const text = src.slice(pos, end > pos && src[end - 1] === '\r' ? end - 1 : end);
  return { text, next: nl < 0 ? src.length : nl + 1 };
}

function isBlank(text: string): boolean {
  return trimOws(text) === '';
}

/** Offset of the next request: a strict request line at `pos` or later that follows a blank line. */
function findNextRequest(src: string, pos: number, afterBlank: boolean): number {
  let prevBlank = afterBlank;
  while (pos < src.length) {
    const line = readLine(src, pos);
    if (prevBlank && isStrictRequestLine(line.text)) return pos;
    prevBlank = isBlank(line.text);
    pos = line.next;
  }
  return src.length;
}

/** Drop the trailing line breaks that separate a body from what follows. */
function trimTrailingNewlines(s: string): string {
  let end = s.length;
  while (end > 0 && (s[end - 1] === '\n' || s[end - 1] === '\r')) end--;
  return s.slice(0, end);
}

/** Decode a chunked body starting at `pos`. Returns the body and the offset after the last chunk's trailers. */
function dechunk(src: string, pos: number): { body: string; end: number } | undefined {
  let body = '';
  for (;;) {
    const sizeLine = readLine(src, pos);
    const m = /^([0-9A-Fa-f]+)[ \t]*(?:;.*)?$/.exec(sizeLine.text);
    if (!m || sizeLine.next === pos) return undefined;
    const size = parseInt(m[1]!, 16);
    pos = sizeLine.next;
    if (size === 0) break;
    if (pos + size > src.length) return undefined;
    body += src.slice(pos, pos + size);
    pos += size;
    if (src.startsWith('\r\n', pos)) pos += 2;
    else if (src[pos] === '\n') pos += 1;
    else return undefined;
  }
  // Trailer fields up to an empty line (or the end).
  while (pos < src.length) {
    const line = readLine(src, pos);
    pos = line.next;
    if (line.text === '') break;
  }
  return { body, end: pos };
}

/** Parse the request line and header block at `pos`. */
function parseHead(
  src: string,
  pos: number,
): {
  method: string;
  target: string;
  version?: string;
  headers: [string, string][];
  bodyStart: number;
  error?: string;
} {
  const first = readLine(src, pos);
  const m = parseRequestLine(first.text);
  // Without an HTTP version, only a plausible target makes this a request line (not a stray sentence).
  if (!m || (m.version === undefined && !/^(?:\/|\*$|[A-Za-z][A-Za-z0-9+.-]*:\/\/)/.test(m.target))) {
    const shown = first.text.length > 80 ? first.text.slice(0, 80) + '…' : first.text;
    return {
      method: '',
      target: '',
      headers: [],
      bodyStart: first.next,
      error: `expected a request line "METHOD target HTTP/1.1", got "${shown}"`,
    };
  }
  const headers: [string, string][] = [];
  let error: string | undefined;
  pos = first.next;
  while (pos < src.length) {
    const line = readLine(src, pos);
    pos = line.next;
    if (isBlank(line.text)) break;
    const last = headers[headers.length - 1];
    if ((line.text[0] === ' ' || line.text[0] === '\t') && last) {
      // Obsolete line folding: the line continues the previous header's value.
      last[1] = trimOws(last[1] + ' ' + trimOws(line.text));
      continue;
    }
    const colon = line.text.indexOf(':');
    if (colon <= 0) {
      error ??= `malformed header line "${line.text.slice(0, 80)}" (no "name:")`;
      continue;
    }
    headers.push([trimOws(line.text.slice(0, colon)), trimOws(line.text.slice(colon + 1))]);
  }
  const head = { method: m.method, target: m.target, headers, bodyStart: pos, error };
  return m.version === undefined ? head : { ...head, version: m.version };
}

function headerList(headers: [string, string][], name: string): string[] {
  return headers.filter(([n]) => asciiLower(n) === name).map(([, v]) => v);
}

/**
 * Split a byte string holding one or more raw requests. `single` treats the whole input as one request
 * whose body is everything after the header block (nuclei `raw:` blocks), ignoring Content-Length;
 * its trailing line breaks are dropped unless `verbatimBody` (nuclei `unsafe: true` sends them).
 */
export function* splitRawRequests(
  src: string,
  opts: { single?: boolean; verbatimBody?: boolean } = {},
): Generator<RawParseResult> {
  const lines = new LineIndex(src);
  let pos = 0;
  while (pos < src.length) {
    // Skip blank lines between requests.
    const line = readLine(src, pos);
    if (isBlank(line.text)) {
      pos = line.next;
      continue;
    }
    const start = pos;
    const lineNo = lines.lineAt(start);
    const head = parseHead(src, start);
    if (head.error !== undefined) {
      yield { error: { line: lineNo, message: head.error } };
      // After a bad request line, look for the next request from the following line; after a bad
      // header, from the end of the header block.
      pos = opts.single ? src.length : findNextRequest(src, head.bodyStart, head.method !== '');
      continue;
    }
    const raw: RawRequest = { method: head.method, target: head.target, headers: head.headers, line: lineNo };
    if (head.version !== undefined) raw.version = head.version;

    if (opts.single) {
      const rest = src.slice(head.bodyStart);
      const body = opts.verbatimBody ? rest : trimTrailingNewlines(rest);
      if (body !== '') raw.body = body;
      yield { raw };
      return;
    }

    const te = headerList(head.headers, 'transfer-encoding');
    const cls = headerList(head.headers, 'content-length');
    let next: number;
    if (te.some((v) => /chunked/i.test(v))) {
      const chunked = dechunk(src, head.bodyStart);
      if (!chunked) {
        yield { error: { line: lineNo, message: 'malformed chunked body (Transfer-Encoding: chunked)' } };
        pos = findNextRequest(src, head.bodyStart, true);
        continue;
      }
      if (chunked.body !== '') raw.body = chunked.body;
      next = chunked.end;
    } else if (cls.length > 0) {
      const distinct = [...new Set(cls.map((v) => v.trim()))];
      const value = distinct[0]!;
      if (distinct.length > 1 || !/^\d+$/.test(value)) {
        yield { error: { line: lineNo, message: `invalid Content-Length "${cls.join(', ')}"` } };
        pos = findNextRequest(src, head.bodyStart, true);
        continue;
      }
      const length = Number(value);
      const available = src.length - head.bodyStart;
      if (length > available) {
        yield {
          error: {
            line: lineNo,
            message: `Content-Length ${length} is larger than the ${available} bytes left in the file`,
          },
        };
        pos = findNextRequest(src, head.bodyStart, true);
        continue;
      }
      if (length > 0) raw.body = src.slice(head.bodyStart, head.bodyStart + length);
      next = head.bodyStart + length;
    } else {
      const end = findNextRequest(src, head.bodyStart, true);
      const body = trimTrailingNewlines(src.slice(head.bodyStart, end));
      if (body !== '') raw.body = body;
      yield { raw };
      pos = end;
      continue;
    }

    // After a delimited body only line breaks, or the next request, may follow.
    let after = next;
    while (after < src.length && /[\r\n \t]/.test(src[after]!)) after++;
    if (after < src.length && !isStrictRequestLine(readLine(src, after).text)) {
      yield {
        error: {
          line: lineNo,
          message: `body does not match its declared length: data follows byte ${next - head.bodyStart} of the body and does not start a request (check Content-Length)`,
        },
      };
      // Resume at the first request after the header block, so a wrong length swallows no request.
      pos = findNextRequest(src, head.bodyStart, true);
      continue;
    }
    yield { raw };
    pos = after;
  }
}

export interface RawToRequestMeta {
  id: string;
  expect?: Expectation;
  source?: string;
}

/** Convert a parsed raw request: absolute-form targets become origin form, with Host taken from the URL. */
export function rawToRequest(raw: RawRequest, meta: RawToRequestMeta): HttpRequest {
  const headers = raw.headers.map(([n, v]): [string, string] => [n, v]);
  const target = toOriginForm(raw.target);
  if (target.host !== undefined) setHeader(headers, 'Host', target.host, 0);
  return buildRequest({
    id: meta.id,
    method: raw.method,
    uri: target.uri,
    headers,
    body: raw.body,
    expect: meta.expect,
    source: meta.source,
  });
}

export interface RawHttpOptions {
  /** `expect` for every request (raw HTTP has no way to say). */
  expect?: Expectation;
}

/** Parse raw HTTP requests held in a byte string. Ids are `<file>#<n>` (n counts requests from 1). */
export function* parseRawHttp(src: string, file: string, opts: RawHttpOptions = {}): Generator<ParseResult> {
  let n = 0;
  for (const r of splitRawRequests(src)) {
    if ('error' in r) {
      yield { error: { file, ...r.error } };
      continue;
    }
    n++;
    yield { request: rawToRequest(r.raw, { id: `${file}#${n}`, expect: opts.expect, source: file }) };
  }
}

/** Parse a raw HTTP request file (read whole, as bytes). */
export async function* parseRawHttpFile(
  file: string,
  opts: RawHttpOptions & ReadOptions = {},
): AsyncGenerator<ParseResult> {
  await assertReadableFile(file);
  const src = await readFileBytes(file, opts.maxBytes);
  yield* parseRawHttp(src, file, opts);
}
