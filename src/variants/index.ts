// Evasion variants: from one exploit request, the requests an attacker would send for the same attack
// (encoded, re-cased, moved, respelled), so a rule is tested against them and not only the literal
// sample. Each technique lives in ./techniques/ and keeps the attack meaningful to a typical server, one
// that decodes percent-encoding once in path and query and parses form and JSON bodies.
//
// deriveVariants is deterministic (no randomness) and bounded: techniques are visited round-robin, one
// variant at a time, until `max` variants are taken, so a small cap still samples every technique.
// Variants equal to the original or to an earlier variant are dropped.

import { type HttpRequest, asciiLower, buildRequest, hasHeader, setHeader } from '../requests/model.js';
import { type Draft, messageKey } from './parts.js';
import { doubleUrlEncode } from './techniques/double-url-encode.js';
import { headerCase } from './techniques/header-case.js';
import { htmlEntity } from './techniques/html-entity.js';
import { mixedCase } from './techniques/mixed-case.js';
import { movePayload } from './techniques/move-payload.js';
import { paramOrder } from './techniques/param-order.js';
import { pathTricks } from './techniques/path-tricks.js';
import { sqlComment } from './techniques/sql-comment.js';
import { sqlWhitespace } from './techniques/sql-whitespace.js';
import { unicodeEncode } from './techniques/unicode-encode.js';
import { urlEncode } from './techniques/url-encode.js';
import { whitespace } from './techniques/whitespace.js';
import type { VariantTechnique } from './types.js';

export type { VariantTechnique } from './types.js';

/** Every technique, in the order variants are taken. */
export const TECHNIQUES: readonly VariantTechnique[] = [
  urlEncode,
  doubleUrlEncode,
  unicodeEncode,
  mixedCase,
  sqlComment,
  sqlWhitespace,
  pathTricks,
  headerCase,
  paramOrder,
  movePayload,
  htmlEntity,
  whitespace,
];

/** Name and one-line description of every technique, for listing. */
export const VARIANT_TECHNIQUES: readonly { name: string; description: string }[] = TECHNIQUES.map(
  ({ name, description }) => ({ name, description }),
);

export const DEFAULT_MAX_VARIANTS = 24;

export interface VariantOptions {
  /** At most this many variants per request (default 24). */
  max?: number;
  /** Only these techniques (names from VARIANT_TECHNIQUES); all when omitted. */
  techniques?: string[];
}

/** The techniques selected by name; throws on an unknown name. */
function selectTechniques(names?: readonly string[]): VariantTechnique[] {
  if (names === undefined) return [...TECHNIQUES];
  const known = new Map(TECHNIQUES.map((t) => [t.name, t]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) {
    throw new Error(
      `unknown variant technique${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (known: ${[...known.keys()].join(', ')})`,
    );
  }
  const wanted = new Set(names);
  return TECHNIQUES.filter((t) => wanted.has(t.name));
}

interface Candidate {
  technique: string;
  draft: Draft;
  key: string;
  id: string;
}

/** Set Content-Length to the new body's byte length; drop it when the body went away. */
function fixContentLength(original: HttpRequest, d: Draft): [string, string][] {
  const headers = d.headers.map(([n, v]): [string, string] => [n, v]);
  if (d.body === original.body) return headers;
  if (d.body === undefined) return headers.filter(([n]) => asciiLower(n) !== 'content-length');
  if (hasHeader({ headers }, 'transfer-encoding')) return headers;
  setHeader(headers, 'Content-Length', String(d.body.length));
  return headers;
}

/** A technique's drafts, Content-Length fixed, without those equal to the original or to each other. */
function candidatesOf(req: HttpRequest, t: VariantTechnique, originalKey: string): Candidate[] {
  const seen = new Set([originalKey]);
  const kept: { draft: Draft; key: string }[] = [];
  for (const raw of t.derive(req)) {
    const draft = { ...raw, headers: fixContentLength(req, raw) };
    const key = messageKey(draft);
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push({ draft, key });
  }
  // Ids are numbered within the technique, before the cap, so a variant keeps its id whatever `max` is.
  return kept.map(({ draft, key }, i) => ({
    technique: t.name,
    draft,
    key,
    id: `${req.id}~${t.name}${kept.length > 1 ? `-${i + 1}` : ''}`,
  }));
}

function toRequest(req: HttpRequest, c: Candidate): HttpRequest {
  const { path: _path, query: _query, ...init } = req;
  const tags = (req.tags ?? []).filter(
    (t) => t !== 'variant' && !t.startsWith('technique:') && !t.startsWith('variant-form:'),
  );
  tags.push('variant', `technique:${c.technique}`);
  if (c.draft.detail) tags.push(`variant-form:${c.draft.detail}`);
  return buildRequest({
    ...init,
    id: c.id,
    method: c.draft.method,
    uri: c.draft.uri,
    headers: c.draft.headers,
    body: c.draft.body,
    tags,
  });
}

/**
 * Evasion variants of `request`: full requests with id `<id>~<technique>` (`-<n>` when the technique
 * makes several), `expect` and the other fields copied, and tags `variant`, `technique:<name>` and
 * `variant-form:<form>`. Deterministic; at most `max` (default 24); never equal to the original or to
 * each other.
 */
export function deriveVariants(request: HttpRequest, options: VariantOptions = {}): HttpRequest[] {
  const max = options.max ?? DEFAULT_MAX_VARIANTS;
  if (!Number.isInteger(max) || max < 0) throw new Error(`max must be a non-negative integer, got ${max}`);
  const techniques = selectTechniques(options.techniques);
  const originalKey = messageKey(request);
  const queues = techniques.map((t) => candidatesOf(request, t, originalKey));
  const seen = new Set([originalKey]);
  const out: HttpRequest[] = [];
  for (let round = 0; out.length < max; round++) {
    let any = false;
    for (const q of queues) {
      const c = q[round];
      if (c === undefined) continue;
      any = true;
      if (seen.has(c.key)) continue;
      seen.add(c.key);
      out.push(toRequest(request, c));
      if (out.length >= max) break;
    }
    if (!any) break;
  }
  return out;
}
