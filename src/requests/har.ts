// HAR 1.2 files (browser dev tools "Save all as HAR", proxies): `log.entries[].request`.
//
// method; url → origin form (split by hand, never normalised; the fragment is dropped because browsers
// never send it); headers in order, with HTTP/2 and HTTP/3 pseudo-headers removed and `:authority`
// turned into `Host` (in its place, as a proxy translating to HTTP/1.1 does); the `Cookie` header, or
// one rebuilt from `request.cookies` when an exporter left it out; body from `postData.text`
// (`postData.params` re-encoded for url-encoded forms; base64 when `encoding` says so). A user's own
// traffic is benign, so `expect` defaults to 'allow'. Ids are `<file>#<n>`, n counting entries from 1.
// Entries whose URL is not http(s)/ws(s) (`data:`, `blob:`, extensions) are skipped silently.

import { z } from 'zod';
import { utf8ToByteString } from '../core/bytes.js';
import { LineIndex, readFileText, type ReadOptions } from './io.js';
import { arrayElementOffsets, isPlainObject, parseJson } from './json-scan.js';
import { zodMessage } from './jsonl.js';
import { type Expectation, type ParseResult, asciiLower, buildRequest, toOriginForm } from './model.js';

const nameValue = z.object({ name: z.string(), value: z.string().nullish() });

const harRequestSchema = z.object({
  method: z.string().min(1),
  url: z.string().min(1),
  httpVersion: z.string().optional(),
  headers: z.array(nameValue).default([]),
  cookies: z.array(nameValue).optional(),
  postData: z
    .object({
      mimeType: z.string().optional(),
      text: z.string().nullish(),
      encoding: z.string().optional(),
      params: z.array(z.object({ name: z.string(), value: z.string().nullish() })).optional(),
    })
    .nullish(),
});

export interface HarOptions {
  /** `expect` for every entry; default 'allow'. */
  expect?: Expectation;
}

/** True if `value` is shaped like a HAR document. */
export function looksLikeHar(value: unknown): boolean {
  return isPlainObject(value) && isPlainObject(value.log) && Array.isArray(value.log.entries);
}

/** Form-encode like a browser (application/x-www-form-urlencoded). */
function formEncode(params: { name: string; value?: string | null | undefined }[]): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return params.map((p) => `${enc(p.name)}=${enc(p.value ?? '')}`).join('&');
}

/** Convert one HAR entry (`{request: ...}`) to a request, or `undefined` for a non-HTTP entry. */
export function harEntryToRequest(
  entry: unknown,
  where: { file: string; line: number; n: number },
  opts: HarOptions = {},
): ParseResult | undefined {
  const parsed = harRequestSchema.safeParse(isPlainObject(entry) ? entry.request : undefined);
  const { file, line } = where;
  if (!parsed.success) {
    return { error: { file, line, message: `invalid HAR entry ${where.n}: ${zodMessage(parsed.error)}` } };
  }
  const r = parsed.data;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(r.url)?.[1]?.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'ws' && scheme !== 'wss') return undefined;

  const hash = r.url.indexOf('#');
  const target = toOriginForm(hash < 0 ? r.url : r.url.slice(0, hash));
  const headers: [string, string][] = [];
  let authority: string | undefined;
  let hostAt = -1;
  let hasHost = false;
  let hasCookie = false;
  for (const h of r.headers) {
    const lower = asciiLower(h.name);
    if (lower.startsWith(':')) {
      if (lower === ':authority' && authority === undefined) {
        authority = h.value ?? '';
        hostAt = headers.length;
      }
      continue;
    }
    if (lower === 'host') hasHost = true;
    if (lower === 'cookie') hasCookie = true;
    headers.push([utf8ToByteString(h.name), utf8ToByteString(h.value ?? '')]);
  }
  if (!hasHost) {
    const host = authority ?? target.host;
    if (host)
      headers.splice(hostAt >= 0 ? hostAt : 0, 0, [hostAt >= 0 ? 'host' : 'Host', utf8ToByteString(host)]);
  }
  if (!hasCookie && r.cookies && r.cookies.length > 0) {
    const cookie = r.cookies.map((c) => `${c.name}=${c.value ?? ''}`).join('; ');
    headers.push([authority === undefined ? 'Cookie' : 'cookie', utf8ToByteString(cookie)]);
  }

  let body: string | undefined;
  const post = r.postData;
  if (typeof post?.text === 'string' && post.text !== '') {
    body =
      post.encoding === 'base64'
        ? Buffer.from(post.text, 'base64').toString('latin1')
        : utf8ToByteString(post.text);
  } else if (post?.params && post.params.length > 0 && /x-www-form-urlencoded/i.test(post.mimeType ?? '')) {
    body = formEncode(post.params);
  }

  const expect = opts.expect ?? 'allow';
  return {
    request: buildRequest({
      id: `${file}#${where.n}`,
      method: r.method,
      uri: utf8ToByteString(target.uri),
      headers,
      body,
      expect,
      source: file,
    }),
  };
}

/** Entries of an already-parsed HAR document. `lineOf(i)` gives entry i's line. */
export function* harDocument(
  value: unknown,
  file: string,
  lineOf: (index: number) => number,
  opts: HarOptions = {},
): Generator<ParseResult> {
  if (!looksLikeHar(value)) {
    yield { error: { file, line: 1, message: 'not a HAR file: no log.entries array' } };
    return;
  }
  const entries = (value as { log: { entries: unknown[] } }).log.entries;
  for (let i = 0; i < entries.length; i++) {
    const result = harEntryToRequest(entries[i], { file, line: lineOf(i), n: i + 1 }, opts);
    if (result) yield result;
  }
}

/** Parse HAR text; entry line numbers come from the text. */
export function* parseHar(text: string, file: string, opts: HarOptions = {}): Generator<ParseResult> {
  const json = parseJson(text);
  if ('error' in json) {
    const line = json.offset === undefined ? 1 : new LineIndex(text).lineAt(json.offset);
    yield { error: { file, line, message: json.error } };
    return;
  }
  const offsets = arrayElementOffsets(text, ['log', 'entries']);
  const lines = new LineIndex(text);
  yield* harDocument(json.value, file, (i) => lines.lineAt(offsets[i] ?? 0), opts);
}

/** Parse a HAR file (read whole: HAR is one JSON document). */
export async function* parseHarFile(
  file: string,
  opts: HarOptions & ReadOptions = {},
): AsyncGenerator<ParseResult> {
  const text = await readFileText(file, opts.maxBytes);
  yield* parseHar(text, file, opts);
}
