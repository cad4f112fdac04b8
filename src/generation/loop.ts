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
  CheckResult,
  Engine,
  GenerationInput,
  GenerationResult,
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
  onStep?: (message: string) => void;
}

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
  let best:
    { rule: Rule; checks: CheckResult; candidate: Candidate; proposal: Proposal; engine: Engine } | undefined;
  let attempts = 0;
  let current = engine;
  let fallbackReason: string | undefined;
  const notes: string[] = [];
  let recognised: Recognised | undefined;
  const checked = new Map<string, CheckResult>();

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
    usage.inputTokens += proposal.usage?.inputTokens ?? 0;
    usage.outputTokens += proposal.usage?.outputTokens ?? 0;
    costUsd += proposal.costUsd ?? 0;
    for (const n of proposal.notes ?? []) if (!notes.includes(n)) notes.push(n);
    if (proposal.recognised) recognised = proposal.recognised;
    step(
      `checking ${proposal.candidates.length} candidate(s) against ${ctx.exploits.length} exploit, ${ctx.variants.length} variant and ${ctx.benign.length} benign requests`,
    );
    for (const candidate of proposal.candidates) {
      // Equal outcomes keep the engine's order, so once a candidate passes no later one can replace
      // it: the rest need no checking (each check runs thousands of benign requests).
      if (best?.checks.passed) break;
      const rule = buildRule(cveId, candidate.statement);
      // An engine proposes the same statement again on later attempts: it is checked once.
      const key = JSON.stringify(candidate.statement);
      const checks = checked.get(key) ?? checkRule(rule, ctx);
      checked.set(key, checks);
      if (!best || compareChecks(checks, best.checks) < 0)
        best = { rule, checks, candidate, proposal, engine: current };
    }
    if (best?.checks.passed) break;
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
      ...(proposal.provider ? { provider: proposal.provider } : {}),
      ...(proposal.model ? { model: proposal.model } : {}),
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
    },
  };
}
