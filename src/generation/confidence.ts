// How much a rule's checks proved, as one word. A pure function of the test figures and the lint
// outcome: the engine's own guess never decides it, and a rule that was not proven is always `low`.
import type { CheckResult, Confidence } from './types.js';

/**
 * High confidence: the rule blocked at least two exploit requests (so it matches what they share,
 * not one request's accidents) and every one of them, nearly every evasion variant, and not one of
 * a benign sample large enough to mean something; and nothing in it drew a warning.
 */
export const HIGH_CONFIDENCE = {
  minExploitRequests: 2,
  minVariantRate: 0.95,
  minBenignRequests: 3_000,
  maxWarnings: 0,
} as const;

/**
 * Medium confidence: at least one exploit request, all blocked, the variant rate the checks require,
 * and no false positive over a benign sample of a thousand requests or more. Warnings are allowed.
 */
export const MEDIUM_CONFIDENCE = {
  minExploitRequests: 1,
  minVariantRate: 0.9,
  minBenignRequests: 1_000,
} as const;

/** The figures confidence is computed from: what was tested and what the rule did. */
export interface ProvenFigures {
  /** Every check that ran passed (no error, WCU within budget, no miss beyond the allowance, no false positive). */
  passed: boolean;
  evidence: { total: number; blocked: number };
  variants: { total: number; blocked: number };
  benign: { total: number; blocked: number };
}

/** Lint and validation findings of the rule, counted. */
export interface LintCounts {
  errors: number;
  warnings: number;
}

/**
 * `high`, `medium` or `low` from what was proven (thresholds: HIGH_CONFIDENCE, MEDIUM_CONFIDENCE).
 * No evasion variant tested counts as none blocked; an untested or failed rule is always `low`.
 */
export function confidenceOf(checks: ProvenFigures, lint: LintCounts): Confidence {
  const { evidence, variants, benign } = checks;
  if (!checks.passed || lint.errors > 0 || evidence.total === 0) return 'low';
  const allExploitsBlocked = evidence.blocked === evidence.total;
  const variantRate = variants.total === 0 ? 0 : variants.blocked / variants.total;
  const noFalsePositive = benign.blocked === 0;
  const meets = (t: { minExploitRequests: number; minVariantRate: number; minBenignRequests: number }) =>
    allExploitsBlocked &&
    evidence.total >= t.minExploitRequests &&
    variantRate >= t.minVariantRate &&
    noFalsePositive &&
    benign.total >= t.minBenignRequests;
  if (meets(HIGH_CONFIDENCE) && lint.warnings <= HIGH_CONFIDENCE.maxWarnings) return 'high';
  if (meets(MEDIUM_CONFIDENCE)) return 'medium';
  return 'low';
}

/** `confidenceOf` for a check result. */
export function confidenceOfChecks(checks: CheckResult): Confidence {
  return confidenceOf(checks, { errors: checks.errors.length, warnings: checks.warnings.length });
}
