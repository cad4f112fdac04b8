/**
 * @module The one request answered before Hono: a cache-hit GET /v1/rules/:cveId from a caller
 * whose bearer token was verified before, whose rate limit this process can decide alone and who
 * has the rules:read scope, for a rule in this process's layer of the cache. Everything else, and
 * every answer that is not that 200 (401, 403, 404, 429, a Redis round trip, an odd URL or Host),
 * goes to the app unchanged, and nothing that would count twice happens before that decision.
 *
 * The answer is the app's, byte for byte: the same pre-encoded body, the same headers in the same
 * order (request id, rate-limit figures, content type, X-Cache, the security headers), the same
 * metrics and access log line. test/api/hot-path.test.ts compares the two.
 *
 * Why: on a 2-CPU machine the whole Hono path (node-server's Request and Response objects, the
 * Context, four composed middlewares) cost ~15 µs of server CPU per cache hit on top of the work
 * itself, 0.45x a bare Hono route (npm run bench:api, CPU ratio); the Node adapter asks this first.
 */
import type { Scope } from '../app/index.js';
import type { Authenticator } from './auth.js';
import type { ApiMetrics } from './metrics.js';
import { REQUEST_ID } from './middleware/request-id.js';
import { SECURITY_HEADERS } from './middleware/response-headers.js';
import { isCveId } from './schemas.js';

/** What the hot path reads of a request (Node's IncomingMessage has it). */
interface HotRequest {
  method?: string | undefined;
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/** What it writes (Node's ServerResponse has it). */
interface HotResponse {
  /** Headers as Node's flat form [name, value, name, value, ...]. */
  writeHead(status: number, headers: string[]): unknown;
  end(body: Uint8Array): unknown;
}

/** Answers the request and says true, or says false having done nothing: the app answers it. */
export type HotPath = (req: HotRequest, res: HotResponse) => boolean;

export interface HotPathDeps<View extends object> {
  auth: Authenticator;
  limiter: {
    tryConsume(
      policy: string,
      principal: string,
    ): { allowed: boolean; limit: number; remaining: number; resetS: number; windowS: number } | undefined;
  };
  /** The rule in the cache's in-process layer, without counting a hit. */
  peek(cveId: string): View | undefined;
  /** Counts the cache hit (as the app's read does). */
  hit(): void;
  /** The app's encoded answer for a cache hit. */
  body(view: View): Uint8Array<ArrayBuffer>;
  metrics: ApiMetrics;
  /** The access log line, as the request-id middleware writes it (debug). */
  debug?: ((line: Record<string, unknown>) => void) | undefined;
}

const PATH = /^\/v1\/rules\/([^/?#%]+)$/;
/** The Host values @hono/node-server accepts without building a URL (others go to it). */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;
const ROUTE = '/v1/rules/:cveId';
const SCOPE: Scope = 'rules:read';
const POLICY = 'default';

/** Distinct request paths remembered with their CVE ID (a bound: beyond, the memo starts again). */
const MAX_PATHS = 1000;
/** Longer paths are not a rule read ('/v1/rules/' and a CVE ID of at most 40 characters, isCveId). */
const MAX_PATH_LENGTH = 64;

export function createHotPath<View extends object>(deps: HotPathDeps<View>): HotPath {
  let figures: { limit: string; policy: string } | undefined;
  // The CVE ID of each request path seen (upper-cased), or '' for a path that is not a rule read:
  // a repeated path costs one Map lookup instead of two regular expressions and a copy. With the
  // reused header array below, the handler's own code went from ~0.78 to ~0.40 µs a call (the
  // compiled handler called 300,000 times with stand-in auth, limiter and cache, on a loaded machine).
  const ids = new Map<string, string>();
  let plainHost = '';
  // The response headers, in the app's order, in the flat [name, value, ...] form Node's writeHead
  // takes: built once, the four values that change set per request (writeHead copies them out).
  const head: string[] = [
    'X-Request-Id',
    '',
    'RateLimit-Limit',
    '',
    'RateLimit-Remaining',
    '',
    'RateLimit-Reset',
    '',
    'RateLimit-Policy',
    '',
    'Content-Type',
    'application/json',
    'X-Cache',
    'hit',
    ...Object.entries(SECURITY_HEADERS).flat(),
    'Content-Length',
    '',
  ];
  const LENGTH = head.length - 1;
  return (req, res) => {
    const started = performance.now();
    const url = req.url;
    if (req.method !== 'GET' || url === undefined || url.length > MAX_PATH_LENGTH) return false;
    let id = ids.get(url);
    if (id === undefined) {
      const m = PATH.exec(url);
      id = m && isCveId(m[1]!) ? m[1]!.toUpperCase() : '';
      if (ids.size >= MAX_PATHS) ids.clear();
      ids.set(url, id);
    }
    if (id === '') return false;
    const { host, authorization } = req.headers;
    if (typeof host !== 'string' || typeof authorization !== 'string') return false;
    if (host !== plainHost) {
      if (!PLAIN_HOST.test(host)) return false;
      plainHost = host;
    }
    const principal = deps.auth.cachedBearer(authorization);
    if (!principal || !principal.scopes.has(SCOPE)) return false;
    const view = deps.peek(id);
    if (!view) return false;
    // Last, the one step with an effect: an admission is counted; a refusal or "ask Redis" is not.
    const d = deps.limiter.tryConsume(POLICY, principal.id);
    if (!d || !d.allowed) return false;
    deps.hit();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    if (figures === undefined) {
      figures = { limit: String(d.limit), policy: `${d.limit};w=${d.windowS}` };
      head[3] = figures.limit;
      head[9] = figures.policy;
    }
    const bytes = deps.body(view);
    head[1] = requestId;
    head[5] = String(d.remaining);
    head[7] = String(d.resetS);
    head[LENGTH] = String(bytes.byteLength);
    res.writeHead(200, head);
    res.end(bytes);
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.requests.record('GET', ROUTE, 200, seconds);
    deps.debug?.({ requestId, method: 'GET', route: ROUTE, status: 200, ms: seconds * 1000 });
    return true;
  };
}

/** Hot paths by app, for the Node adapter. */
const hotPaths = new WeakMap<object, HotPath>();

export function attachHotPath(app: object, hot: HotPath): void {
  hotPaths.set(app, hot);
}

export function hotPathOf(app: object): HotPath | undefined {
  return hotPaths.get(app);
}
