// Rules, rule groups and web ACLs, evaluated as AWS does: rules in ascending priority, the first
// terminating action ends evaluation, Count (and Captcha/Challenge with a valid token, which a
// local request never has) continue, labels added by a matching rule are visible to later rules,
// and the web ACL's default action applies when nothing terminates.
import type { Rule, RuleAction, RuleGroup, WebACL } from '../waf/model/shapes.generated.js';
import type { WafDocument } from '../waf/schema.js';
import type { JsonPath } from '../waf/findings.js';
import type { HttpRequest } from '../requests/model.js';
import { LRUCache } from 'lru-cache';

import { compileStatement, Slots, type CompiledStatement, type EvalContext } from './compile.js';
import { canonicalKey } from './canonical.js';
import { qualifyLabel, ruleGroupPrefix, webAclPrefix } from './labels.js';
import type { EvaluateOptions } from './options.js';
import type { StatementTrace, Verdict } from './trace.js';

type ActionName = 'BLOCK' | 'ALLOW' | 'COUNT' | 'CAPTCHA' | 'CHALLENGE' | 'MONETIZE';

interface RuleOutcome {
  /** Rule name; `group/rule` for rules inside a referenced rule group. */
  rule: string;
  verdict: Verdict;
  action: ActionName;
  /** Action as configured before an OverrideAction or RuleActionOverride changed it. */
  overriddenFrom?: ActionName;
  labels: string[];
  trace: StatementTrace[];
}

export interface Decision {
  /** The terminating action, or the default action (`terminatingRule` = 'Default_Action'). */
  action: ActionName;
  terminatingRule: string;
  /** Path of the statement that decided it, in the terminating rule. */
  terminatingStatement?: string;
  /** Rules that matched (including Count) and rules that could not be judged. */
  rules: RuleOutcome[];
  labels: string[];
  /** Some rule before the decision could not be judged locally; AWS might decide differently. */
  uncertain: boolean;
}

const actionName = (a: RuleAction): ActionName =>
  a.Block
    ? 'BLOCK'
    : a.Allow
      ? 'ALLOW'
      : a.Count
        ? 'COUNT'
        : a.Captcha
          ? 'CAPTCHA'
          : a.Challenge
            ? 'CHALLENGE'
            : 'MONETIZE';

const TERMINATING: ReadonlySet<ActionName> = new Set(['BLOCK', 'ALLOW', 'CAPTCHA', 'CHALLENGE', 'MONETIZE']);

interface CompiledRule {
  rule: Rule;
  statement: CompiledStatement;
  /** For a rule-group reference we can evaluate: the compiled group. */
  group?: CompiledGroup;
}

interface CompiledGroup {
  name: string;
  prefix: string;
  rules: CompiledRule[];
}

interface Evaluated {
  terminating?: { action: ActionName; rule: string; statement?: string };
  outcomes: RuleOutcome[];
  uncertain: boolean;
}

/** `base` is the path of the rules list, or undefined for a lone rule (whose statement is at $.Statement). */
function compileRules(
  rules: readonly Rule[],
  base: JsonPath | undefined,
  options: EvaluateOptions,
  seen: Set<string>,
  slots: Slots,
): CompiledRule[] {
  return [...rules]
    .map((rule, i) => ({ rule, i }))
    .sort((a, b) => a.rule.Priority - b.rule.Priority)
    .map(({ rule, i }) => {
      const ref = rule.Statement.RuleGroupReferenceStatement;
      const groupDoc = ref ? options.ruleGroups?.[ref.ARN] : undefined;
      if (ref && groupDoc && !seen.has(ref.ARN)) {
        const group = compileGroup(groupDoc, options, new Set([...seen, ref.ARN]), slots);
        return { rule, statement: () => 'unknown' as const, group };
      }
      return {
        rule,
        statement: compileStatement(
          rule.Statement,
          base ? [...base, i, 'Statement'] : ['Statement'],
          options,
          slots,
        ),
      };
    });
}

function compileGroup(
  group: RuleGroup,
  options: EvaluateOptions,
  seen: Set<string>,
  slots: Slots,
): CompiledGroup {
  return {
    name: group.Name,
    prefix: ruleGroupPrefix(group.Name),
    rules: compileRules(group.Rules ?? [], ['Rules'], options, seen, slots),
  };
}

/**
 * Runs `rules` for one request. `ctx` is the request's context (its memo is shared by every rule,
 * nested groups included); `prefix` is the label namespace of these rules.
 */
