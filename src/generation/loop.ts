// The generation loop: engine → candidates → checks → feedback → next attempt, up to maxAttempts.
// The result is the best candidate with a report that says honestly whether it passed and why not.
import type { HttpRequest } from '../requests/model.js';
import { deriveVariants } from '../variants/index.js';
import { metricName, ruleName } from '../waf/naming.js';
import type { Rule, Statement } from '../waf/model/shapes.generated.js';
import { checkRule, compareChecks, type CheckContext } from './checks.js';
import type {
  Candidate,
  CheckResult,
  Engine,
  GenerationInput,
  GenerationResult,
  Proposal,
  Usage,
} from './types.js';

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

class GenerationError extends Error {}

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
    step(
      `checking ${proposal.candidates.length} candidate(s) against ${ctx.exploits.length} exploit, ${ctx.variants.length} variant and ${ctx.benign.length} benign requests`,
    );
    for (const candidate of proposal.candidates) {
      const rule = buildRule(cveId, candidate.statement);
      const checks = checkRule(rule, ctx);
      if (!best || compareChecks(checks, best.checks) < 0)
        best = { rule, checks, candidate, proposal, engine: current };
    }
    if (best?.checks.passed) break;
  }
  if (!best) throw new GenerationError(`the ${current.name} engine proposed no rule for ${cveId}`);

  const { rule, checks, candidate, proposal } = best;
  return {
    rule,
    report: {
      cveId,
      passed: checks.passed,
      attempts,
      engine: engine.name,
      producedBy: best.engine.name,
      ...(proposal.provider ? { provider: proposal.provider } : {}),
      ...(proposal.model ? { model: proposal.model } : {}),
      ...(fallbackReason ? { fallback: fallbackReason } : {}),
      ...(candidate.attackClass ? { attackClass: candidate.attackClass } : {}),
      strategy: candidate.strategy,
      confidence: checks.passed ? proposal.confidence : 'low',
      usage,
      costUsd,
      wcu: checks.wcu,
      tests: { evidence: checks.evidence, variants: checks.variants, benign: checks.benign },
      warnings: checks.warnings,
      reasons: checks.reasons,
      reasonCodes: checks.reasonCodes,
      evidenceUsed: input.evidenceSources,
      durationMs: Date.now() - started,
      notes,
    },
  };
}
