/**
 * @module The requests answered before Hono, from what this process already holds:
 * - a cache-hit GET /v1/rules/:cveId for a rule in this process's layer of the cache;
 * - a POST /v1/rules/validate whose exact body this caller validated before (the app's report
 *   cache, keyed by caller, content type and body), once the body is read.
 * Both only from a caller whose bearer token was verified before, whose rate limit this process can
 * decide alone and who has the rules:read scope. Everything else, and every answer that is not that
 * 200 (401, 403, 404, 413, 415, 429, a Redis round trip, an odd URL or Host, a new body), goes to the
 * app unchanged (a validate body already read goes with it, see {@link HotPath}), and nothing that
 * would count twice happens before that decision.
 *
 * The answer is the app's: the same pre-encoded body, the same headers with the same values
 * (request id, rate-limit figures, content type, X-Cache for a rule, the security headers; Node
 * places Content-Length before its own Date and Connection here, after them for the app), the same
 * metrics and access log line. test/api/hot-path-redis.test.ts (the GET) and
 * hot-path-validate.test.ts (the validate) compare the two.
 *
 * Why: on a 2-CPU machine the whole Hono path (node-server's Request and Response objects, the
 * Context, four composed middlewares) cost ~15 µs of server CPU per cache hit on top of the work
 * itself, 0.45x a bare Hono route (npm run bench:api, CPU ratio); the Node adapter asks this first.
 * A repeated validate through Hono cost 75-83 µs of server CPU against 22 µs for the bare route
 * (0.27-0.30x; `perf record` on the server: no single cost above 4%, Hono's and node-server's
 * objects, the middlewares and the garbage they leave spread over the profile).
 */
import type { Scope } from '../app/index.js';
import type { Authenticator } from './auth.js';
import type { ApiMetrics } from './metrics.js';
import { bodyText } from './middleware/body-limit.js';
import { REQUEST_ID } from './middleware/request-id.js';
import { SECURITY_HEADERS } from './middleware/response-headers.js';
import { isCveId } from './schemas.js';

/** What the hot path reads of a request (Node's IncomingMessage has it). */
interface HotRequest {
  method?: string | undefined;
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** Names and values as sent: a repeated header is the app's to decide (see `singleHeaders`). */
  rawHeaders: string[];
  /** The body's chunks (a validate body is read here). */
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  destroy(): unknown;
  /**
   * When this path took the request (performance.now()): a request handed to the app after its
   * body was read here is timed from then, as the app times the requests it reads itself.
   */
  hotStarted?: number;
  /**
   * A body read here and handed to the app with the request: @hono/node-server builds the
   * Request's body from it and the body-limit middleware reads it (instead of the spent stream).
   */
  rawBody?: Uint8Array;
}

/** What it writes (Node's ServerResponse has it). */
interface HotResponse {
  /** Headers as Node's flat form [name, value, name, value, ...]. */
  writeHead(status: number, headers: string[]): unknown;
  end(body: Uint8Array): unknown;
}

/**
 * Says false having done nothing (the caller hands the request to the app), or true: the request is
 * this path's. A GET is then answered. A validate's body is read first; then it is answered, or
 * handed to `app` with the body as `rawBody` (a new body, a refusal, a limit only Redis can decide),
 * or dropped when the client goes away before sending all of it.
 */
export type HotPath = <Req extends HotRequest, Res extends HotResponse>(
  req: Req,
  res: Res,
  app: (req: Req, res: Res) => void,
) => boolean;