function run(
  rules: readonly CompiledRule[],
  ctx: EvalContext,
  prefix: string,
  overrides: ReadonlyMap<string, ActionName>,
  namePrefix = '',
): Evaluated {
  const outcomes: RuleOutcome[] = [];
  let uncertain = false;
  const tracing = ctx.options.trace !== false;
  const labels = ctx.labels as string[];
  for (const { rule, statement, group } of rules) {
    if (group) {
      const ref = rule.Statement.RuleGroupReferenceStatement!;
      const inner = new Map((ref.RuleActionOverrides ?? []).map((o) => [o.Name, actionName(o.ActionToUse)]));
      for (const ex of ref.ExcludedRules ?? []) inner.set(ex.Name, 'COUNT');
      const result = run(group.rules, ctx, group.prefix, inner, `${namePrefix}${rule.Name}/`);
      outcomes.push(...result.outcomes);
      uncertain ||= result.uncertain;
      if (result.terminating) {
        if (rule.OverrideAction?.Count) {
          outcomes.push({
            rule: namePrefix + rule.Name,
            verdict: true,
            action: 'COUNT',
            overriddenFrom: result.terminating.action,
            labels: [],
            trace: [],
          });
        } else {
          return { terminating: result.terminating, outcomes, uncertain };
        }
      }
      continue;
    }
    const trace: StatementTrace[] | undefined = tracing ? [] : undefined;
    ctx.labelPrefix = prefix;
    ctx.trace = trace;
    const verdict = statement(ctx);
    const name = namePrefix + rule.Name;
    if (verdict === 'unknown') {
      uncertain = true;
      outcomes.push({
        rule: name,
        verdict,
        action: rule.Action ? actionName(rule.Action) : 'COUNT',
        labels: [],
        trace: trace ?? [],
      });
      continue;
    }
    if (!verdict) continue;
    const configured = rule.Action ? actionName(rule.Action) : 'COUNT';
    const action = overrides.get(rule.Name) ?? configured;
    const added = (rule.RuleLabels ?? []).map((l) => qualifyLabel(l.Name, prefix));
    labels.push(...added);
    outcomes.push({
      rule: name,
      verdict,
      action,
      ...(action !== configured ? { overriddenFrom: configured } : {}),
      labels: added,
      trace: trace ?? [],
    });
    if (TERMINATING.has(action)) {
      const decisive = trace?.filter((t) => t.verdict === true).at(-1)?.path;
      return {
        terminating: { action, rule: name, ...(decisive ? { statement: decisive } : {}) },
        outcomes,
        uncertain,
      };
    }
  }
  return { outcomes, uncertain };
}

export interface CompiledDocument {
  kind: WafDocument['kind'];
  evaluate(req: HttpRequest): Decision;
}

/**
 * Compile any rule document once; evaluate many requests. A lone Rule or a list of Rules runs as a
 * web ACL with default action Allow; a RuleGroup runs as a web ACL holding just that group.
 *
 * Structurally equal documents with equal options give the same compiled document for the life of
 * the process (a bounded LRU, see `documents`): the generation loop, `wafgen test`, the API and the
 * worker compile the same candidates and rule sets over and over. A compiled document holds no
 * per-request state (the memo lives in each evaluation's context) and is compiled from a private
 * copy of the document and options, so a caller changing its objects afterwards changes nothing.
 */
export function compileDocument(doc: WafDocument, options: EvaluateOptions = {}): CompiledDocument {
  const keyed = keyedOptions(options);
  let key: string | undefined;
  try {
    key = canonicalKey([doc, keyed]);
  } catch {
    // Not plain data (or absurdly deep): compile it as it is, uncached.
    return compileFresh(doc, options);
  }
  if (key.length > MAX_CACHED_KEY) return compileFresh(doc, options);
  const hit = documents.get(key);
  if (hit) return hit;
  const compiled = compileFresh(structuredClone(doc), structuredClone(keyed));
  documents.set(key, compiled);
  return compiled;
}

/**
 * Every option goes into the cache key, as each changes either the compiled statements (pattern
 * sets, IP sets, rule groups, trace) or what a request's fields hold (resource, bodyLimit). Listing
 * them here makes adding an option a compile error until it is keyed too.
 */
const OPTION_KEYS: { readonly [K in keyof Required<EvaluateOptions>]: true } = {
  resource: true,
  bodyLimit: true,
  ipSets: true,
  regexPatternSets: true,
  ruleGroups: true,
  trace: true,
};

