// What a report says, built only from what was tested: the verdict (proven, untested, failed), the
// one-line headline every interface prints or returns, and what the rule was not tested against.
import { formatCount } from '../core/format.js';
import type { Finding } from '../waf/findings.js';
import { confidenceOf } from './confidence.js';
import { VERDICTS, type CheckResult, type Confidence, type GenerationReport, type Verdict } from './types.js';

/** The formats `--evidence` reads. */
export const EVIDENCE_FORMATS = 'test-case JSONL, raw HTTP, nuclei template, HAR, WAF log';
/** How to give wafgen exploit requests, for the untested headline. */
const EVIDENCE_HINT = `supply exploit requests with --evidence <file> (${EVIDENCE_FORMATS})`;

/** The `no-exploit-tested` reason line. */
export const NO_EXPLOIT_REASON =
  'no exploit request to test against: nothing shows the rule blocks the exploit';

/**
 * proven: every check passed and at least one exploit request was tested (and so blocked);
 * untested: no check failed but there was no exploit request to test; failed: a check failed.
 */
export function verdictOf(checks: Pick<CheckResult, 'passed' | 'errors' | 'reasons' | 'evidence'>): Verdict {
  const { evidence } = checks;
  if (!checks.passed || checks.errors.length > 0 || checks.reasons.length > 0) return 'failed';
  if (evidence.blocked < evidence.total) return 'failed';
  return evidence.total === 0 ? 'untested' : 'proven';
}

const count = formatCount;
const plural = (n: number, one: string, many = `${one}s`) => (n === 1 ? one : many);

type Tests = Pick<GenerationReport['tests'], 'evidence' | 'variants' | 'benign'>;

function benignPart(t: Tests): string {
  return t.benign.total === 0
    ? 'no benign traffic tested'
    : `${count(t.benign.blocked)} of ${count(t.benign.total)} benign ${plural(t.benign.total, 'request')} blocked`;
}

/** "2 warnings: broad-match, missing-decode" (each code once), or '' without warnings. */
function warningsPart(warnings: readonly Pick<Finding, 'code'>[]): string {
  if (warnings.length === 0) return '';
  const codes = [...new Set(warnings.map((w) => w.code))];
  return `${count(warnings.length)} ${plural(warnings.length, 'warning')}: ${codes.join(', ')}`;
}

export interface SummaryInput {
  cveId: string;
  verdict: Verdict;
  tests: Tests;
  reasons: readonly string[];
  warnings: readonly Pick<Finding, 'code'>[];
}

/**
 * The headline, one line:
 * - `CVE-…: proven — blocks 3/3 exploit requests and 36/36 evasion variants; 0 of 3,412 benign requests blocked`
 * - `CVE-…: untested — no exploit request to test the rule against, so it is not shown to block the exploit; 0 of 3,552 benign requests blocked; supply exploit requests with --evidence <file> (…)`
 * - `CVE-…: failed — <each reason, separated by "; ">`
 * followed by `; N warnings: code, code` when there are warnings.
 */
export function summaryOf(r: SummaryInput): string {
  const t = r.tests;
  let body: string;
  if (r.verdict === 'proven') {
    const variants =
      t.variants.total === 0
        ? ' (no evasion variant could be derived from them)'
        : ` and ${count(t.variants.blocked)}/${count(t.variants.total)} evasion ${plural(t.variants.total, 'variant')}`;
    body = `blocks ${count(t.evidence.blocked)}/${count(t.evidence.total)} exploit ${plural(t.evidence.total, 'request')}${variants}; ${benignPart(t)}`;
  } else if (r.verdict === 'untested') {
    body = `no exploit request to test the rule against, so it is not shown to block the exploit; ${benignPart(t)}; ${EVIDENCE_HINT}`;
  } else {
    body = r.reasons.length > 0 ? r.reasons.join('; ') : 'a check failed';
  }
  const warnings = warningsPart(r.warnings);
  return `${r.cveId}: ${r.verdict} — ${body}${warnings ? `; ${warnings}` : ''}`;
}

/** What the checks did not cover, one item each, most important first. */
export function notTestedAgainst(t: Tests, benignSupplied: boolean): string[] {
  const out: string[] = [];
  if (t.evidence.total === 0) out.push('any exploit request');
  else out.push('exploit requests of other payload families than those supplied');
  if (t.evidence.total > 0 && t.variants.total === 0)
    out.push('evasion variants (none could be derived from the exploit requests)');
  if (t.benign.total === 0) out.push('any benign traffic');
  else if (!benignSupplied)
    out.push(
      "your applications' own traffic (only wafgen's built-in benign traffic; add yours with --benign)",
    );
  out.push("live traffic and AWS WAF itself (the checks ran in wafgen's local evaluator)");
  return out;
}

// --- reports read back from the store or a cache, possibly written before verdicts existed ---------

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const figures = (v: unknown): { total: number; blocked: number } => {
  const o = isRecord(v) ? v : {};
  return {
    total: typeof o.total === 'number' ? o.total : 0,
    blocked: typeof o.blocked === 'number' ? o.blocked : 0,
  };
};

function storedTests(report: Record<string, unknown>): Tests {
  const t = isRecord(report.tests) ? report.tests : {};
  const evidence = figures(t.evidence);
  const variants = figures(t.variants);
  const benign = figures(t.benign);
  return {
    evidence: { ...evidence, missed: [] },
    variants: { ...variants, missed: [] },
    benign: { ...benign, falsePositives: [] },
  };
}

const storedWarnings = (report: Record<string, unknown>): Pick<Finding, 'code'>[] =>
  Array.isArray(report.warnings)
    ? report.warnings.map((w) => ({ code: isRecord(w) && typeof w.code === 'string' ? w.code : 'warning' }))
    : [];

/**
 * The verdict of a stored report. Reports written before verdicts existed said `passed` when no
 * check failed, with or without an exploit request: those without one read as `untested`.
 */
export function storedVerdict(report: unknown): Verdict {
  if (!isRecord(report)) return 'failed';
  if (VERDICTS.includes(report.verdict as Verdict)) return report.verdict as Verdict;
  if (report.passed !== true) return 'failed';
  return storedTests(report).evidence.total > 0 ? 'proven' : 'untested';
}

/** The confidence of a stored report: its own when it has a verdict, else computed from its figures. */
export function storedConfidence(report: unknown): Confidence {
  if (!isRecord(report)) return 'low';
  if (
    VERDICTS.includes(report.verdict as Verdict) &&
    ['high', 'medium', 'low'].includes(report.confidence as string)
  )
    return report.confidence as Confidence;
  const verdict = storedVerdict(report);
  return confidenceOf(
    { passed: verdict !== 'failed', ...storedTests(report) },
    { errors: 0, warnings: storedWarnings(report).length },
  );
}

/** The headline of a stored report: its own, else built from its figures. */
export function storedSummary(report: unknown, cveId: string): string {
  if (isRecord(report) && typeof report.summary === 'string' && VERDICTS.includes(report.verdict as Verdict))
    return report.summary;
  const r = isRecord(report) ? report : {};
  return summaryOf({
    cveId,
    verdict: storedVerdict(report),
    tests: storedTests(r),
    reasons: Array.isArray(r.reasons) ? r.reasons.filter((x): x is string => typeof x === 'string') : [],
    warnings: storedWarnings(r),
  });
}