export interface HotPathDeps<View extends object> {
  auth: Authenticator;
  limiter: {
    decidesLocally(policy: string): boolean;
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
  /**
   * The access log line, as the request-id middleware writes it (debug): `enabled` is asked first,
   * so a request at the usual levels builds no line.
   */
  debug?: { enabled(): boolean; write(line: Record<string, unknown>): void } | undefined;
  /**
   * The report the app answered this caller for this exact validate body (the text as the
   * body-limit middleware leaves it) sent with this content type, if it still keeps it.
   */
  validated(principal: string, contentType: string, body: string): Uint8Array<ArrayBuffer> | undefined;
  /** The body-bytes limit (WAFGEN_MAX_BODY_BYTES): a larger body is the app's (its 413). */
  maxBodyBytes: number;
}

const PATH = /^\/v1\/rules\/([^/?#%]+)$/;
/** The Host values @hono/node-server accepts without building a URL (others go to it). */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;
const ROUTE = '/v1/rules/:cveId';
/** The validate route: its path, route pattern and answer's content type. */
const VALIDATE = '/v1/rules/validate';
const JSON_TYPE = 'application/json';
/** Both routes' guard: guard('rules:read') with the default policy. */
const SCOPE: Scope = 'rules:read';
const POLICY = 'default';
/** A Content-Length as Node's parser accepted it: digits (a body of at most 999,999,999 bytes). */
const DECIMAL = /^\d{1,9}$/;

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
  // takes: built once, the values that change set per request (writeHead copies them out). A rule
  // read's carry X-Cache; a validate's do not.
  const rateHeaders = [
    'RateLimit-Limit',
    '',
    'RateLimit-Remaining',
    '',
    'RateLimit-Reset',
    '',
    'RateLimit-Policy',
    '',
  ];
  const security = Object.entries(SECURITY_HEADERS).flat();
  const ruleHead: string[] = [
    'X-Request-Id',
    '',
    ...rateHeaders,
    'Content-Type',
    JSON_TYPE,
    'X-Cache',
    'hit',
    ...security,
    'Content-Length',
    '',
  ];
  const validateHead: string[] = [
    'X-Request-Id',
    '',
    ...rateHeaders,
    'Content-Type',
    JSON_TYPE,
    ...security,
    'Content-Length',
    '',
  ];

  /**
   * No header name sent twice. Node's `headers` keeps the first Authorization, Host and Content-Type
   * where the app (@hono/node-server, from the raw headers) reads them joined ("Bearer a, Bearer b":
   * a 401 there), so a request that repeats any header is the app's. Node joins or drops each
   * repeated name, so the counts differ exactly then.
   */
  const singleHeaders = (req: HotRequest): boolean =>
    req.rawHeaders.length === 2 * Object.keys(req.headers).length;

  const hostIsPlain = (host: string): boolean => {
    if (host === plainHost) return true;
    if (!PLAIN_HOST.test(host)) return false;
    plainHost = host;
    return true;
  };

  /** Writes the 200, then counts and logs it as the request-id middleware would. */
  const answer = (
    req: HotRequest,
    res: HotResponse,
    head: string[],
    d: { limit: number; remaining: number; resetS: number; windowS: number },
    bytes: Uint8Array,
    method: 'GET' | 'POST',
    route: string,
    started: number,
  ): void => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    // One policy (the default) for both routes: its fixed figures are the same for both.
    figures ??= { limit: String(d.limit), policy: `${d.limit};w=${d.windowS}` };
    head[1] = requestId;
    head[3] = figures.limit;
    head[5] = String(d.remaining);
    head[7] = String(d.resetS);
    head[9] = figures.policy;
    head[head.length - 1] = String(bytes.byteLength);
    res.writeHead(200, head);
    res.end(bytes);
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.requests.record(method, route, 200, seconds);
    if (deps.debug?.enabled())
      deps.debug.write({ requestId, method, route, status: 200, ms: seconds * 1000 });
  };

  /**
   * POST /v1/rules/validate: true when the request is taken (its body is read, then answered from
   * the report kept for it or handed to `app` with the body); false, having read nothing, for what
   * the app must see from the start: another URL, an odd Host, no Content-Length (a chunked body),
   * a body over the limit (the app's 413), a caller the app must authenticate or refuse.
   */
  const validate = <Req extends HotRequest, Res extends HotResponse>(
    req: Req,
    res: Res,
    app: (req: Req, res: Res) => void,
    started: number,
  ): boolean => {
    if (req.url !== VALIDATE) return false;
    const { host, authorization, 'content-type': type, 'content-length': length } = req.headers;
    if (
      typeof host !== 'string' ||
      typeof authorization !== 'string' ||
      typeof type !== 'string' ||
      typeof length !== 'string' ||
      req.headers['transfer-encoding'] !== undefined ||
      !DECIMAL.test(length) ||
      Number(length) > deps.maxBodyBytes ||
      !hostIsPlain(host) ||
      !singleHeaders(req)
    )
      return false;
    // Only where the limiter can admit here: otherwise every such request would be read here for
    // nothing and decoded again by the app.
    if (!deps.limiter.decidesLocally(POLICY)) return false;
    const principal = deps.auth.cachedBearer(authorization);
    if (!principal || !principal.scopes.has(SCOPE)) return false;
    // The request is this path's from here. Node's parser ends the body at Content-Length bytes,
    // which is within the limit; a body that ran past it anyway is cut off, never handed on.
    const max = Number(length);
    const chunks: Uint8Array[] = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.byteLength;
      if (size <= max) chunks.push(chunk);
      else req.destroy();
    });
    // A client that goes away before the end of its body gets nothing: no answer, no request
    // metric, no log line (through the app, the failed read was a 500 and an error log line).
    req.on('error', () => {});
    req.on('end', () => {
      if (size > max) return;
      // Chunks from Node are Buffers, and Buffer.concat returns one: @hono/node-server takes a
      // Buffer as rawBody. (This path runs only under the Node adapter.)
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const text = bodyText(bytes);
      // The token is checked again now that the body is in, as the app checks it after reading the
      // body: a verification that expired during a slow upload is the app's to decide again.
      const report =
        deps.auth.cachedBearer(authorization) === principal
          ? deps.validated(principal.id, type, text)
          : undefined;
      // Last, the one step with an effect: an admission is counted; a refusal or "ask Redis" is not.
      const d = report && deps.limiter.tryConsume(POLICY, principal.id);
      if (report && d && d.allowed) {
        answer(req, res, validateHead, d, report, 'POST', VALIDATE, started);
        return;
      }
      req.rawBody = bytes;
      req.hotStarted = started;
      app(req, res);
    });
    return true;
  };

  return <Req extends HotRequest, Res extends HotResponse>(
    req: Req,
    res: Res,
    app: (req: Req, res: Res) => void,
  ): boolean => {
    const started = performance.now();
    const url = req.url;
    if (req.method === 'POST') return validate(req, res, app, started);
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
    if (typeof host !== 'string' || typeof authorization !== 'string' || !hostIsPlain(host)) return false;
    if (!singleHeaders(req)) return false;
    const principal = deps.auth.cachedBearer(authorization);
    if (!principal || !principal.scopes.has(SCOPE)) return false;
    const view = deps.peek(id);
    if (!view) return false;
    // Last, the one step with an effect: an admission is counted; a refusal or "ask Redis" is not.
    const d = deps.limiter.tryConsume(POLICY, principal.id);
    if (!d || !d.allowed) return false;
    deps.hit();
    answer(req, res, ruleHead, d, deps.body(view), 'GET', ROUTE, started);
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
