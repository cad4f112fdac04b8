// One HTTP GET as the live sources need it: a per-attempt timeout (headers and body), a byte cap
// enforced while the body streams, and retries with exponential back-off and jitter on 429, 5xx,
// timeouts and network errors, honouring Retry-After. Errors are one line and never carry request
// headers (the NVD API key travels in one).

import { type Clock, systemClock } from './clock.js';
import { DEFAULT_TIMEOUT_MS } from './defaults.js';

/** The subset of `fetch` used here, so tests and callers can pass their own. */
export type FetchImpl = (url: string, init: RequestInit) => Promise<Response>;

export interface HttpOptions {
  /** Who is being asked, for messages: "NVD", "CISA KEV", "nuclei-templates". */
  what: string;
  fetchImpl?: FetchImpl;
  /** Cap on each attempt, from sending the request to the last body byte, in ms. Default 15 s. */
  timeoutMs?: number;
  /** Cap on the body, in bytes. */
  maxBytes: number;
  headers?: Record<string, string>;
  /** Attempts after the first (default 3). */
  retries?: number;
  /** First back-off delay before jitter, doubled per retry (default 1 s). */
  baseDelayMs?: number;
  /** Longest back-off delay (default 30 s). */
  maxDelayMs?: number;
  /** A Retry-After longer than this fails the request instead of waiting (default 2 min). */
  maxRetryAfterMs?: number;
  /** Statuses retried besides 408, 429 and 5xx (NVD throttles with 403). */
  retryStatuses?: readonly number[];
  clock?: Clock;
  /** In [0, 1): the jitter source (default Math.random). */
  random?: () => number;
  /** Awaited before every attempt, retries included: where a rate limiter plugs in. */
  beforeAttempt?: (signal?: AbortSignal) => Promise<void>;
  /** Cancels the whole operation, waits included; never retried. */
  signal?: AbortSignal;
}

export interface HttpResult {
  status: number;
  text: string;
  headers: Headers;
  /** Attempts made (1 when the first one succeeded). */
  attempts: number;
}

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    message: string,
    /** The HTTP status of the last answer, when there was one. */
    readonly status?: number,
  ) {
    super(message);
  }
}

const USER_AGENT = 'wafgen (live CVE look-up; +https://github.com/wafgen)';

/** Retry-After (delta-seconds or an HTTP date) in ms from `now`; undefined when absent or unreadable. */
function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Delay before retry number `retry` (0-based): half fixed, half random, of base·2^retry, capped. */
function backoffMs(retry: number, base: number, max: number, random: () => number): number {
  const full = Math.min(max, base * 2 ** retry);
  return Math.round(full / 2 + random() * (full / 2));
}

function oneLine(s: string, max = 200): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** A fetch failure's cause, briefly: ECONNREFUSED, ENOTFOUND, "other side closed". */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: unknown } | null)?.cause;
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  if (cause instanceof Error && cause.message) return oneLine(cause.message, 120);
  return err instanceof Error ? oneLine(err.message, 120) : String(err);
}

class TooLarge extends Error {}

async function readCapped(res: Response, maxBytes: number, what: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new TooLarge(`${what} response is ${declared} bytes, over the ${maxBytes}-byte limit`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new TooLarge(`${what} response is over the ${maxBytes}-byte limit`);
    }
    chunks.push(value);
  }
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks));
}

/**
 * GET `url` and return its body as text (2xx only). Throws HttpError: a non-retryable status at once,
 * a retryable one or a network failure once the retries are spent, an oversized body at once.
 */
export async function fetchText(url: string, opts: HttpOptions): Promise<HttpResult> {
  const fetchImpl = opts.fetchImpl ?? ((u, init) => fetch(u, init));
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const retries = opts.retries ?? 3;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const baseDelay = opts.baseDelayMs ?? 1000;
  const maxDelay = opts.maxDelayMs ?? 30_000;
  const maxRetryAfter = opts.maxRetryAfterMs ?? 120_000;
  const retryable = (status: number) =>
    status === 408 || status === 429 || status >= 500 || (opts.retryStatuses ?? []).includes(status);
  const { what, signal } = opts;

  // Not cockatiel's retry: its wait is its own setTimeout, deaf to `clock` and to an abort (one more try).
  for (let attempt = 1; ; attempt++) {
    const last = attempt > retries;
    const tries = attempt === 1 ? '' : ` (after ${attempt} attempts)`;
    signal?.throwIfAborted();
    await opts.beforeAttempt?.(signal);
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    let delay: number;
    let failure: string;
    let status: number | undefined;
    try {
      const res = await fetchImpl(url, {
        method: 'GET',
        headers: {
          accept: 'application/json, application/yaml, text/plain;q=0.9, */*;q=0.5',
          'user-agent': USER_AGENT,
          ...opts.headers,
        },
        signal: combined,
        redirect: 'follow',
      });
      status = res.status;
      if (res.ok) {
        const text = await readCapped(res, opts.maxBytes, what);
        return { status: res.status, text, headers: res.headers, attempts: attempt };
      }
      await res.body?.cancel().catch(() => {});
      // NVD explains a refusal in a `message` header.
      const message = res.headers.get('message');
      failure = `${what} answered HTTP ${res.status}${res.statusText ? ` ${oneLine(res.statusText, 60)}` : ''}${message ? `: ${oneLine(message)}` : ''}`;
      if (!retryable(res.status)) throw new HttpError(`${failure} for ${url}`, res.status);
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'), Date.now());
      if (retryAfter !== undefined && retryAfter > maxRetryAfter && !last) {
        throw new HttpError(
          `${failure} for ${url} and asked to retry after ${Math.ceil(retryAfter / 1000)} s, longer than wafgen waits`,
          res.status,
        );
      }
      delay = retryAfter ?? backoffMs(attempt - 1, baseDelay, maxDelay, random);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      if (err instanceof TooLarge) throw new HttpError(`${err.message} (${url})`, status);
      if (signal?.aborted) throw signal.reason;
      failure = timeout.signal.aborted
        ? `${what} did not answer within ${timeoutMs} ms`
        : `${what} could not be reached (${networkReason(err)})`;
      // A name that does not resolve will not resolve in a few seconds either (and on a machine
      // with no network this is the answer every time): fail at once instead of backing off.
      if (networkReason(err) === 'ENOTFOUND') throw new HttpError(`${failure} for ${url}`, status);
      delay = backoffMs(attempt - 1, baseDelay, maxDelay, random);
    } finally {
      clearTimeout(timer);
    }
    if (last) throw new HttpError(`${failure} for ${url}${tries}`, status);
    await clock.sleep(delay, signal);
  }
}
