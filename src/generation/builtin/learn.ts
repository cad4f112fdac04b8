// What the exploit requests of one vulnerability have in common and ordinary traffic does not:
// the endpoint they hit, the parameter and header names they need, literal tokens they carry.
import { queryArgs, type HttpRequest } from '../../requests/model.js';
import { TEXT_TRANSFORMATIONS } from '../../evaluator/transforms/index.js';
import { gramFilter, type GramFilter } from './gram-filter.js';

const decode = (s: string): string => TEXT_TRANSFORMATIONS.URL_DECODE_UNI(s).toLowerCase();
/** Paths keep `+` literal (it only means a space in query strings and forms). */
const decodePath = (s: string): string => decode(s.replace(/\+/g, '%2B'));

/**
 * A segment that names one object rather than the handler: a number, a UUID, a hash, a random
 * token. The next exploit sends another one, so an endpoint keeps a wildcard (`*`) in its place.
 */
function isInstanceSegment(segment: string): boolean {
  return (
    /^\d+$/.test(segment) ||
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(segment) ||
    (/^[0-9a-f]{8,}$/.test(segment) && /\d/.test(segment)) ||
    (segment.length >= 12 && /^[a-z0-9_-]+$/.test(segment) && looksRandom(segment))
  );
}

/** Path segments up to the first one that carries a payload or a trick (`..`, `;`, odd characters). */
export function endpointOf(req: HttpRequest): string {
  const segments: string[] = [];
  for (const raw of decodePath(req.path).split('/')) {
    // A path parameter (`;jsessionid=…`, `;x=y`) is not part of the handler's name.
    const segment = raw.replace(/;.*$/, '');
    if (segment === '') continue;
    if (segment === '.' || segment === '..' || !/^[a-z0-9._~!@:+-]+$/.test(segment) || segment.length > 80)
      break;
    segments.push(isInstanceSegment(segment) ? '*' : segment);
    if (raw !== segment) break;
  }
  // A trailing wildcard says nothing about the handler.
  while (segments.at(-1) === '*') segments.pop();
  return '/' + segments.join('/');
}

/** Does a decoded path reach this endpoint (`*` standing for one segment)? Built once per endpoint. */
function reaches(endpoint: string): (path: string) => boolean {
  if (!endpoint.includes('*')) return (path) => path.includes(endpoint);
  // Literal parts and `[^/]+` between them: no nested quantifier, linear on any path.
  // eslint-disable-next-line security/detect-non-literal-regexp -- literal parts escaped, [^/]+ between them: no nested quantifier
  const re = new RegExp(
    endpoint
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]+'),
  );
  return (path) => re.test(path);
}

/**
 * The benign requests as the learners compare them (decoded, lower-cased), worked out once per
 * benign array and kept while the array lives (a WeakMap: the built-in corpus is one array per
 * process, so every generation in it shares this). Before, each endpoint tail, route and token
 * decoded every benign request again: learn.ts was 12% of `node --cpu-prof --import tsx
 * bench/generate.ts` (6.4 s of 52.8 s, ~60 ms per generation), most of it URL_DECODE_UNI and
 * lower-casing of the same 3,552 requests.
 * The arrays are taken as they are when first seen: a benign array is not changed after it is built.
 */
interface BenignView {
  benign: readonly HttpRequest[];
  /** Decoded paths, `+` kept (decodePath). */
  paths: string[];
  /**
   * The paths joined with a newline, and where each one ends: the index just past its last
   * character (its newline, or the text's length for the last path). Counted from the lengths, so a
   * decoded `%0a` inside a path does not move the others.
   */
  joinedPaths: string;
  pathEnds: Int32Array;
  /**
   * Per component (query decoded twice, body, non-common header values), every request's text
   * joined with a newline: one `includes` finds a needle that has no newline.
   */
  joined: Record<Component, string>;
  /** How many benign requests send each header name (lower-cased). */
  headerNames: Map<string, number>;
  /** Per component, a filter that rules most absent needles out without a scan, once built. */
  filters: Partial<Record<Component, GramFilter>>;
  /** Per component, the asks so far (the filter is built after FILTER_AFTER_ASKS). */
  asks: Record<Component, number>;
}

