import type { Rule, Statement } from '../waf/model/shapes.generated.js';
import type { JsonPath, Severity } from '../waf/findings.js';
import type { VisitContext } from '../waf/statements.js';

export interface LintOptions {
  /** The CVE the rules are meant to patch; names and metric names should carry it. */
  cveId?: string;
  /** Rules generated to stop an exploit must block; set when linting wafgen output. */
  intent?: 'block';
}

export interface Report {
  (path: JsonPath, message: string, extra?: { severity?: Severity; fix?: string }): void;
}

interface RuleInfo {
  rule: Rule;
  path: JsonPath;
  options: LintOptions;
}

/**
 * One lint check: a stable code, a default severity, one line for the docs, one line of fix, and a
 * visitor for rules and/or statements. The registry (index.ts) lists them all.
 */
export interface LintCheck {
  code: string;
  severity: Severity;
  summary: string;
  fix: string;
  rule?: (info: RuleInfo, report: Report) => void;
  statement?: (statement: Statement, ctx: VisitContext, info: RuleInfo, report: Report) => void;
}
