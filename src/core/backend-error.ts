/** @module A backend (PostgreSQL, Redis) that cannot be reached, named by host:port and never by its full URL. */

/**
 * A backend that could not be reached or would not let wafgen in. The message is one line,
 * `cannot reach PostgreSQL at db.example:5432 (ECONNREFUSED)`, and holds no credentials: the
 * endpoint comes from {@link endpointOf}, the reason is an error code or a fixed phrase, never the
 * driver's text. The CLI prints it and exits 5 (`EXIT.unavailable`).
 */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';

  constructor(
    readonly backend: 'PostgreSQL' | 'Redis',
    /** host:port, without user, password, database or query. */
    readonly endpoint: string,
    /** An error code (ECONNREFUSED, 28P01) or a short fixed phrase. */
    readonly reason: string,
  ) {
    super(`cannot reach ${backend} at ${endpoint} (${reason})`);
  }
}

/**
 * host:port of a backend URL, as safe to print: no user, password, path or query. `defaultPort`
 * when the URL names none; a socket folder given as `?host=/path` (PostgreSQL) is shown as that
 * path. A URL that does not parse is shown as "the configured address".
 */
export function endpointOf(url: string, defaultPort: number): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'the configured address';
  }
  const socket = u.searchParams.get('host');
  if (!u.hostname && socket?.startsWith('/')) return `${socket}:${u.port || defaultPort}`;
  return `${u.hostname || 'localhost'}:${u.port || defaultPort}`;
}

/** Network error codes that mean "could not connect" (Node's errno codes and getaddrinfo's). */
const CONNECT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
]);

interface NetErrorFields {
  code?: unknown;
  port?: unknown;
  address?: unknown;
  hostname?: unknown;
  errors?: unknown;
}

/**
 * The connect error code of `error` when it is a network error aimed at `url`'s host or port (an
 * AggregateError from trying IPv6 and IPv4 counts when one of its errors does), else undefined.
 * Errors that name neither port nor host are not claimed: another connection (S3, an LLM) may
 * have failed.
 */
export function connectErrorTo(error: unknown, url: string, defaultPort: number): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const e = error as NetErrorFields;
  if (typeof e.code !== 'string' || !CONNECT_ERROR_CODES.has(e.code)) return undefined;
  let host = '';
  let port = String(defaultPort);
  try {
    const u = new URL(url);
    host = u.hostname.replace(/^\[|\]$/g, '');
    port = u.port || port;
  } catch {
    return undefined;
  }
  const aims = (x: NetErrorFields): boolean =>
    (x.port !== undefined && String(x.port) === port) ||
    (typeof x.hostname === 'string' && x.hostname === host) ||
    (typeof x.address === 'string' && x.address === host && x.port === undefined);
  const parts = Array.isArray(e.errors) ? [e, ...(e.errors as NetErrorFields[])] : [e];
  return parts.some((x) => x !== null && typeof x === 'object' && aims(x)) ? e.code : undefined;
}
