// The only way wafgen fetches a reference URL. The URL comes from a CVE record or a redirect chosen by the
// referenced site, so it is hostile until proven otherwise:
//
//   1. http/https only, no credentials in the URL, at most 2,000 characters;
//   2. the host name is checked (no localhost, .internal, metadata names, single labels), then resolved here
//      (every address) and refused if ANY address is not globally routable (address-policy.ts);
//   3. the connection goes to the vetted address itself: node:http gets a `lookup` that can only return
//      that address, and the socket's remote address is checked again on connect, so a DNS answer that
//      changes between the check and the connection (rebinding) cannot redirect it;
//   4. redirects are followed by hand, at most 5, each hop going through 1-3 again;
//   5. per-request and total time caps, a byte cap enforced while streaming (compressed and decoded), and a
//      content-type allow-list checked before the body is read.

import { lookup as dnsLookup } from 'node:dns/promises';
import { type IncomingHttpHeaders, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type LookupFunction, isIPv4, isIPv6 } from 'node:net';
import type { Readable, Transform } from 'node:stream';
import { TextDecoder } from 'node:util';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

import { canonicalAddress, checkHostName, classifyAddress } from './address-policy.js';

const ALLOWED_CONTENT_TYPES: readonly string[] = [
  'text/html',
  'application/xhtml+xml',
  'text/plain',
  'application/json',
  'application/xml',
  'text/xml',
  'text/markdown',
  'text/x-markdown',
  'application/x-yaml',
  'application/yaml',
  'text/yaml',
  'text/x-yaml',
];

/** Hard ceiling on redirects, whatever the caller asks for. */
export const MAX_REDIRECTS_LIMIT = 5;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 2 * 1024 * 1024;
const MAX_URL_LENGTH = 2000;
const USER_AGENT = 'wafgen-evidence/0.1 (+https://github.com/wafgen; reference fetcher)';

type Resolver = (hostname: string) => Promise<string[]>;

export interface SafeFetchOptions {
  /** Cap on each request (resolution, connection, headers and body), in ms. Default 10 s. */
  timeoutMs?: number;
  /** Cap on the whole fetch including redirects, in ms. Default twice timeoutMs. */
  totalTimeoutMs?: number;
  /** Cap on the body, in bytes, both as received and after decompression. Default 2 MiB. */
  maxBytes?: number;
  /** Redirects to follow; at most MAX_REDIRECTS_LIMIT (5), which is the default. */
  maxRedirects?: number;
  /**
   * TESTS ONLY. Skip the private/loopback/link-local/reserved address checks (cloud metadata addresses and
   * names are refused regardless). Prefer `allowAddresses`, which exempts exact addresses only.
   */
  allowPrivate?: boolean;
  /**
   * TESTS ONLY. Exact addresses (as the resolver returns them, or as the URL spells them) exempt from the
   * address policy, e.g. ['127.0.0.1'] for a test server. Every other address, including other spellings
   * of the same one (::ffff:127.0.0.1), is still checked.
   */
  allowAddresses?: readonly string[];
  /** Host name resolver; defaults to the system resolver (every address). Tests inject one. */
  resolver?: Resolver;
  /** Aborts the fetch. */
  signal?: AbortSignal;
}

export interface SafeFetchResult {
  /** The final URL, after redirects. */
  url: string;
  status: number;
  /** MIME type without parameters, lower case (e.g. text/html). */
  contentType: string;
  charset?: string;
  text: string;
  /** Body length in bytes after decompression. */
  bytes: number;
  /** Every URL that answered with a redirect, in order (empty when there was none). */
  redirects: string[];
}

export type RefusalCode =
  | 'bad-url'
  | 'scheme'
  | 'credentials'
  | 'blocked-host'
  | 'blocked-address'
  | 'content-type'
  | 'too-large'
  | 'too-many-redirects'
  | 'redirect-loop';

export type FailureCode =
  'dns' | 'network' | 'timeout' | 'total-timeout' | 'aborted' | 'http-status' | 'bad-redirect' | 'decoding';

/** The fetcher refused on policy grounds (address, scheme, size, type...): retrying will not help. */
export class FetchRefused extends Error {
  override readonly name = 'FetchRefused';
  constructor(
    readonly code: RefusalCode,
    readonly url: string,
    readonly reason: string,
  ) {
    super(`refused to fetch ${url}: ${reason}`);
  }
}

