// Pure planning over a rule list: where a rule goes, what changed. Rules are matched by Name (AWS
// identifies rules by name in overrides, logs and metrics). Existing rules are never renumbered: a new
// rule takes a free priority after every existing one (or the one asked for, if free); a rule that
// replaces one of the same name keeps that rule's priority and place in the list.
import type { Rule as SdkRule } from '@aws-sdk/client-wafv2';

import { canonical } from './convert.js';
import { DeployError } from './errors.js';

export interface RuleChange {
  change: 'added' | 'changed' | 'removed';
  name: string;
  /** Priority after the change (before it, for a removed rule). */
  priority: number | undefined;
  /** Top-level members that differ (changed rules only), e.g. Action, Statement. */
  fields: string[];
  actionBefore?: string;
  actionAfter?: string;
}

/** `Count`, `Block`, … or `override:None` for rule-group references. */
export function actionName(rule: SdkRule): string {
  const action =
    rule.Action && Object.keys(rule.Action).find((k) => rule.Action![k as 'Block'] !== undefined);
  if (action) return action;
  const override =
    rule.OverrideAction &&
    Object.keys(rule.OverrideAction).find((k) => rule.OverrideAction![k as 'None'] !== undefined);
  return override ? `override:${override}` : 'none';
}

export function nextFreePriority(rules: readonly SdkRule[]): number {
  return rules.reduce((max, r) => Math.max(max, (r.Priority ?? -1) + 1), 0);
}

export interface Placement {
  rules: SdkRule[];
  priority: number;
  replaced: SdkRule | undefined;
  notes: string[];
}

/** Put `rule` into the list: replace the rule of the same name in place, or add it at a free priority. */
export function placeRule(
  rules: readonly SdkRule[],
  rule: SdkRule,
  options: { priority?: number } = {},
): Placement {
  const notes: string[] = [];
  const index = rules.findIndex((r) => r.Name === rule.Name);
  const existing = index >= 0 ? rules[index] : undefined;
  if (existing) {
    const priority = existing.Priority ?? 0;
    if (options.priority !== undefined && options.priority !== priority)
      notes.push(`${rule.Name} keeps its priority ${priority} (--priority applies to new rules only)`);
    const out = [...rules];
    out[index] = { ...rule, Priority: priority };
    return { rules: out, priority, replaced: existing, notes };
  }
  let priority = nextFreePriority(rules);
  if (options.priority !== undefined) {
    const taken = rules.find((r) => r.Priority === options.priority);
    if (taken)
      throw new DeployError(
        `priority ${options.priority} is taken by rule ${taken.Name}; choose a free one (next free: ${priority})`,
        'state',
      );
    priority = options.priority;
  }
  return { rules: [...rules, { ...rule, Priority: priority }], priority, replaced: undefined, notes };
}

export function diffRules(before: readonly SdkRule[], after: readonly SdkRule[]): RuleChange[] {
  const byName = (rules: readonly SdkRule[]) => {
    const m = new Map<string, SdkRule>();
    for (const r of rules) if (r.Name !== undefined && !m.has(r.Name)) m.set(r.Name, r);
    return m;
  };
  const old = byName(before);
  const now = byName(after);
  const changes: RuleChange[] = [];
  for (const [name, rule] of now) {
    const prev = old.get(name);
    if (!prev) {
      changes.push({
        change: 'added',
        name,
        priority: rule.Priority,
        fields: [],
        actionAfter: actionName(rule),
      });
      continue;
    }
    const keys = [...new Set([...Object.keys(prev), ...Object.keys(rule)])].sort();
    const fields = keys.filter(
      (k) => canonical(prev[k as keyof SdkRule]) !== canonical(rule[k as keyof SdkRule]),
    );
    if (fields.length > 0)
      changes.push({
        change: 'changed',
        name,
        priority: rule.Priority,
        fields,
        actionBefore: actionName(prev),
        actionAfter: actionName(rule),
      });
  }
  for (const [name, rule] of old) {
    if (!now.has(name))
      changes.push({
        change: 'removed',
        name,
        priority: rule.Priority,
        fields: [],
        actionBefore: actionName(rule),
      });
  }
  return changes;
}
