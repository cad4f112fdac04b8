// NVD CVE API 2.0 client for one CVE at a time:
//
//   GET {base}/rest/json/cves/2.0?cveId=CVE-2021-44228      (API key, when given, in the `apiKey` header)
//
// NVD's published limits are 5 requests per rolling 30 s without a key and 50 with one; requests
// over them are refused (with 403, sometimes 429/503). Every attempt, retries included, first takes a
// slot from a sliding-window limiter, shared by all clients of the same base URL and key in the
// process. The answer is read through the NVD importer (`parseNvd`), like an imported file.

import { parseNvd } from '../importers/nvd.js';
import type { VulnRecord } from '../model.js';
import { type Clock, systemClock } from './clock.js';
import { DEFAULT_NVD_URL, DEFAULT_TIMEOUT_MS } from './defaults.js';
import { type FetchImpl, fetchText } from './http.js';
import { SlidingWindowLimiter } from './rate-limit.js';

/** NVD's rolling window, plus a margin for clock skew and requests that take a while to arrive. */
export const NVD_WINDOW_MS = 30_000;
export const NVD_WINDOW_MARGIN_MS = 500;
export const NVD_LIMIT_PUBLIC = 5;
const NVD_LIMIT_WITH_KEY = 50;
/** One CVE's answer is kilobytes; the largest (thousands of CPE matches) a few MiB. */
const DEFAULT_NVD_MAX_BYTES = 16 * 1024 * 1024;

export interface NvdClientOptions {
  baseUrl?: string;
  apiKey?: string;
  timeoutMs?: number;
  maxBytes?: number;
  /** Attempts after the first on 403/429/5xx/network errors (default 3). */
  retries?: number;
  baseDelayMs?: number;
  fetchImpl?: FetchImpl;
  /** Default: the process-wide limiter for this base URL and key kind. */
  limiter?: SlidingWindowLimiter;
  clock?: Clock;
  random?: () => number;
  /** fetchedAt of the records (default now). */
  fetchedAt?: string;
}

const shared = new Map<string, SlidingWindowLimiter>();

/** The limiter all clients of `baseUrl` (with or without a key) share in this process. */
function sharedNvdLimiter(baseUrl: string, withKey: boolean): SlidingWindowLimiter {
  const key = `${baseUrl}\u0000${withKey ? 'key' : 'public'}`;
  let limiter = shared.get(key);
  if (!limiter) {
    limiter = new SlidingWindowLimiter(
      withKey ? NVD_LIMIT_WITH_KEY : NVD_LIMIT_PUBLIC,
      NVD_WINDOW_MS + NVD_WINDOW_MARGIN_MS,
      systemClock,
    );
    shared.set(key, limiter);
  }
  return limiter;
}

/** A limiter with NVD's limits for a client with or without a key, on `clock` (for tests). */
export function nvdLimiter(withKey: boolean, clock: Clock = systemClock): SlidingWindowLimiter {
  return new SlidingWindowLimiter(
    withKey ? NVD_LIMIT_WITH_KEY : NVD_LIMIT_PUBLIC,
    NVD_WINDOW_MS + NVD_WINDOW_MARGIN_MS,
    clock,
  );
}

class NvdError extends Error {
  override name = 'NvdError';
}

export class NvdClient {
  readonly baseUrl: string;
  readonly limiter: SlidingWindowLimiter;

  constructor(private readonly opts: NvdClientOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? DEFAULT_NVD_URL).replace(/\/+$/, '');
    const withKey = opts.apiKey !== undefined && opts.apiKey !== '';
    this.limiter =
      opts.limiter ??
      (opts.clock ? nvdLimiter(withKey, opts.clock) : sharedNvdLimiter(this.baseUrl, withKey));
  }

  /** The request URL for one CVE. */
  urlFor(cveId: string): string {
    return `${this.baseUrl}/rest/json/cves/2.0?cveId=${encodeURIComponent(cveId.toUpperCase())}`;
  }

  /** The CVE's record, or undefined when NVD has none (totalResults 0). Throws HttpError/NvdError. */
  async getCve(cveId: string, signal?: AbortSignal): Promise<VulnRecord | undefined> {
    const id = cveId.toUpperCase();
    const url = this.urlFor(id);
    const { opts } = this;
    const res = await fetchText(url, {
      what: 'NVD',
      maxBytes: opts.maxBytes ?? DEFAULT_NVD_MAX_BYTES,
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      headers: { accept: 'application/json', ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) },
      retries: opts.retries ?? 3,
      baseDelayMs: opts.baseDelayMs ?? 2000,
      retryStatuses: [403],
      beforeAttempt: (s) => this.limiter.acquire(s),
      ...(opts.fetchImpl ? { fetchImpl: opts.fetchImpl } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.random ? { random: opts.random } : {}),
      ...(signal ? { signal } : {}),
    });
    const parsed = parseNvd(res.text, url, opts.fetchedAt ? { fetchedAt: opts.fetchedAt } : {});
    const record = parsed.records.find((r) => r.id === id);
    if (record) return record;
    // totalResults 0: an empty `vulnerabilities` array, which the importer reads as no records.
    if (parsed.errors.length === 0 && parsed.records.length === 0) return undefined;
    const why = parsed.errors[0]
      ? `${parsed.errors[0].position}: ${parsed.errors[0].message}`
      : `it answered for ${parsed.records.map((r) => r.id).join(', ')} instead`;
    throw new NvdError(`NVD's answer for ${id} could not be read (${why.slice(0, 300)})`);
  }
}