/** The fetch was allowed but did not succeed (network, timeout, HTTP status...). */
export class FetchFailed extends Error {
  override readonly name = 'FetchFailed';
  constructor(
    readonly code: FailureCode,
    readonly url: string,
    readonly reason: string,
    readonly status?: number,
  ) {
    super(`failed to fetch ${url}: ${reason}`);
  }
}

const systemResolver: Resolver = async (hostname) => {
  const records = await dnsLookup(hostname, { all: true, verbatim: true });
  return records.map((r) => r.address);
};

/** Parse and check a URL: scheme, credentials, length, host name. Throws FetchRefused. */
function checkUrl(raw: string | URL, base?: URL): URL {
  const text = String(raw);
  const shown = text.length > 200 ? `${text.slice(0, 200)}...` : text;
  if (text.length > MAX_URL_LENGTH) {
    throw new FetchRefused('bad-url', shown, `URL longer than ${MAX_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new FetchRefused('bad-url', shown, 'not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FetchRefused('scheme', shown, `scheme ${url.protocol} is not http or https`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new FetchRefused('credentials', redact(url), 'URLs with credentials are refused');
  }
  if (url.href.length > MAX_URL_LENGTH) {
    throw new FetchRefused('bad-url', shown, `URL longer than ${MAX_URL_LENGTH} characters`);
  }
  const host = bareHost(url);
  if (!isIPv4(host) && !isIPv6(host)) {
    const why = checkHostName(host);
    if (why) throw new FetchRefused('blocked-host', url.href, why);
  }
  return url;
}

function redact(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

/** The URL's host without IPv6 brackets. */
function bareHost(url: URL): string {
  const h = url.hostname;
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

interface Policy {
  allowPrivate: boolean;
  allowAddresses: ReadonlySet<string>;
}

function checkAddress(address: string, url: URL, policy: Policy): void {
  if (policy.allowAddresses.has(address)) return;
  const verdict = classifyAddress(address);
  if (verdict.allowed) return;
  if (policy.allowPrivate && verdict.category !== 'metadata' && verdict.category !== 'invalid') return;
  throw new FetchRefused('blocked-address', url.href, verdict.reason ?? `${address} is not allowed`);
}

/** Resolve the URL's host and vet every address; returns the address to connect to. */
async function vetHost(url: URL, policy: Policy, resolver: Resolver, signal: AbortSignal): Promise<string> {
  const host = bareHost(url);
  if (isIPv4(host) || isIPv6(host)) {
    checkAddress(host, url, policy);
    return host;
  }
  let addresses: string[];
  try {
    addresses = await abortable(resolver(host), signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw new FetchFailed('dns', url.href, `cannot resolve ${host}: ${(err as Error).message}`);
  }
  if (addresses.length === 0) throw new FetchFailed('dns', url.href, `${host} has no addresses`);
  for (const a of addresses) {
    if (!isIPv4(a) && !isIPv6(a.split('%')[0] ?? '')) {
      throw new FetchRefused('blocked-address', url.href, `${host} resolved to a non-address ${a}`);
    }
    // Every address must pass: a name with one public and one private address is refused outright.
    checkAddress(a, url, policy);
  }
  return addresses[0]!;
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** A `lookup` for node:net that can only answer with the vetted address. */
function pinnedLookup(address: string): LookupFunction {
  const family = isIPv6(address) ? 6 : 4;
  const fn = (_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    if (options?.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  };
  return fn as unknown as LookupFunction;
}

function mediaType(header: string | undefined): { type: string; charset?: string } {
  if (!header) return { type: '' };
  const [type, ...params] = header.split(';');
  let charset: string | undefined;
  for (const p of params) {
    const m = /^\s*charset\s*=\s*"?([^";\s]+)"?\s*$/i.exec(p);
    if (m) charset = m[1]!.toLowerCase();
  }
  return { type: (type ?? '').trim().toLowerCase(), charset };
}

interface HopResponse {
  status: number;
  headers: IncomingHttpHeaders;
  res: IncomingMessage;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Fetch a reference URL under the policy above. Resolves with the decoded text, or rejects with
 * FetchRefused (policy) or FetchFailed (network, timeout, HTTP status).
 */
export async function safeFetch(url: string | URL, options: SafeFetchOptions = {}): Promise<SafeFetchResult> {
  const timeoutMs = positive(options.timeoutMs, DEFAULT_TIMEOUT_MS);
  const totalTimeoutMs = positive(options.totalTimeoutMs, timeoutMs * 2);
  const maxBytes = positive(options.maxBytes, DEFAULT_MAX_BYTES);
  const maxRedirects = Math.max(
    0,
    Math.min(options.maxRedirects ?? MAX_REDIRECTS_LIMIT, MAX_REDIRECTS_LIMIT),
  );
  const resolver = options.resolver ?? systemResolver;
  const policy: Policy = {
    allowPrivate: options.allowPrivate === true,
    allowAddresses: new Set(options.allowAddresses ?? []),
  };

  const total = new AbortController();
  const first = checkUrl(url);
  first.hash = '';
  const totalTimer = setTimeout(
    () =>
      total.abort(
        new FetchFailed(
          'total-timeout',
          first.href,
          `the fetch took longer than ${totalTimeoutMs} ms in all`,
        ),
      ),
    totalTimeoutMs,
  );
  const onOuterAbort = () => total.abort(new FetchFailed('aborted', first.href, 'aborted by the caller'));
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (options.signal?.aborted) onOuterAbort();

  const redirects: string[] = [];
  const seen = new Set<string>();
  let current = first;
  try {
    for (;;) {
      seen.add(current.href);
      const hop = new AbortController();
      const hopTimer = setTimeout(
        () =>
          hop.abort(new FetchFailed('timeout', current.href, `no complete response within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onTotal = () => hop.abort(total.signal.reason);
      total.signal.addEventListener('abort', onTotal, { once: true });
      if (total.signal.aborted) onTotal();
      try {
        const address = await vetHost(current, policy, resolver, hop.signal);
        const response = await send(current, address, hop.signal);
        if (REDIRECTS.has(response.status)) {
          response.res.destroy();
          const location = response.headers.location;
          if (!location) {
            throw new FetchFailed('bad-redirect', current.href, `HTTP ${response.status} without a Location`);
          }
          if (redirects.length >= maxRedirects) {
            throw new FetchRefused('too-many-redirects', current.href, `more than ${maxRedirects} redirects`);
          }
          const next = checkUrl(location, current);
          next.hash = '';
          if (seen.has(next.href)) {
            throw new FetchRefused('redirect-loop', current.href, `redirect loop back to ${next.href}`);
          }
          redirects.push(current.href);
          current = next;
          continue;
        }
        if (response.status < 200 || response.status > 299) {
          response.res.destroy();
          const retry = response.headers['retry-after'];
          const extra =
            response.status === 429 && retry ? ` (Retry-After: ${String(retry).slice(0, 40)})` : '';
          throw new FetchFailed(
            'http-status',
            current.href,
            `HTTP ${response.status}${extra}`,
            response.status,
          );
        }
        const media = mediaType(response.headers['content-type']);
        if (!ALLOWED_CONTENT_TYPES.includes(media.type)) {
          response.res.destroy();
          throw new FetchRefused(
            'content-type',
            current.href,
            media.type === '' ? 'no Content-Type' : `content type ${media.type.slice(0, 100)} is not text`,
          );
        }
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          response.res.destroy();
          throw new FetchRefused(
            'too-large',
            current.href,
            `Content-Length ${declared} exceeds ${maxBytes} bytes`,
          );
        }
        const body = await readBody(response, current, maxBytes, hop.signal);
        const charset = media.charset ?? sniffCharset(body, media.type);
        return {
          url: current.href,
          status: response.status,
          contentType: media.type,
          ...(charset ? { charset } : {}),
          text: decode(body, charset),
          bytes: body.length,
          redirects,
        };
      } finally {
        clearTimeout(hopTimer);
        total.signal.removeEventListener('abort', onTotal);
      }
    }
  } finally {
    clearTimeout(totalTimer);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** One GET to `url`, connecting only to `address`. Resolves when the response headers arrive. */
function send(url: URL, address: string, signal: AbortSignal): Promise<HopResponse> {
  return new Promise<HopResponse>((resolve, reject) => {
    if (signal.aborted) {
      reject(asFetchError(signal.reason, url));
      return;
    }
    const host = bareHost(url);
    const isLiteral = isIPv4(host) || isIPv6(host);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request({
      protocol: url.protocol,
      hostname: isLiteral ? address : host,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      agent: false,
      lookup: pinnedLookup(address),
      headers: {
        'User-Agent': USER_AGENT,
        Accept:
          'text/html,application/xhtml+xml,text/plain,text/markdown,application/json,application/xml;q=0.9,*/*;q=0.1',
        'Accept-Encoding': 'gzip, deflate, br',
        Connection: 'close',
      },
    });
    const onAbort = () => req.destroy(asFetchError(signal.reason, url));
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('socket', (socket) => {
      socket.once('connect', () => {
        // Belt and braces: the socket must be connected to the address that was vetted.
        const remote = socket.remoteAddress;
        if (!remote || canonicalAddress(remote) !== canonicalAddress(address)) {
          req.destroy(
            new FetchRefused('blocked-address', url.href, `connected to ${remote ?? '?'}, not ${address}`),
          );
        }
      });
    });
    req.on('response', (res) => {
      // From here readBody (or the caller destroying `res`) owns the abort handling.
      signal.removeEventListener('abort', onAbort);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, res });
    });
    req.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(asFetchError(err, url));
    });
    req.end();
  });
}

