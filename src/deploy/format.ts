// A deployment as people read it: which rules were added, changed or removed (with a line diff of
// each changed rule), capacity before and after, and what to do next.
import type { Rule as SdkRule } from '@aws-sdk/client-wafv2';
import { structuredPatch } from 'diff';

import { kindWord } from './client.js';
import { fromSdkRule } from './convert.js';
import type { DeployResult } from './deploy.js';

export interface FormatOptions {
  /** Colour functions (picocolors); identity by default. */
  color?: {
    green(s: string): string;
    red(s: string): string;
    yellow(s: string): string;
    dim(s: string): string;
    bold(s: string): string;
  };
}

const plain = { green: id, red: id, yellow: id, dim: id, bold: id };
function id(s: string): string {
  return s;
}

const RULE_KEY_ORDER = [
  'Name',
  'Priority',
  'Action',
  'OverrideAction',
  'Statement',
  'RuleLabels',
  'VisibilityConfig',
  'CaptchaConfig',
  'ChallengeConfig',
];

/** Keys in one order whatever built the object (the SDK and wafgen order members differently). */
function ordered(value: unknown, top = false): unknown {
  if (Array.isArray(value)) return value.map((v) => ordered(v));
  if (value === null || typeof value !== 'object') return value;
  const rank = (k: string) =>
    top && RULE_KEY_ORDER.includes(k) ? RULE_KEY_ORDER.indexOf(k) : RULE_KEY_ORDER.length;
  const keys = Object.keys(value).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return Object.fromEntries(keys.map((k) => [k, ordered((value as Record<string, unknown>)[k])]));
}

/** Lines of a pretty JSON rule, SearchStrings as text. */
function ruleLines(rule: SdkRule): string[] {
  return JSON.stringify(ordered(fromSdkRule(rule), true), null, 2).split('\n');
}

/** Edits beyond which a rule diff is not worth printing (Myers' algorithm costs O((N+M)·D)). */
const MAX_DIFF_EDITS = 500;

/**
 * Line diff (jsdiff): `  ` unchanged, `- ` removed, `+ ` added lines, `context` unchanged lines around each
 * change and `  …` between hunks; `null` when the inputs differ in more than MAX_DIFF_EDITS lines.
 */
export function lineDiff(a: readonly string[], b: readonly string[], context = 2): string[] | null {
  const text = (lines: readonly string[]) => (lines.length > 0 ? `${lines.join('\n')}\n` : '');
  const patch = structuredPatch('', '', text(a), text(b), undefined, undefined, {
    context,
    maxEditLength: MAX_DIFF_EDITS,
  });
  if (!patch) return null;
  return patch.hunks.flatMap((hunk, i) => [
    ...(i > 0 ? ['  …'] : []),
    ...hunk.lines.map((line) => `${line[0]} ${line.slice(1)}`), // ' ', '-' or '+', then the line
  ]);
}

const OUTCOME = {
  updated: 'updated',
  unchanged: 'unchanged (already as asked)',
  'dry-run': 'dry run: nothing sent',
} as const;

export function formatDeployResult(result: DeployResult, options: FormatOptions = {}): string {
  const c = options.color ?? plain;
  const t = result.target;
  const lines: string[] = [];
  lines.push(
    `${c.bold(`${kindWord(t.kind)} ${t.name}`)} (${t.scope}${t.region ? `, ${t.region}` : ''}): ${
      result.outcome === 'dry-run' ? c.yellow(OUTCOME[result.outcome]) : OUTCOME[result.outcome]
    }`,
  );
  const beforeByName = new Map(result.before.map((r) => [r.Name, r]));
  const afterByName = new Map(result.after.map((r) => [r.Name, r]));
  for (const ch of result.changes) {
    if (ch.change === 'added') {
      lines.push(c.green(`  + ${ch.name}  priority ${ch.priority}, ${ch.actionAfter}`));
    } else if (ch.change === 'removed') {
      lines.push(c.red(`  - ${ch.name}  priority ${ch.priority}, ${ch.actionBefore}`));
    } else {
      const action = ch.actionBefore !== ch.actionAfter ? `, ${ch.actionBefore} → ${ch.actionAfter}` : '';
      lines.push(
        c.yellow(`  ~ ${ch.name}  priority ${ch.priority}${action}; changed: ${ch.fields.join(', ')}`),
      );
      const before = beforeByName.get(ch.name);
      const after = afterByName.get(ch.name);
      const diff = before && after ? lineDiff(ruleLines(before), ruleLines(after)) : null;
      if (diff)
        for (const l of diff)
          lines.push(`      ${l.startsWith('+') ? c.green(l) : l.startsWith('-') ? c.red(l) : c.dim(l)}`);
    }
  }
  const unchanged = result.after.length - result.changes.filter((ch) => ch.change !== 'removed').length;
  lines.push(c.dim(`  ${unchanged} other rule${unchanged === 1 ? '' : 's'} unchanged`));
  const cap = result.capacity;
  const fmt = (n: number | undefined) => (n === undefined ? '?' : String(n));
  lines.push(
    `  capacity: ${fmt(cap.before)} → ${fmt(cap.after)} WCU of ${cap.limit}` +
      (cap.rule !== undefined ? ` (${result.ruleName}: ${cap.rule} WCU by wafgen's count)` : ''),
  );
  if (result.soak)
    lines.push(
      `  soak: in Count since ${result.soak.countSince}, ${result.soak.matches} sampled matches ` +
        `(${result.soak.window.start} – ${result.soak.window.end})`,
    );
  if (result.attempts > 1) lines.push(c.dim(`  ${result.attempts} attempts (lock-token conflicts retried)`));
  for (const n of result.notes) lines.push(c.dim(`  note: ${n}`));
  return lines.join('\n') + '\n';
}

/** One line saying what happened, and the next step of the staged rollout. */
export function summarizeDeployResult(result: DeployResult): string {
  const where = `${kindWord(result.target.kind)} ${result.target.name}`;
  const version = result.version !== undefined ? ` (version ${result.version})` : '';
  const at = result.priority !== undefined ? ` at priority ${result.priority}` : '';
  const verb =
    result.outcome === 'dry-run' ? 'would be' : result.outcome === 'unchanged' ? 'stays' : 'is now';
  if (result.removed) return `${result.ruleName} ${verb === 'is now' ? 'was' : verb} removed from ${where}`;
  return `${result.ruleName}${version} ${verb} in ${where}${at} with action ${result.action ?? '?'}`;
}
