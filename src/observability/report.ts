/**
 * @module The part of a generation report that metrics, logs, audit events and stats read, and its
 * reason codes (metric label values, `wafgen stats` rows). The codes come from the checks
 * themselves (src/generation/checks.ts), never from the wording of a message.
 */
import { REASON_CODES, type GenerationReport, type ReasonCode } from '../generation/types.js';

export { REASON_CODES, type ReasonCode };

export type ReportLike = Pick<
  GenerationReport,
  'cveId' | 'passed' | 'attempts' | 'engine' | 'usage' | 'costUsd' | 'durationMs' | 'reasons'
> &
  Partial<
    Pick<GenerationReport, 'producedBy' | 'provider' | 'model' | 'fallback' | 'reasonCodes' | 'verdict'>
  >;

const KNOWN: ReadonlySet<string> = new Set(REASON_CODES);

/**
 * Distinct reason codes of a report that did not pass (empty when it passed, i.e. was proven). An
 * untested rule (no check failed, no exploit request to test) carries `no-exploit-tested`. A report
 * without codes (stored before reports carried them) counts as `other`: its wording is never parsed.
 */
export function reasonCodes(report: Pick<ReportLike, 'passed' | 'reasonCodes'>): ReasonCode[] {
  if (report.passed) return [];
  const codes = [...new Set((report.reasonCodes ?? []).filter((c) => KNOWN.has(c)))];
  return codes.length > 0 ? codes : ['other'];
}

export type Outcome = 'success' | 'failed' | 'error';

/**
 * success: the rule was proven; failed: a rule came out but was not proven (a check failed, or it
 * is untested: reason code `no-exploit-tested` tells the two apart); error: no rule came out (an
 * engine failure, or no candidate at all).
 */
export function outcomeOf(report: Pick<ReportLike, 'passed'>): Outcome {
  return report.passed ? 'success' : 'failed';
}
