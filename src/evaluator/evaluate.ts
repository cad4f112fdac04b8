// Rules, rule groups and web ACLs, evaluated as AWS does: rules in ascending priority, the first
// terminating action ends evaluation, Count (and Captcha/Challenge with a valid token, which a
// local request never has) continue, labels added by a matching rule are visible to later rules,
// and the web ACL's default action applies when nothing terminates.
import type { Rule, RuleAction, RuleGroup, WebACL } from '../waf/model/shapes.generated.js';
import type { WafDocument } from '../waf/schema.js';
import type { JsonPath } from '../waf/findings.js';
import type { HttpRequest } from '../requests/model.js';
import { compileStatement, type CompiledStatement, type EvalContext } from './compile.js';
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
): CompiledRule[] {
  return [...rules]
    .map((rule, i) => ({ rule, i }))
    .sort((a, b) => a.rule.Priority - b.rule.Priority)
    .map(({ rule, i }) => {
      const ref = rule.Statement.RuleGroupReferenceStatement;
      const groupDoc = ref ? options.ruleGroups?.[ref.ARN] : undefined;
      if (ref && groupDoc && !seen.has(ref.ARN)) {
        const group = compileGroup(groupDoc, options, new Set([...seen, ref.ARN]));
        return { rule, statement: () => 'unknown' as const, group };
      }
      return {
        rule,
        statement: compileStatement(
          rule.Statement,
          base ? [...base, i, 'Statement'] : ['Statement'],
          options,
        ),
      };
    });
}

function compileGroup(group: RuleGroup, options: EvaluateOptions, seen: Set<string>): CompiledGroup {
  return {
    name: group.Name,
    prefix: ruleGroupPrefix(group.Name),
    rules: compileRules(group.Rules ?? [], ['Rules'], options, seen),
  };
}

function run(
  rules: readonly CompiledRule[],
  req: HttpRequest,
  options: EvaluateOptions,
  labels: string[],
  prefix: string,
  overrides: ReadonlyMap<string, ActionName>,
  namePrefix = '',
): Evaluated {
  const outcomes: RuleOutcome[] = [];
  let uncertain = false;
  const memo = new Map();
  const transformed = new Map();
  for (const { rule, statement, group } of rules) {
    if (group) {
      const ref = rule.Statement.RuleGroupReferenceStatement!;
      const inner = new Map((ref.RuleActionOverrides ?? []).map((o) => [o.Name, actionName(o.ActionToUse)]));
      for (const ex of ref.ExcludedRules ?? []) inner.set(ex.Name, 'COUNT');
      const result = run(
        group.rules,
        req,
        options,
        labels,
        group.prefix,
        inner,
        `${namePrefix}${rule.Name}/`,
      );
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
    const trace: StatementTrace[] | undefined = options.trace === false ? undefined : [];
    const ctx: EvalContext = { req, options, labels, labelPrefix: prefix, memo, transformed, trace };
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
 */
export function compileDocument(doc: WafDocument, options: EvaluateOptions = {}): CompiledDocument {
  let rules: CompiledRule[];
  let prefix: string;
  let defaultAction: ActionName = 'ALLOW';
  switch (doc.kind) {
    case 'rule':
      rules = compileRules([doc.rule], undefined, options, new Set());
      prefix = webAclPrefix('wafgen-test');
      break;
    case 'rules':
      rules = compileRules(doc.rules, [], options, new Set());
      prefix = webAclPrefix('wafgen-test');
      break;
    case 'rule-group':
      rules = compileRules(doc.ruleGroup.Rules ?? [], ['Rules'], options, new Set());
      prefix = ruleGroupPrefix(doc.ruleGroup.Name);
      break;
    case 'web-acl': {
      const acl: WebACL = doc.webAcl;
      rules = compileRules(acl.Rules ?? [], ['Rules'], options, new Set());
      prefix = webAclPrefix(acl.Name);
      defaultAction = acl.DefaultAction.Block ? 'BLOCK' : 'ALLOW';
      break;
    }
  }
  return {
    kind: doc.kind,
    evaluate(req: HttpRequest): Decision {
      const labels = [...(req.labels ?? [])];
      const result = run(rules, req, options, labels, prefix, new Map());
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