function asFetchError(err: unknown, url: URL): Error {
  if (err instanceof FetchRefused || err instanceof FetchFailed) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const detail = e?.code ? `${e.code}: ${e.message}` : (e?.message ?? String(err));
  return new FetchFailed('network', url.href, detail);
}

/** Read the body, decompressing if needed, aborting as soon as either byte count passes maxBytes. */
function readBody(response: HopResponse, url: URL, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  const { res, headers } = response;
  const encoding = String(headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  let decoder: Transform | undefined;
  switch (encoding) {
    case 'identity':
    case '':
      decoder = undefined;
      break;
    case 'gzip':
    case 'x-gzip':
      decoder = createGunzip();
      break;
    case 'deflate':
      decoder = createInflate();
      break;
    case 'br':
      decoder = createBrotliDecompress();
      break;
    default:
      res.destroy();
      return Promise.reject(
        new FetchFailed('decoding', url.href, `unsupported Content-Encoding ${encoding.slice(0, 40)}`),
      );
  }

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let raw = 0;
    let decoded = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      res.destroy();
      decoder?.destroy();
      reject(err);
    };
    const tooLarge = () =>
      fail(new FetchRefused('too-large', url.href, `body larger than ${maxBytes} bytes (stopped reading)`));
    function onAbort() {
      fail(asFetchError(signal.reason, url));
    }
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });

    const out: Readable = decoder ?? res;
    res.on('data', (chunk: Buffer) => {
      raw += chunk.length;
      if (raw > maxBytes) tooLarge();
    });
    out.on('data', (chunk: Buffer) => {
      decoded += chunk.length;
      if (decoded > maxBytes) {
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    out.on('end', () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks, decoded));
    });
    out.on('error', (err) => {
      fail(
        err instanceof FetchRefused || err instanceof FetchFailed
          ? err
          : decoder
            ? new FetchFailed('decoding', url.href, `bad ${encoding} body: ${err.message}`)
            : asFetchError(err, url),
      );
    });
    if (decoder) {
      res.on('error', (err) => fail(asFetchError(err, url)));
      res.pipe(decoder);
    }
    res.on('aborted', () => fail(new FetchFailed('network', url.href, 'connection closed mid-body')));
  });
}

/** For HTML without a charset parameter: a <meta charset> in the first 1 KiB. */
function sniffCharset(body: Buffer, type: string): string | undefined {
  if (type !== 'text/html' && type !== 'application/xhtml+xml') return undefined;
  const head = body.subarray(0, 1024).toString('latin1');
  const m = /<meta[^>]{0,200}?charset\s*=\s*["']?([\w-]{1,40})/i.exec(head);
  return m ? m[1]!.toLowerCase() : undefined;
}

function decode(body: Buffer, charset: string | undefined): string {
  if (charset) {
    try {
      return new TextDecoder(charset).decode(body);
    } catch {
      // Unknown label: fall through to UTF-8.
    }
  }
  return new TextDecoder('utf-8').decode(body);
}
