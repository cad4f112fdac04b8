// Lint: the semantic mistakes a seasoned WAF engineer would flag in review. One check per file in
// checks/, one registry here; every code is documented in docs/lint.md.
import type { Rule } from '../waf/model/shapes.generated.js';
import { type WafDocument, rulesOf } from '../waf/schema.js';
import { formatPath, type Finding, type JsonPath } from '../waf/findings.js';
import { walkStatements } from '../waf/statements.js';
import type { LintCheck, LintOptions, Report } from './types.js';
import { bodyOversize } from './checks/body-oversize.js';
import { broadMatch } from './checks/broad-match.js';
import { contradictoryAnd } from './checks/contradictory-and.js';
import { invalidRegex } from './checks/invalid-regex.js';
import { missingDecode } from './checks/missing-decode.js';
import { nonBlockingAction } from './checks/non-blocking-action.js';
import { transformOrder } from './checks/transform-order.js';
import { unmatchableCase } from './checks/unmatchable-case.js';
import { unmatchableField } from './checks/unmatchable-field.js';
import { untraceableName } from './checks/untraceable-name.js';

export type { LintCheck, LintOptions } from './types.js';

export const LINT_CHECKS: readonly LintCheck[] = [
  unmatchableCase,
  unmatchableField,
  contradictoryAnd,
  invalidRegex,
  broadMatch,
  missingDecode,
  transformOrder,
  nonBlockingAction,
  bodyOversize,
  untraceableName,
];

export function lintRule(rule: Rule, path: JsonPath = [], options: LintOptions = {}): Finding[] {
  const findings: Finding[] = [];
  const info = { rule, path, options };
  for (const check of LINT_CHECKS) {
    const report: Report = (p, message, extra) =>
      findings.push({
        code: check.code,
        severity: extra?.severity ?? check.severity,
        path: formatPath(p),
        message,
        fix: extra?.fix ?? check.fix,
      });
    check.rule?.(info, report);
    if (check.statement) {
      walkStatements(rule.Statement, [...path, 'Statement'], (s, ctx) =>
        check.statement!(s, ctx, info, report),
      );
    }
  }
  return findings;
}

export function lintDocument(doc: WafDocument, options: LintOptions = {}): Finding[] {
  const base: JsonPath = doc.kind === 'rule-group' || doc.kind === 'web-acl' ? ['Rules'] : [];
  const rules = rulesOf(doc);
  return rules.flatMap((rule, i) => lintRule(rule, doc.kind === 'rule' ? [] : [...base, i], options));
}
