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

/**
 * Leaf outcomes remembered per request set, in bytes (an entry: one byte per request, its key's
 * UTF-16 bytes, and LEAF_OVERHEAD): 16 MiB, about 4,000 leaves of the built-in benign corpus (3,552
 * requests, keys of a few hundred characters). Bounded by size, not by a count: lru-cache allocates
 * and fills arrays of `max` slots when a cache is made (`Array.from({ length: max })`), and a set is
 * made for every exploit array a generation looks at — with `max: 4000` that was 2.9% of a queue
 * worker's main thread, and more garbage (`npm run bench:queue -- --modes 1x0 --profile DIR`, the
 * last 5 s). By size it allocates as it fills.
 */
const MAX_LEAF_BYTES = 16 * 1024 * 1024;
/** What an entry costs besides its states and its key (the objects around them), roughly. */
const LEAF_OVERHEAD = 128;

const CONTEXTUAL = [
  'LabelMatchStatement',
  'RateBasedStatement',
  'ManagedRuleGroupStatement',
  'RuleGroupReferenceStatement',
];

const PROBE_VISIBILITY = {
  SampledRequestsEnabled: false,
  CloudWatchMetricsEnabled: false,
  MetricName: 'probe',
};

const probe = (Statement: Statement): Rule => ({
  Name: 'probe',
  Priority: 0,
  Statement,
  Action: { Block: {} },
  VisibilityConfig: PROBE_VISIBILITY,
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

interface Leaf {
  /** Per request: UNKNOWN, NO or YES (a leaf is evaluated only on the requests asked about). */
  states: Uint8Array;
  /** How many requests are still UNKNOWN: at 0 the leaf is known everywhere and nothing is scanned. */
  unknown: number;
}

/**
 * A leaf's cache key, worked out once per statement object (candidates share their leaf objects:
 * the endpoint, the signature, the tokens). JSON.stringify of every leaf on every visit was a
 * visible share of a check whose leaves are all known (`npm run bench:generate`, profiled).
 */
const keys = new WeakMap<Statement, string>();
function keyOf(s: Statement): string {
  let key = keys.get(s);
  if (key === undefined) {
    key = JSON.stringify(s);
    keys.set(s, key);
  }
  return key;
}

export class RequestSet {
  private readonly leaves: LRUCache<string, Leaf>;

  /** Leaf outcomes worked out so far (one per leaf per request): what the shortcuts save shows here. */
  evaluations = 0;

  /**
   * `maxLeafBytes` bounds what it remembers (the least recently used leaves go first; a leaf larger
   * than the bound is worked out and not kept).
   */
  constructor(
    readonly requests: readonly HttpRequest[],
    maxLeafBytes = MAX_LEAF_BYTES,
  ) {
    if (!Number.isSafeInteger(maxLeafBytes) || maxLeafBytes < 1)
      throw new RangeError(`maxLeafBytes must be a positive whole number, not ${maxLeafBytes}`);
    this.leaves = new LRUCache<string, Leaf>({
      maxSize: maxLeafBytes,
      sizeCalculation: (leaf, key) => leaf.states.length + key.length * 2 + LEAF_OVERHEAD,
    });
  }

  /**
   * What is known of each leaf, most recently used first, at most `max` leaves: for a cache that
   * outlives the process (`recall` takes it back). Each entry is a leaf's key and its states (0
   * unknown, 1 no, 2 yes, per request in set order); the arrays are the set's own, not copies.
   */
  knownLeaves(max: number): [string, Uint8Array][] {
    const out: [string, Uint8Array][] = [];
    for (const [key, leaf] of this.leaves.entries()) {
      if (out.length >= max) break;
      if (leaf.unknown < leaf.states.length) out.push([key, leaf.states]);
    }
    return out;
  }

  /**
   * Takes back what `knownLeaves` gave, on a set of the same requests in the same order, evaluated
   * by the same evaluator: the caller's key must say so (the answers are trusted as the
   * evaluator's). Anything malformed is skipped: a key longer than `maxKeyLength`, states of another
   * length or with a value other than 0-2. What this set already knows of a leaf is kept. More than
   * `maxEntries` entries is refused whole (a sparse array of a few bytes can claim billions). Returns
   * how many leaves it took.
   */
  recall(entries: unknown, maxKeyLength = 64 * 1024, maxEntries = 65_536): number {
    if (!Array.isArray(entries) || entries.length > maxEntries) return 0;
    const n = this.requests.length;
    let taken = 0;
    // Least recently used first, so the cache's order comes back as it was.
    for (let e = entries.length - 1; e >= 0; e--) {
      const entry: unknown = entries[e];
      if (!Array.isArray(entry) || entry.length !== 2) continue;
      const [key, states] = entry as unknown[];
      if (typeof key !== 'string' || key.length > maxKeyLength || this.leaves.has(key)) continue;
      if (!(states instanceof Uint8Array) || states.length !== n) continue;
      let unknown = 0;
      let valid = true;
      for (let i = 0; i < n; i++) {
        const v = states[i]!;
        if (v > YES) valid = false;
        else if (v === UNKNOWN) unknown++;
      }
      if (!valid) continue;
      this.leaves.set(key, { states: new Uint8Array(states), unknown });
      taken++;
    }
    return taken;
  }

  private leaf(s: Statement): Leaf {
    const key = keyOf(s);
    let leaf = this.leaves.get(key);
    if (!leaf) {
      leaf = { states: new Uint8Array(this.requests.length), unknown: this.requests.length };
      this.leaves.set(key, leaf);
    }
    return leaf;
  }

  /** Is `s` known on every request of `among`, so evaluating it costs nothing? */
  private known(s: Statement, among: Mask): boolean {
    const children = s.AndStatement?.Statements ?? s.OrStatement?.Statements;
    if (children) return children.every((c) => this.known(c, among));
    if (s.NotStatement) return this.known(s.NotStatement.Statement, among);
    const leaf = this.leaves.get(keyOf(s));
    if (!leaf) return false;
    if (leaf.unknown === 0) return true;
    const { states } = leaf;
    for (let i = 0; i < among.length; i++) if (among[i] && states[i] === UNKNOWN) return false;
    return true;
  }

  /**
   * Evaluate leaves where they are unknown on `among`, all in one pass per request: one compiled
   * document with a Count rule per leaf, so leaves on the same field share its extraction and
   * transformations (the evaluator memoises them per request, across the document's rules).
   * Returns each statement's leaf, in order.
   */
  private evaluateLeaves(statements: readonly Statement[], among: Mask): Leaf[] {
    const leaves = statements.map((s) => this.leaf(s));
    const todo: { s: Statement; leaf: Leaf }[] = [];
    statements.forEach((s, i) => {
      const leaf = leaves[i]!;
      if (leaf.unknown > 0 && !todo.some((t) => t.leaf === leaf)) todo.push({ s, leaf });
    });
    if (todo.length === 0) return leaves;
    const wanted: number[] = [];
    for (let i = 0; i < among.length; i++) {
      if (!among[i]) continue;
      for (const { leaf } of todo) {
        if (leaf.states[i] === UNKNOWN) {
          wanted.push(i);
          break;
        }
      }
    }
    if (wanted.length === 0) return leaves;
    // Written out, not `{ ...probe(s), … }`: V8 deoptimised this function at the spread (wrong
    // map) on most calls, and the request loop below then ran unoptimised until it was compiled
    // again (`node --trace-deopt` over `npm run bench:generate`: 184 of its 186 deopts).
    const rules: Rule[] = todo.map(({ s }, i) => ({
      Name: `p${i}`,
      Priority: i,
      Statement: s,
      Action: { Count: {} },
      VisibilityConfig: PROBE_VISIBILITY,
    }));
    const index = new Map(rules.map((r, i) => [r.Name, i]));
    const compiled = compileDocument({ kind: 'rules', rules }, { trace: false });
    const matched = new Uint8Array(todo.length);
    for (const i of wanted) {
      matched.fill(0);
      for (const r of compiled.evaluate(this.requests[i]!).rules)
        if (r.verdict === true) matched[index.get(r.rule)!] = 1;
      todo.forEach(({ leaf }, j) => {
        if (leaf.states[i] !== UNKNOWN) return;
        leaf.states[i] = matched[j] ? YES : NO;
        leaf.unknown--;
        this.evaluations++;
      });
    }
    return leaves;
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
    const out = new Uint8Array(n);
    if (s.NotStatement) {
      const m = this.matches(s.NotStatement.Statement, among);
      for (let i = 0; i < n; i++) out[i] = among[i] && !m[i] ? 1 : 0;
      return out;
    }
    const { states } = this.evaluateLeaves([s], among)[0]!;
    for (let i = 0; i < n; i++) out[i] = among[i] && states[i] === YES ? 1 : 0;
    return out;
  }

  /**
   * For each statement, the requests it matches (as `matching` answers), with the leaves still
   * unknown evaluated together: one pass per request for all of them.
   */
  matchingEach(statements: readonly Statement[]): HttpRequest[][] {
    const all = this.all();
    this.evaluateLeaves(
      statements.filter((s) => isLeaf(s) && composable(s)),
      all,
    );
    return statements.map((s) => this.matching(s));
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
