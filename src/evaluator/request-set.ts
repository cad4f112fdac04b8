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
 *
 * A leaf is evaluated only on the requests whose answer still depends on it: And/Or short-circuit
 * per request, children already known going first (an endpoint that no benign request reaches
 * leaves nothing for the tokens AND-ed with it), and a leaf's outcomes are kept per request. The
 * leaves an Or still needs are evaluated together, one compiled document of Count probes, so those
 * on the same field share its extraction and transformations. Measured with `npm run
 * bench:generate` (103 bundled CVEs, shared 2-CPU machine): median CPU per generation 106 -> 37 ms
 * (with learn.ts's benign view), the same rules produced.
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

/** What is known of one leaf on one request. */
const UNKNOWN = 0;
const NO = 1;
const YES = 2;

/** A request mask: 1 where the request is in it. */
type Mask = Uint8Array;

export class RequestSet {
  /** Per leaf, per request: UNKNOWN, NO or YES (a leaf is evaluated only on the requests asked about). */
  private readonly leaves = new LRUCache<string, Uint8Array>({ max: MAX_LEAVES });

  /** Leaf outcomes worked out so far (one per leaf per request): what the shortcuts save shows here. */
  evaluations = 0;

  constructor(readonly requests: readonly HttpRequest[]) {}

  private states(key: string): Uint8Array {
    let states = this.leaves.get(key);
    if (!states) {
      states = new Uint8Array(this.requests.length);
      this.leaves.set(key, states);
    }
    return states;
  }

  /** Is `s` known on every request of `among`, so evaluating it costs nothing? */
  private known(s: Statement, among: Mask): boolean {
    const children = s.AndStatement?.Statements ?? s.OrStatement?.Statements;
    if (children) return children.every((c) => this.known(c, among));
    if (s.NotStatement) return this.known(s.NotStatement.Statement, among);
    const states = this.leaves.get(JSON.stringify(s));
    if (!states) return false;
    for (let i = 0; i < among.length; i++) if (among[i] && states[i] === UNKNOWN) return false;
    return true;
  }

  /**
   * Evaluate leaves where they are unknown on `among`, all in one pass per request: one compiled
   * document with a Count rule per leaf, so leaves on the same field share its extraction and
   * transformations (the evaluator memoises them per request, across the document's rules).
   */
  private evaluateLeaves(statements: readonly Statement[], among: Mask): void {
    const todo = statements
      .map((s) => ({ s, states: this.states(JSON.stringify(s)) }))
      .filter(({ states }, i, all) => all.findIndex((o) => o.states === states) === i);
    const wanted = new Uint8Array(among.length);
    let any = false;
    for (let i = 0; i < among.length; i++) {
      if (among[i] && todo.some(({ states }) => states[i] === UNKNOWN)) {
        wanted[i] = 1;
        any = true;
      }
    }
    if (!any) return;
    const rules = todo.map(({ s }, i) => ({
      ...probe(s),
      Name: `p${i}`,
      Priority: i,
      Action: { Count: {} },
    }));
    const compiled = compileDocument({ kind: 'rules', rules }, { trace: false });
    for (let i = 0; i < wanted.length; i++) {
      if (!wanted[i]) continue;
      const matched = new Set(
        compiled
          .evaluate(this.requests[i]!)
          .rules.filter((r) => r.verdict === true)
          .map((r) => r.rule),
      );
      todo.forEach(({ states }, j) => {
        if (states[i] !== UNKNOWN) return;
        states[i] = matched.has(`p${j}`) ? YES : NO;
        this.evaluations++;
      });
    }
  }

  /** Which requests of `among` the statement matches (0 outside `among`). */
  private matches(s: Statement, among: Mask): Mask {
    const n = this.requests.length;
    const children = s.AndStatement?.Statements ?? s.OrStatement?.Statements;
    if (children) {
      const and = Boolean(s.AndStatement);
      // Children already known cost nothing: they go first and narrow where the others must be
      // evaluated (an endpoint no benign request reaches leaves nothing for the tokens AND-ed with it).
      const known = children.filter((c) => this.known(c, among));
      const rest = children.filter((c) => !known.includes(c));
      // Requests whose outcome is still open; for And, those matched so far.
      const open = among.slice();
      const out = new Uint8Array(n);
      const apply = (child: Statement) => {
        const m = this.matches(child, open);
        for (let i = 0; i < n; i++) {
          if (!open[i]) continue;
          if (and && !m[i]) open[i] = 0;
          else if (!and && m[i]) {
            out[i] = 1;
            open[i] = 0;
          }
        }
      };
      for (const c of known) apply(c);
      // Or: the leaves left are needed on every request still open, so they are evaluated together.
      if (!and) this.evaluateLeaves(rest.filter(isLeaf), open);
      for (const c of rest) apply(c);
      return and ? open : out;
    }
    if (s.NotStatement) {
      const m = this.matches(s.NotStatement.Statement, among);
      return among.map((v, i) => (v && !m[i] ? 1 : 0));
    }
    this.evaluateLeaves([s], among);
    const states = this.leaves.get(JSON.stringify(s))!;
    return among.map((v, i) => (v && states[i] === YES ? 1 : 0));
  }

  private all(): Mask {
    return new Uint8Array(this.requests.length).fill(1);
  }

  /** The requests `statement` matches, in set order (as a Block rule of that one statement would block). */
  matching(statement: Statement): HttpRequest[] {
    if (!composable(statement)) return this.blockedBy(probe(statement));
    const m = this.matches(statement, this.all());
    return this.requests.filter((_, i) => m[i] === 1);
  }

  /** The requests `rule` blocks, in set order. */
  blockedBy(rule: Rule): HttpRequest[] {
    if (!('Block' in (rule.Action ?? {})) || !composable(rule.Statement)) {
      const compiled = compileDocument({ kind: 'rule', rule }, { trace: false });
      return this.requests.filter((r) => isCaught('rule', compiled.evaluate(r)));
    }
    const m = this.matches(rule.Statement, this.all());
    return this.requests.filter((_, i) => m[i] === 1);
  }
}

const isLeaf = (s: Statement): boolean => !s.AndStatement && !s.OrStatement && !s.NotStatement;

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