type Component = 'query' | 'body' | 'headers';

/**
 * Asks of a component before its filter is built. Building costs as much as ~45 scans of the same
 * text (both walk every character; for the benign bodies, 2.6 MB: 20–30 ms against 0.52 ms a scan
 * that finds nothing), so it is built once the asks could have cost that much: a process that asks
 * a few times (one `wafgen generate`: 2–3 asks) never pays for it, one that keeps asking (a worker,
 * a batch, the server) pays once and at most twice what the best choice would have cost.
 */
const FILTER_AFTER_ASKS = 48;

const views = new WeakMap<readonly HttpRequest[], BenignView>();

function benignView(benign: readonly HttpRequest[]): BenignView {
  let view = views.get(benign);
  if (view) return view;
  const joined = (c: Component) => benign.map((r) => components[c](r)).join('\n');
  const headerNames = new Map<string, number>();
  for (const r of benign)
    for (const [k] of r.headers) headerNames.set(lower(k), (headerNames.get(lower(k)) ?? 0) + 1);
  const paths = benign.map((r) => decodePath(r.path));
  const pathEnds = new Int32Array(paths.length);
  let end = -1;
  paths.forEach((p, i) => (pathEnds[i] = end += p.length + 1));
  view = {
    benign,
    paths,
    joinedPaths: paths.join('\n'),
    pathEnds,
    joined: { query: joined('query'), body: joined('body'), headers: joined('headers') },
    headerNames,
    filters: {},
    asks: { query: 0, body: 0, headers: 0 },
  };
  views.set(benign, view);
  return view;
}

/**
 * Builds the benign view of this array now (BuiltinEngine.prepare), while the caller waits for
 * something else: ~80 ms of a warm `wafgen generate`'s main thread, done while PGlite opens.
 */
export function prepareBenignView(benign: readonly HttpRequest[]): void {
  benignView(benign);
}

/** Does any benign request carry `needle` in this component? */
function inBenign(view: BenignView, component: Component, needle: string): boolean {
  // A needle without a newline cannot straddle two requests of the joined text; one with a newline
  // (a decoded `%0a` in a route's name) is looked for request by request.
  if (needle.includes('\n')) return view.benign.some((r) => components[component](r).includes(needle));
  const text = view.joined[component];
  let filter = view.filters[component];
  if (!filter && ++view.asks[component] > FILTER_AFTER_ASKS)
    filter = view.filters[component] = gramFilter(text);
  if (filter && !filter.mayContain(needle)) return false;
  return text.includes(needle);
}

function commonSuffix(paths: readonly string[]): string[] {
  const split = paths.map((p) => p.split('/').filter(Boolean));
  const out: string[] = [];
  for (let i = 1; ; i++) {
    const seg = split[0]![split[0]!.length - i];
    if (seg === undefined || split.some((s) => s[s.length - i] !== seg)) break;
    out.unshift(seg);
  }
  return out;
}

/** An endpoint is worth scoping to when it is specific and ordinary requests rarely reach it. */
export function distinctive(endpoint: string, benign: readonly HttpRequest[], tolerance = 0.01): boolean {
  const segments = endpoint.split('/').filter((s) => s !== '' && s !== '*');
  if (segments.length === 0) return false;
  if (segments.length === 1 && segments[0]!.length < 6) return false;
  const limit = benign.length * tolerance;
  const view = benignView(benign);
  if (!endpoint.includes('*') && !endpoint.includes('\n'))
    return pathsContaining(view, endpoint, limit) <= limit;
  const reached = reaches(endpoint);
  let hits = 0;
  for (const path of view.paths) if (reached(path) && ++hits > limit) return false;
  return true;
}

/**
 * How many benign paths contain `needle` (no newline in it), counted to just past `limit`: an
 * `indexOf` over the joined paths from one hit to the next path, instead of an `includes` per path.
 * The per-path loop (3,552 calls an endpoint, several endpoints a generation) was 5.9% of a queue
 * worker's main thread (`npm run bench:queue -- --modes 1x0 --profile DIR`, the last 5 s).
 */
