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
  Partial<Pick<GenerationReport, 'producedBy' | 'provider' | 'model' | 'fallback' | 'reasonCodes'>>;

const KNOWN: ReadonlySet<string> = new Set(REASON_CODES);

/**
 * Distinct reason codes of a report that did not pass (empty when it passed). A report without
 * codes (stored before reports carried them) counts as `other`: its wording is never parsed.
 */
export function reasonCodes(report: Pick<ReportLike, 'passed' | 'reasonCodes'>): ReasonCode[] {
  if (report.passed) return [];
  const codes = [...new Set((report.reasonCodes ?? []).filter((c) => KNOWN.has(c)))];
  return codes.length > 0 ? codes : ['other'];
}

export type Outcome = 'success' | 'failed' | 'error';

export function outcomeOf(report: Pick<ReportLike, 'passed'>): Outcome {
  return report.passed ? 'success' : 'failed';
}