function keyedOptions(options: EvaluateOptions): EvaluateOptions {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(OPTION_KEYS) as (keyof EvaluateOptions)[]) {
    if (options[k] !== undefined) out[k] = options[k];
  }
  // trace defaults to on: {} and { trace: true } compile the same.
  out.trace = options.trace !== false;
  return out as EvaluateOptions;
}

/**
 * The per-process cache of compiled documents, bounded by count and by the total length of the keys
 * (a compiled document's size follows its document's). A document whose key is longer than
 * MAX_CACHED_KEY (a 10 MB SearchString, say) is compiled every time and never cached.
 */
const MAX_CACHED_KEY = 256 * 1024;
const documents = new LRUCache<string, CompiledDocument>({
  max: 500,
  maxSize: 32 * 2 ** 20,
  maxEntrySize: MAX_CACHED_KEY,
  sizeCalculation: (_doc, key) => Math.max(1, key.length),
});

/** For tests: how many compiled documents the cache holds, and its limits. */
export function documentCacheStats(): { size: number; max: number; maxKeyLength: number } {
  return { size: documents.size, max: documents.max, maxKeyLength: MAX_CACHED_KEY };
}

/**
 * The top level's rule action overrides: none (only a rule group reference has them). One map for
 * every request: a new one per evaluation was 5% of the bytes built-in generation allocated, which
 * evaluates leaves over thousands of requests (V8's sampling heap profiler, 103 bundled CVEs).
 */
const NO_OVERRIDES: ReadonlyMap<string, ActionName> = new Map();

function compileFresh(doc: WafDocument, options: EvaluateOptions): CompiledDocument {
  let rules: CompiledRule[];
  let prefix: string;
  let defaultAction: ActionName = 'ALLOW';
  const slots = new Slots();
  switch (doc.kind) {
    case 'rule':
      rules = compileRules([doc.rule], undefined, options, new Set(), slots);
      prefix = webAclPrefix('wafgen-test');
      break;
    case 'rules':
      rules = compileRules(doc.rules, [], options, new Set(), slots);
      prefix = webAclPrefix('wafgen-test');
      break;
    case 'rule-group':
      rules = compileRules(doc.ruleGroup.Rules ?? [], ['Rules'], options, new Set(), slots);
      prefix = ruleGroupPrefix(doc.ruleGroup.Name);
      break;
    case 'web-acl': {
      const acl: WebACL = doc.webAcl;
      rules = compileRules(acl.Rules ?? [], ['Rules'], options, new Set(), slots);
      prefix = webAclPrefix(acl.Name);
      defaultAction = acl.DefaultAction.Block ? 'BLOCK' : 'ALLOW';
      break;
    }
  }
  const { fieldCount, chainCount } = slots;
  // The per-request memo, cleared for each request rather than made anew: evaluation is synchronous
  // and never re-entered, and built-in generation evaluates one document over thousands of requests
  // (two arrays a request were a tenth of what it allocated; V8's sampling heap profiler).
  const fields = new Array<EvalContext['fields'][number]>(fieldCount).fill(undefined);
  const chains = new Array<EvalContext['chains'][number]>(chainCount).fill(undefined);
  return {
    kind: doc.kind,
    evaluate(req: HttpRequest): Decision {
      const labels = [...(req.labels ?? [])];
      fields.fill(undefined);
      chains.fill(undefined);
      const ctx: EvalContext = {
        req,
        options,
        labels,
        labelPrefix: prefix,
        fields,
        chains,
        trace: undefined,
      };
      const result = run(rules, ctx, prefix, NO_OVERRIDES);
      const t = result.terminating;
      return {
        action: t?.action ?? defaultAction,
        terminatingRule: t?.rule ?? 'Default_Action',
        ...(t?.statement ? { terminatingStatement: t.statement } : {}),
        rules: result.outcomes,
        labels,
        uncertain: result.uncertain,
      };
    },
  };
}

/** Did the document stop the request? Blocked, or challenged; for a lone rule, also a Count match. */
export function isCaught(doc: WafDocument['kind'], decision: Decision): boolean {
  if (decision.action === 'BLOCK' || decision.action === 'CAPTCHA' || decision.action === 'CHALLENGE')
    return true;
  return (
    (doc === 'rule' || doc === 'rules') &&
    decision.rules.some((r) => r.verdict === true && r.action === 'COUNT')
  );
}