function pathsContaining(view: BenignView, needle: string, limit: number): number {
  const { joinedPaths, pathEnds } = view;
  let hits = 0;
  let from = 0;
  let path = 0;
  while (hits <= limit) {
    const at = joinedPaths.indexOf(needle, from);
    if (at === -1) break;
    // The path holding `at` (hits come in order, so the search only moves forward).
    while (pathEnds[path]! < at) path++;
    hits++;
    from = pathEnds[path]! + 1;
  }
  return hits;
}

/**
 * The shortest distinctive tail of the segments the requests share at the end. Applications are
 * mounted under different prefixes (`/manage/log/view` and `/log/view` are the same handler), so
 * the tail is what identifies the vulnerable code; the shortest distinctive one generalises best.
 */
function endpointTail(paths: readonly string[], benign: readonly HttpRequest[]): string | undefined {
  const shared = commonSuffix(paths);
  // The shortest tail no ordinary request reaches; failing that, the shortest one few reach (a
  // legitimate endpoint such as a password reset, where the payload test must do the rest).
  for (const tolerance of [0, 0.01]) {
    for (let k = 1; k <= shared.length; k++) {
      if (shared[shared.length - k] === '*') continue; // a tail never starts with a wildcard
      const tail = '/' + shared.slice(shared.length - k).join('/');
      if (k >= Math.min(2, shared.length) && distinctive(tail, benign, tolerance)) return tail;
    }
  }
  return undefined;
}

/**
 * Endpoints that cover every exploit request: requests are grouped by their last path segment and
 * each group contributes its shortest distinctive tail. Empty when they share nothing specific.
 */
export function learnEndpoints(exploits: readonly HttpRequest[], benign: readonly HttpRequest[]): string[] {
  const groups = new Map<string, string[]>();
  for (const r of exploits) {
    const e = endpointOf(r);
    const key = e.split('/').at(-1) ?? '';
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const endpoints = [...groups.values()].map((paths) => endpointTail(paths, benign));
  if (endpoints.length > 4 || endpoints.some((e) => e === undefined)) return [];
  return [...new Set(endpoints as string[])];
}

/**
 * Query parameters every exploit request sets to the same route-like value (`rest_route=/a/b`,
 * `service=page/setup`) that no ordinary request carries: the handler's name when the path is `/`.
 * Returned as `name=value`, decoded and lower-cased.
 */
export function learnRoutes(exploits: readonly HttpRequest[], benign: readonly HttpRequest[]): string[] {
  const routeLike = /^\/?[a-z0-9_.~-]+(?:\/[a-z0-9_.~-]+)+\/?$/;
  const sets = exploits.map(
    (r) =>
      new Set(
        queryArgs(r.query)
          .map(([k, v]) => [decode(k), decode(v)] as const)
          .filter(
            ([k, v]) =>
              k.length >= 1 &&
              routeLike.test(v) &&
              !v.split('/').some((seg) => seg && isInstanceSegment(seg)),
          )
          .map(([k, v]) => `${k}=${v}`),
      ),
  );
  const view = benignView(benign);
  return [...intersect(sets)].filter((route) => !inBenign(view, 'query', route)).slice(0, 2);
}

export interface LearnedTokens {
  /** Query parameter names every exploit request sends. */
  params: string[];
  /** Header names every exploit request sends and ordinary traffic rarely does. */
  headers: string[];
  /** Literal tokens in every exploit request (query, body, header values) and in no benign one. */
  tokens: { token: string; component: 'query' | 'body' | 'headers' }[];
}

/** Headers every client sends: their names say nothing and their values describe the test bed. */
const COMMON_HEADERS = new Set([
  'host',
  'user-agent',
  'accept',
  'accept-encoding',
  'accept-language',
  'accept-charset',
  'connection',
  'content-type',
  'content-length',
  'cookie',
  'referer',
  'origin',
  'cache-control',
  'pragma',
  'upgrade-insecure-requests',
  'authorization',
  'x-requested-with',
  'x-forwarded-for',
]);

/**
 * Tokens that look generated rather than chosen: scanner markers, callback hosts, hashes, random
 * strings. A rule keyed on them would match one tool's run, not the attack.
 */
export function looksRandom(token: string): boolean {
  if (/oast|interact|burpcollaborator|canarytoken|dnslog|requestbin|pipedream/.test(token)) return true;
  if ((token.match(/\d/g) ?? []).length >= 3) return true;
  if (/[0-9a-f]{8,}/.test(token) && /\d/.test(token)) return true;
  // Five consonants in a row hardly occur in words people choose (`xzpqk`), often in random ones.
  if (/[bcdfghjklmnpqrstvwxz]{5,}/.test(token)) return true;
  for (const run of token.match(/[a-z]{6,}/g) ?? []) {
    const vowels = (run.match(/[aeiouy]/g) ?? []).length;
    if (vowels / run.length < 0.25) return true;
  }
  return false;
}

/** Tokens with structure (`class.module.classloader`, `x-silock-transaction`) or long words. */
function tokensOf(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/[a-z_][a-z0-9_.-]{4,40}/g)) {
    // A name (`name=`, `"name":`) is the application's vocabulary, not the attacker's.
    const after = text.slice(m.index + m[0].length, m.index + m[0].length + 2);
    if (after.startsWith('=') || after.startsWith('":')) continue;
    const token = m[0].replace(/[._-]+$/, '');
    // Host names and addresses describe the test bed (`target.example`, a callback domain), not the attack.
    if (/\.(?:example|com|net|org|io|fun|me|local|internal|test|invalid|localhost|site|xyz)$/.test(token))
      continue;
    if (text[m.index - 1] === '@' || text[m.index + m[0].length] === '@') continue;
    const structured = /[._-]/.test(token.slice(1));
    if (token.length >= 5 && (structured || token.length >= 8) && !looksRandom(token)) out.add(token);
  }
  return out;
}

