// The generation loop: engine → candidates → checks → feedback → next attempt, up to maxAttempts.
// The result is the best candidate with a report that says only what was proven: its verdict
// (proven, untested, failed), the headline built from the figures, what it was not tested against,
// and a confidence computed from the checks. No candidate at all is the NoRuleError outcome.
import type { HttpRequest } from '../requests/model.js';
import { deriveVariants } from '../variants/index.js';
import { metricName, ruleName } from '../waf/naming.js';
import type { Rule, Statement } from '../waf/model/shapes.generated.js';
import { checkRule, compareChecks, type CheckContext } from './checks.js';
import { confidenceOfChecks } from './confidence.js';
import { evidenceNeeded, NoRuleError } from './no-rule.js';
import type {
  Candidate,
  CandidateRecord,
  CheckResult,
  Engine,
  GenerationInput,
  GenerationResult,
  Judge,
  JudgeRecord,
  Proposal,
  ReasonCode,
  Recognised,
  Usage,
} from './types.js';
import { NO_EXPLOIT_REASON, notTestedAgainst, summaryOf, verdictOf } from './verdict.js';

export interface LoopOptions {
  maxAttempts?: number;
  /** Largest WCU the generated rule may cost (default 500). */
  wcuBudget?: number;
  /** Share of evasion variants that must be blocked (default 0.9). */
  minVariantRate?: number;
  /** Variants derived per exploit request (default 12). */
  variantsPerRequest?: number;
  /** Engine to fall back to when the primary one fails outright (LLM providers all down). */
  fallback?: Engine;
  /**
   * A second model that attacks the chosen rule: its proposed bypasses and legitimate requests are
   * run through the evaluator; one it fails asks for one more correction round, else is a veto.
   */
  judge?: Judge;
  onStep?: (message: string) => void;
}

/**
 * The judge's requests as checks of their own: its bypasses are exploit requests there (each must be
 * blocked) and its legitimate requests benign ones. Merged into the candidate's checks as variants
 * and benign requests, with a reason line each when the rule fails them.
 */
function withJudge(main: CheckResult, judged: CheckResult | undefined): CheckResult {
  if (!judged) return main;
  const reasons = [...main.reasons];
  const reasonCodes: ReasonCode[] = [...main.reasonCodes];
  const ids = (list: readonly { id: string }[]) =>
    list
      .slice(0, 3)
      .map((m) => m.id)
      .join(', ');
  if (judged.evidence.missed.length > 0) {
    reasons.push(
      `misses ${judged.evidence.missed.length} of ${judged.evidence.total} bypass request(s) the judge proposed: ${ids(judged.evidence.missed)}`,
    );
    reasonCodes.push('variants-missed');
  }
  if (judged.benign.blocked > 0) {
    reasons.push(
      `blocks ${judged.benign.blocked} of ${judged.benign.total} legitimate request(s) the judge proposed: ${ids(judged.benign.falsePositives)}`,
    );
    reasonCodes.push('false-positive');
  }
  return {
    ...main,
    variants: {
      total: main.variants.total + judged.evidence.total,
      blocked: main.variants.blocked + judged.evidence.blocked,
      missed: [...main.variants.missed, ...judged.evidence.missed],
    },
    benign: {
      total: main.benign.total + judged.benign.total,
      blocked: main.benign.blocked + judged.benign.blocked,
      falsePositives: [...main.benign.falsePositives, ...judged.benign.falsePositives],
    },
    passed: main.passed && reasons.length === main.reasons.length,
    reasons,
    reasonCodes,
  };
}

/** Most candidates asked for in parallel per attempt. */
export const MAX_CANDIDATES = 8;

export function buildRule(cveId: string, statement: Statement): Rule {
  const name = ruleName(cveId);
  return {
    Name: name,
    Priority: 0,
    Statement: statement,
    Action: { Block: {} },
    RuleLabels: [{ Name: `wafgen:${cveId.toUpperCase()}` }],
    VisibilityConfig: {
      SampledRequestsEnabled: true,
      CloudWatchMetricsEnabled: true,
      MetricName: metricName(name),
    },
  };
}

export function deriveAllVariants(exploits: readonly HttpRequest[], perRequest: number): HttpRequest[] {
  return exploits.flatMap((r) => deriveVariants(r, { max: perRequest }));
}

