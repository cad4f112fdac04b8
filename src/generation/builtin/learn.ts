// What the exploit requests of one vulnerability have in common and ordinary traffic does not:
// the endpoint they hit, the parameter and header names they need, literal tokens they carry.
import { queryArgs } from '../../engine/request/model.js';
import type { HttpRequest } from '../../engine/request/model.js';
import { TEXT_TRANSFORMATIONS } from '../../engine/transforms/index.js';

const decode = (s: string): string => TEXT_TRANSFORMATIONS.URL_DECODE_UNI(s).toLowerCase();

/** Path segments up to the first one that carries a payload or a trick (`..`, `;`, odd characters). */
export function endpointOf(req: HttpRequest): string {
  const segments: string[] = [];
  for (const segment of decode(req.path).split('/')) {
    if (segment === '') continue;
    if (segment === '.' || segment === '..' || !/^[a-z0-9._~!@:+-]+$/.test(segment) || segment.length > 80)
      break;
    segments.push(segment);
  }
  return '/' + segments.join('/');
}

function commonPrefix(paths: readonly string[]): string {
  if (paths.length === 0) return '/';
  const split = paths.map((p) => p.split('/').filter(Boolean));
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const seg = split[0]![i];
    if (seg === undefined || split.some((s) => s[i] !== seg)) break;
    out.push(seg);
  }
  return '/' + out.join('/');
}

/** An endpoint is worth scoping to when it is specific and ordinary requests rarely reach it. */
export function distinctive(endpoint: string, benign: readonly HttpRequest[]): boolean {
  const segments = endpoint.split('/').filter(Boolean);
  if (segments.length === 0) return false;
  if (segments.length === 1 && segments[0]!.length < 6) return false;
  const hits = benign.filter((r) => decode(r.path).startsWith(endpoint)).length;
  return hits <= benign.length * 0.01;
}

/**
 * Endpoints that cover every exploit request: requests are grouped by their first segment and each
 * group contributes its common prefix. Empty when the requests share nothing specific.
 */
export function learnEndpoints(exploits: readonly HttpRequest[], benign: readonly HttpRequest[]): string[] {
  const groups = new Map<string, string[]>();
  for (const r of exploits) {
    const e = endpointOf(r);
    const key = e.split('/')[1] ?? '';
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const endpoints = [...groups.values()].map(commonPrefix);
  if (endpoints.length > 4 || endpoints.some((e) => !distinctive(e, benign))) return [];
  return [...new Set(endpoints)];
}

export interface LearnedTokens {
  /** Query parameter names every exploit request sends. */
  params: string[];
  /** Header names every exploit request sends and ordinary traffic rarely does. */
  headers: string[];
  /** Literal tokens in every exploit request (query, body, header values) and in no benign one. */
  tokens: { token: string; component: 'query' | 'body' | 'headers' }[];
}

const COMMON_HEADERS = new Set([
  'host',
  'user-agent',
  'accept',
  'accept-encoding',
  'accept-language',
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
]);

/**
 * Tokens that look generated rather than chosen: scanner markers, callback hosts, hashes, random
 * strings. A rule keyed on them would match one tool's run, not the attack.
 */
export function looksRandom(token: string): boolean {
  if (/oast|interact|burpcollaborator|canarytoken|dnslog|requestbin|pipedream/.test(token)) return true;
  if ((token.match(/\d/g) ?? []).length >= 3) return true;
  if (/[0-9a-f]{8,}/.test(token) && /\d/.test(token)) return true;
  for (const run of token.match(/[a-z]{8,}/g) ?? []) {
    const vowels = (run.match(/[aeiouy]/g) ?? []).length;
    if (vowels / run.length < 0.2) return true;
  }
  return false;
}

function tokensOf(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/[a-z_][a-z0-9_.-]{4,40}/g)) {
    const token = m[0].replace(/[.-]+$/, '');
    if (token.length >= 5 && !looksRandom(token)) out.add(token);
  }
  return out;
}

function intersect(sets: readonly Set<string>[]): Set<string> {
  if (sets.length === 0) return new Set();
  const [first, ...rest] = sets;
  return new Set([...first!].filter((x) => rest.every((s) => s.has(x))));
}

export function learnTokens(exploits: readonly HttpRequest[], benign: readonly HttpRequest[]): LearnedTokens {
  if (exploits.length === 0) return { params: [], headers: [], tokens: [] };
  const params = intersect(
    exploits.map(
      (r) =>
        new Set(
          queryArgs(r.query)
            .map(([k]) => decode(k))
            .filter((k) => k.length >= 2),
        ),
    ),
  );
  const benignHeaderCounts = new Map<string, number>();
  for (const r of benign)
    for (const [k] of r.headers)
      benignHeaderCounts.set(k.toLowerCase(), (benignHeaderCounts.get(k.toLowerCase()) ?? 0) + 1);
  const headers = [
    ...intersect(exploits.map((r) => new Set(r.headers.map(([k]) => k.toLowerCase())))),
  ].filter((h) => !COMMON_HEADERS.has(h) && (benignHeaderCounts.get(h) ?? 0) <= benign.length * 0.005);
  const components = {
    query: (r: HttpRequest) => decode(TEXT_TRANSFORMATIONS.URL_DECODE_UNI(r.query)),
    body: (r: HttpRequest) => decode(r.body ?? ''),
    headers: (r: HttpRequest) => r.headers.map(([, v]) => decode(v)).join('\n'),
  } as const;
  const tokens: LearnedTokens['tokens'] = [];
  for (const component of ['query', 'body', 'headers'] as const) {
    const common = intersect(exploits.map((r) => tokensOf(components[component](r))));
    for (const token of common) {
      if (benign.some((r) => components[component](r).includes(token))) continue;
      tokens.push({ token, component });
    }
  }
  // Longer tokens first: they are the most specific; a handful is enough.
  tokens.sort((a, b) => b.token.length - a.token.length);
  return { params: [...params], headers, tokens: tokens.slice(0, 6) };
}
