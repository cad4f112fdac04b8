/**
 * @module Which requests of a fixed set a rule blocks, with each leaf statement evaluated once per
 * request however many candidate rules contain it. The generation loop checks every candidate
 * against the same few thousand benign requests, and candidates share most of their leaves (the
 * class signature alone, scoped to an endpoint, OR-ed with tokens…): without this, the loop spends
 * its time re-evaluating the same regex on the same field. Measured on the dev corpus
 * (`npm run bench:quality`): the checks' share of a description-mode generation fell from most of
 * it to a fraction (see the README figures).
 *
 * Leaves are evaluated by the real evaluator (one probe rule each), so the answer is the evaluator's;
 * only And/Or/Not are composed here. A rule whose outcome depends on more than its statement's
 * leaves (labels, rate limits, rule groups, a non-Block action) is evaluated whole.
 */
import { LRUCache } from 'lru-cache';

import type { HttpRequest } from '../requests/model.js';
import type { Rule, Statement } from '../waf/model/shapes.generated.js';
import { compileDocument, isCaught } from './evaluate.js';

/** Leaves remembered per request set: a bounded cache (each entry is one byte per request). */
const MAX_LEAVES = 4_000;

const CONTEXTUAL = [
  'LabelMatchStatement',
  'RateBasedStatement',
  'ManagedRuleGroupStatement',
  'RuleGroupReferenceStatement',
];

const probe = (Statement: Statement): Rule => ({
  Name: 'probe',
  Priority: 0,
  Statement,
  Action: { Block: {} },
  VisibilityConfig: { SampledRequestsEnabled: false, CloudWatchMetricsEnabled: false, MetricName: 'probe' },
});

function composable(s: Statement): boolean {
  if (s.AndStatement) return s.AndStatement.Statements.every(composable);
  if (s.OrStatement) return s.OrStatement.Statements.every(composable);
  if (s.NotStatement) return composable(s.NotStatement.Statement);
  return !CONTEXTUAL.some((k) => k in s);
}

export class RequestSet {
  private readonly leaves = new LRUCache<string, Uint8Array>({ max: MAX_LEAVES });

  constructor(readonly requests: readonly HttpRequest[]) {}

  private leaf(s: Statement): Uint8Array {
    const key = JSON.stringify(s);
    let hits = this.leaves.get(key);
    if (!hits) {
      const compiled = compileDocument({ kind: 'rule', rule: probe(s) }, { trace: false });
      hits = new Uint8Array(this.requests.length);
      for (let i = 0; i < this.requests.length; i++)
        hits[i] = compiled.evaluate(this.requests[i]!).action === 'BLOCK' ? 1 : 0;
      this.leaves.set(key, hits);
    }
    return hits;
  }

  private matches(s: Statement): Uint8Array {
    const n = this.requests.length;
    if (s.AndStatement || s.OrStatement) {
      const and = Boolean(s.AndStatement);
      const out = new Uint8Array(n).fill(and ? 1 : 0);
      for (const child of (s.AndStatement ?? s.OrStatement)!.Statements) {
        const m = this.matches(child);
        for (let i = 0; i < n; i++) out[i] = and ? out[i]! & m[i]! : out[i]! | m[i]!;
      }
      return out;
    }
    if (s.NotStatement) return this.matches(s.NotStatement.Statement).map((v) => 1 - v);
    return this.leaf(s);
  }

  /** The requests `statement` matches, in set order (as a Block rule of that one statement would block). */
  matching(statement: Statement): HttpRequest[] {
    const m = composable(statement) ? this.matches(statement) : undefined;
    if (!m) return this.blockedBy(probe(statement));
    return this.requests.filter((_, i) => m[i] === 1);
  }

  /** The requests `rule` blocks, in set order. */
  blockedBy(rule: Rule): HttpRequest[] {
    if (!('Block' in (rule.Action ?? {})) || !composable(rule.Statement)) {
      const compiled = compileDocument({ kind: 'rule', rule }, { trace: false });
      return this.requests.filter((r) => isCaught('rule', compiled.evaluate(r)));
    }
    const m = this.matches(rule.Statement);
    return this.requests.filter((_, i) => m[i] === 1);
  }
}

const sets = new WeakMap<readonly HttpRequest[], RequestSet>();

/** The set for this array (the same array — the built-in benign corpus — shares one cache per process). */
export function requestSet(requests: readonly HttpRequest[]): RequestSet {
  let set = sets.get(requests);
  if (!set) {
    set = new RequestSet(requests);
    sets.set(requests, set);
  }
  return set;
}
