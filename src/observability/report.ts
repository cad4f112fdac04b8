// The part of a generation report that metrics, logs, audit events and stats read, and the stable
// reason codes its free-text failure reasons map to (metric label values, `wafgen stats` rows).
import type { GenerationReport } from '../generation/types.js';

export type ReportLike = Pick<
  GenerationReport,
  'cveId' | 'passed' | 'attempts' | 'engine' | 'usage' | 'costUsd' | 'durationMs' | 'reasons'
> &
  Partial<Pick<GenerationReport, 'producedBy' | 'provider' | 'model' | 'fallback'>>;

/** Why a rule failed its checks, as a small fixed vocabulary. */
export const REASON_CODES = [
  'invalid-rule',
  'compile-error',
  'rule-errors',
  'wcu-over-budget',
  'exploit-missed',
  'variants-missed',
  'false-positive',
  'other',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

const PATTERNS: readonly [RegExp, ReasonCode][] = [
  [/^invalid rule\b/, 'invalid-rule'],
  [/^\d+ error\(s\): /, 'rule-errors'],
  [/^costs \d+ WCU, over the budget/, 'wcu-over-budget'],
  [/^misses \d+ of \d+ exploit request/, 'exploit-missed'],
  [/^blocks \d+ of \d+ evasion variants/, 'variants-missed'],
  [/^blocks \d+ benign request/, 'false-positive'],
  [/\b(statements?|compile|regex|pattern set)\b/i, 'compile-error'],
];

/** The reason code of one line of `report.reasons` (the checks' wording, src/generation/checks.ts). */
export function reasonCode(reason: string): ReasonCode {
  for (const [re, code] of PATTERNS) if (re.test(reason)) return code;
  return 'other';
}

/** Distinct reason codes of a report that did not pass (empty when it passed). */
export function reasonCodes(report: Pick<ReportLike, 'passed' | 'reasons'>): ReasonCode[] {
  if (report.passed) return [];
  const codes = [...new Set(report.reasons.map(reasonCode))];
  return codes.length > 0 ? codes : ['other'];
}

export type Outcome = 'success' | 'failed' | 'error';

export function outcomeOf(report: Pick<ReportLike, 'passed'>): Outcome {
  return report.passed ? 'success' : 'failed';
}
