// The checks every candidate goes through: schema and API constraints, lint errors, the WCU budget,
// and the local evaluator on the exploit requests, their evasion variants and the benign sample.
import { validateRuleDocument } from '../lint/validate.js';
import { compileDocument, isCaught, requestSet, RuleCompileError } from '../evaluator/index.js';
import type { HttpRequest } from '../requests/model.js';
import type { Rule } from '../waf/model/shapes.generated.js';
import { RegexCompileError } from '../waf/regex.js';
import type { CheckResult, ReasonCode } from './types.js';

export interface CheckContext {
  cveId: string;
  exploits: readonly HttpRequest[];
  variants: readonly HttpRequest[];
  benign: readonly HttpRequest[];
  /** Largest WCU a generated rule may cost. */
  wcuBudget: number;
  /** Share of evasion variants that must be blocked (0–1). */
  minVariantRate: number;
}

const techniqueOf = (r: HttpRequest): string | undefined =>
  r.tags?.find((t) => t.startsWith('technique:'))?.slice('technique:'.length);

export function checkRule(rule: Rule, ctx: CheckContext): CheckResult {
  const validation = validateRuleDocument(rule, { cveId: ctx.cveId, intent: 'block' });
  const errors = validation.findings.filter((f) => f.severity === 'error');
  const warnings = validation.findings.filter((f) => f.severity === 'warning');
  const result: CheckResult = {
    errors,
    warnings,
    wcu: validation.wcu ?? 0,
    evidence: { total: ctx.exploits.length, blocked: 0, missed: [] },
    variants: { total: ctx.variants.length, blocked: 0, missed: [] },
    benign: { total: ctx.benign.length, blocked: 0, falsePositives: [] },
    passed: false,
    reasons: [],
    reasonCodes: [],
  };
  const fail = (code: ReasonCode, message: string): void => {
    result.reasons.push(message);
    result.reasonCodes.push(code);
  };
  if (!validation.document) {
    fail('invalid-rule', `invalid rule: ${errors[0]?.path} ${errors[0]?.message}`);
    return result;
  }
  let compiled;
  try {
    compiled = compileDocument(validation.document, { trace: false });
  } catch (e) {
    // A statement the evaluator cannot run (too deep, a regex RE2 rejects) is a failed check, not a crash.
    if (!(e instanceof RuleCompileError) && !(e instanceof RegexCompileError)) throw e;
    fail('compile-error', e.message);
    return result;
  }
  const caught = (r: HttpRequest) => isCaught('rule', compiled.evaluate(r));
  for (const r of ctx.exploits) {
    if (caught(r)) result.evidence.blocked++;
    else result.evidence.missed.push({ id: r.id });
  }
  for (const r of ctx.variants) {
    if (caught(r)) result.variants.blocked++;
    else result.variants.missed.push({ id: r.id, ...(techniqueOf(r) ? { technique: techniqueOf(r)! } : {}) });
  }
  // The benign corpus is the same for every candidate: its leaf outcomes are shared between them.
  const falsePositives =
    validation.document.kind === 'rule'
      ? requestSet(ctx.benign).blockedBy(validation.document.rule)
      : ctx.benign.filter(caught);
  // Traced only when something must be explained (most candidates block no benign request).
  const traced = falsePositives.length > 0 ? compileDocument(validation.document) : undefined;
  for (const r of falsePositives) {
    result.benign.blocked++;
    const d = traced!.evaluate(r);
    result.benign.falsePositives.push({
      id: r.id,
      ...(d.terminatingStatement ? { statement: d.terminatingStatement } : {}),
    });
  }
  if (errors.length > 0)
    fail('rule-errors', `${errors.length} error(s): ${errors[0]!.code} at ${errors[0]!.path}`);
  if (result.wcu > ctx.wcuBudget)
    fail('wcu-over-budget', `costs ${result.wcu} WCU, over the budget of ${ctx.wcuBudget}`);
  if (result.evidence.missed.length > 0) {
    fail(
      'exploit-missed',
      `misses ${result.evidence.missed.length} of ${result.evidence.total} exploit request(s): ${result.evidence.missed
        .slice(0, 3)
        .map((m) => m.id)
        .join(', ')}`,
    );
  }
  const variantRate = result.variants.total === 0 ? 1 : result.variants.blocked / result.variants.total;
  if (variantRate < ctx.minVariantRate) {
    fail(
      'variants-missed',
      `blocks ${result.variants.blocked} of ${result.variants.total} evasion variants (needs ${Math.round(ctx.minVariantRate * 100)}%)`,
    );
  }
  if (result.benign.blocked > 0) {
    fail(
      'false-positive',
      `blocks ${result.benign.blocked} benign request(s): ${result.benign.falsePositives
        .slice(0, 3)
        .map((m) => m.id)
        .join(', ')}`,
    );
  }
  result.passed = result.reasons.length === 0;
  return result;
}

/**
 * Order two checked candidates by outcome: passing first, then no errors, fewer benign requests
 * blocked, fewer exploit requests missed, more evasion variants blocked (only among failing ones:
 * every passing candidate blocks enough). Returns 0 when the outcomes are equally good; the
 * engine's own preference (specific over blunt) and the WCU then decide.
 */
export function compareChecks(a: CheckResult, b: CheckResult): number {
  const variantRate = (c: CheckResult) =>
    c.variants.total === 0 ? 1 : c.variants.blocked / c.variants.total;
  const key = (c: CheckResult) => [
    c.passed ? 0 : 1,
    c.errors.length > 0 ? 1 : 0,
    c.benign.blocked,
    c.evidence.total - c.evidence.blocked,
    c.passed ? 0 : -variantRate(c),
  ];
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
  return 0;
}