export async function runGeneration(
  input: GenerationInput,
  engine: Engine,
  options: LoopOptions = {},
): Promise<GenerationResult> {
  const started = Date.now();
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const cveId = input.record.id;
  const step = options.onStep ?? (() => {});
  const ctx: CheckContext = {
    cveId,
    exploits: input.exploits,
    variants: deriveAllVariants(input.exploits, options.variantsPerRequest ?? 12),
    benign: input.benign,
    wcuBudget: options.wcuBudget ?? 500,
    minVariantRate: options.minVariantRate ?? 0.9,
  };
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  let costUsd = 0;
  type Best = { rule: Rule; checks: CheckResult; candidate: Candidate; proposal: Proposal; engine: Engine };
  let best: Best | undefined;
  let attempts = 0;
  let current = engine;
  let fallbackReason: string | undefined;
  const notes: string[] = [];
  let recognised: Recognised | undefined;
  const checked = new Map<string, CheckResult>();
  // Several candidates at once (in parallel, from other providers and temperatures) are all checked
  // and ranked: outcome first (compareChecks: proven blocking, benign hits), then the WCU.
  const several = Math.min(MAX_CANDIDATES, Math.max(1, Math.floor(input.candidates ?? 1))) > 1;
  const records: CandidateRecord[] = [];
  let bestRecord: CandidateRecord | undefined;
  // The judge's requests, once it has spoken: every later candidate is checked against them too.
  let judgeCtx: CheckContext | undefined;
  const judgedChecks = new Map<string, CheckResult>();
  const better = (a: CheckResult, b: CheckResult) => {
    const c = compareChecks(a, b);
    return c !== 0 ? c < 0 : several && a.wcu < b.wcu;
  };

  const account = (proposal: Proposal) => {
    usage.inputTokens += proposal.usage?.inputTokens ?? 0;
    usage.outputTokens += proposal.usage?.outputTokens ?? 0;
    costUsd += proposal.costUsd ?? 0;
    for (const n of proposal.notes ?? []) if (!notes.includes(n)) notes.push(n);
    if (proposal.recognised) recognised = proposal.recognised;
  };
  const judgeChecks = (rule: Rule, key: string): CheckResult | undefined => {
    if (!judgeCtx) return undefined;
    const c = judgedChecks.get(key) ?? checkRule(rule, judgeCtx);
    judgedChecks.set(key, c);
    return c;
  };
  const consider = (proposal: Proposal, attempt: number, round?: 'judge') => {
    // Candidates from parallel calls are all checked; otherwise equal outcomes keep the engine's
    // order, so once a candidate passes no later one can replace it: the rest need no checking
    // (each check runs thousands of benign requests).
    const rankAll = several && proposal.candidates.some((c) => c.provider !== undefined);
    for (const candidate of proposal.candidates) {
      if (best?.checks.passed && !rankAll) break;
      const rule = buildRule(cveId, candidate.statement);
      // An engine proposes the same statement again on later attempts: it is checked once.
      const key = JSON.stringify(candidate.statement);
      const own = checked.get(key) ?? checkRule(rule, ctx);
      checked.set(key, own);
      const checks = withJudge(own, judgeChecks(rule, key));
      const record: CandidateRecord = {
        attempt,
        ...(round ? { round } : {}),
        strategy: candidate.strategy,
        ...(candidate.provider ? { provider: candidate.provider } : {}),
        ...(candidate.model ? { model: candidate.model } : {}),
        ...(candidate.temperature !== undefined ? { temperature: candidate.temperature } : {}),
        verdict: verdictOf(checks),
        exploitsBlocked: checks.evidence.blocked,
        exploits: checks.evidence.total,
        variantsBlocked: checks.variants.blocked,
        variants: checks.variants.total,
        benignBlocked: checks.benign.blocked,
        wcu: checks.wcu,
        errors: checks.errors.length,
        chosen: false,
      };
      records.push(record);
      if (!best || better(checks, best.checks)) {
        best = { rule, checks, candidate, proposal, engine: current };
        bestRecord = record;
      }
    }
  };

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    attempts = attempt;
    step(`attempt ${attempt}: asking the ${current.name} engine`);
    let proposal: Proposal;
    try {
      proposal = await current.propose(
        input,
        best ? { attempt, previous: { rule: best.rule, checks: best.checks } } : undefined,
      );
    } catch (e) {
      if (!options.fallback || current === options.fallback) throw e;
      fallbackReason = e instanceof Error ? e.message : String(e);
      step(`${current.name} failed (${fallbackReason}); falling back to ${options.fallback.name}`);
      current = options.fallback;
      attempt--; // the fallback gets its own attempts
      continue;
    }
    account(proposal);
    step(
      `checking ${proposal.candidates.length} candidate(s) against ${ctx.exploits.length} exploit, ${ctx.variants.length} variant and ${ctx.benign.length} benign requests`,
    );
    consider(proposal, attempt);
    if (best?.checks.passed) break;
  }

  // The judge attacks the chosen rule (not one the fallback wrote: that is no LLM's work to judge).
  let judgeRecord: JudgeRecord | undefined;
  if (options.judge && best && best.checks.errors.length === 0 && best.engine === engine) {
    const judge = options.judge;
    step(`asking the judge (${judge.name}) for bypasses and legitimate requests the rule would block`);
    try {
      const findings = await judge.review(input, best.rule);
      usage.inputTokens += findings.usage?.inputTokens ?? 0;
      usage.outputTokens += findings.usage?.outputTokens ?? 0;
      costUsd += findings.costUsd ?? 0;
      judgeCtx = { ...ctx, exploits: findings.bypasses, variants: [], benign: findings.benign };
      const key = JSON.stringify(best.candidate.statement);
      const judged = judgeChecks(best.rule, key)!;
      const record: JudgeRecord = {
        judge: judge.name,
        ...(findings.provider ? { provider: findings.provider } : {}),
        ...(findings.model ? { model: findings.model } : {}),
        outcome: 'upheld',
        bypassesProposed: findings.bypasses.length,
        benignProposed: findings.benign.length,
        bypassesMissed: judged.evidence.missed.map((m) => m.id),
        benignBlocked: judged.benign.falsePositives.map((m) => m.id),
      };
      judgeRecord = record;
      const failedJudge = (c: CheckResult) => c.evidence.missed.length > 0 || c.benign.blocked > 0;
      // The chosen rule is measured again with the judge's requests (variants and benign ones).
      best = { ...best, checks: withJudge(checked.get(key)!, judged) };
      if (bestRecord) {
        bestRecord.verdict = verdictOf(best.checks);
        bestRecord.variantsBlocked = best.checks.variants.blocked;
        bestRecord.variants = best.checks.variants.total;
        bestRecord.benignBlocked = best.checks.benign.blocked;
      }
      if (failedJudge(judged)) {
        attempts++;
        step(
          `the judge found ${judged.evidence.missed.length} bypass(es) and ${judged.benign.blocked} blocked legitimate request(s); attempt ${attempts}: correcting`,
        );
        try {
          const proposal = await current.propose(input, {
            attempt: attempts,
            previous: { rule: best.rule, checks: best.checks },
            judged: { bypasses: findings.bypasses, benign: findings.benign },
          });
          account(proposal);
          consider(proposal, attempts, 'judge');
        } catch (e) {
          notes.push(`judge: the correction round failed (${e instanceof Error ? e.name : 'error'})`);
        }
        const finalKey = JSON.stringify(best.candidate.statement);
        record.outcome = failedJudge(judgeChecks(best.rule, finalKey)!) ? 'vetoed' : 'corrected';
      }
    } catch (e) {
      judgeRecord = {
        judge: judge.name,
        outcome: 'unavailable',
        bypassesProposed: 0,
        benignProposed: 0,
        bypassesMissed: [],
        benignBlocked: [],
        // The failure's class only: a provider's text can hold internal addresses.
        error: e instanceof Error ? e.name : 'error',
      };
      step(`the judge did not answer (${judgeRecord.error}); the rule stands on the checks alone`);
    }
  }
  if (!best) {
    const attackClass = recognised?.attackClass ?? input.facts.attackClass;
    const endpoints = recognised?.endpoints ?? input.facts.endpoints;
    const facts = {
      cveId,
      engine: current.name,
      ...(attackClass ? { attackClass } : {}),
      ...(recognised?.basis
        ? { basis: recognised.basis }
        : !recognised && attackClass
          ? { basis: 'facts' }
          : {}),
      endpoints,
      exploitRequests: input.exploits.length,
      notes,
    };
    throw new NoRuleError({ ...facts, needs: evidenceNeeded(facts) });
  }

  if (bestRecord) bestRecord.chosen = true;
  const { rule, checks, candidate, proposal } = best;
  const verdict = verdictOf(checks);
  const reasons = [...checks.reasons];
  const reasonCodes: ReasonCode[] = [...checks.reasonCodes];
  if (checks.evidence.total === 0) {
    reasons.push(NO_EXPLOIT_REASON);
    reasonCodes.push('no-exploit-tested');
  }
  const tests = { evidence: checks.evidence, variants: checks.variants, benign: checks.benign };
  return {
    rule,
    report: {
      cveId,
      verdict,
      summary: summaryOf({ cveId, verdict, tests, reasons, warnings: checks.warnings }),
      notTestedAgainst: notTestedAgainst(tests, input.benignSupplied === true),
      passed: verdict === 'proven',
      attempts,
      // A rule the fallback wrote is the fallback's, labelled degraded (not the engine asked for).
      engine: best.engine === engine ? engine.name : best.engine.name,
      producedBy: best.engine.name,
      ...(best.engine === engine ? {} : { degraded: true }),
      ...((candidate.provider ?? proposal.provider)
        ? { provider: candidate.provider ?? proposal.provider }
        : {}),
      ...((candidate.model ?? proposal.model) ? { model: candidate.model ?? proposal.model } : {}),
      ...(fallbackReason ? { fallback: fallbackReason } : {}),
      ...(candidate.attackClass ? { attackClass: candidate.attackClass } : {}),
      strategy: candidate.strategy,
      confidence: confidenceOfChecks(checks),
      usage,
      costUsd,
      wcu: checks.wcu,
      tests,
      warnings: checks.warnings,
      reasons,
      reasonCodes,
      evidenceUsed: input.evidenceSources,
      durationMs: Date.now() - started,
      notes,
      ...(several || judgeRecord ? { candidates: records } : {}),
      ...(judgeRecord ? { judge: judgeRecord } : {}),
    },
  };
}