function intersect(sets: readonly Set<string>[]): Set<string> {
  if (sets.length === 0) return new Set();
  const [first, ...rest] = sets;
  return new Set([...first!].filter((x) => rest.every((s) => s.has(x))));
}

const lower = (s: string): string => s.toLowerCase();

/** The text of each component tokens are learned from (decoded, lower-cased). */
const components = {
  query: (r: HttpRequest) => decode(TEXT_TRANSFORMATIONS.URL_DECODE_UNI(r.query)),
  body: (r: HttpRequest) => decode(r.body ?? ''),
  headers: (r: HttpRequest) =>
    r.headers
      .filter(([k]) => !COMMON_HEADERS.has(lower(k)))
      .map(([, v]) => decode(v))
      .join('\n'),
} as const;

export function learnTokens(exploits: readonly HttpRequest[], benign: readonly HttpRequest[]): LearnedTokens {
  if (exploits.length === 0) return { params: [], headers: [], tokens: [] };
  const paramSets = exploits.map(
    (r) =>
      new Set(
        queryArgs(r.query)
          .map(([k]) => decode(k))
          .filter((k) => k.length >= 2),
      ),
  );
  const view = benignView(benign);
  const headers = [...intersect(exploits.map((r) => new Set(r.headers.map(([k]) => lower(k)))))].filter(
    (h) => !COMMON_HEADERS.has(h) && (view.headerNames.get(h) ?? 0) <= benign.length * 0.005,
  );
  const tokens: LearnedTokens['tokens'] = [];
  for (const component of ['query', 'body', 'headers'] as const) {
    for (const token of intersect(exploits.map((r) => tokensOf(components[component](r))))) {
      if (!inBenign(view, component, token)) tokens.push({ token, component });
    }
  }
  // Longer tokens first: they are the most specific; a handful is enough.
  tokens.sort((a, b) => b.token.length - a.token.length);
  return { params: [...intersect(paramSets)], headers, tokens: tokens.slice(0, 6) };
}
