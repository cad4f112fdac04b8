// The dashboards' figures computed from the store, for `wafgen stats` and anyone without Grafana:
// success rate, latency percentiles, attempts, tokens, cost (with a 30-day forecast) and validation
// failures by reason, over the rule versions saved in the last N days. Same definitions as the
// metrics: tokens and cost per rule count rules where an LLM was asked (engine other than builtin).
import { z } from 'zod';

import type { Store } from '../store/index.js';
import { REASON_CODES, reasonCodes, type ReasonCode, type ReportLike } from './report.js';
import { THRESHOLDS } from './thresholds.js';

export interface Percentiles {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

interface ProviderCost {
  provider: string;
  model: string;
  rules: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface Stats {
  window: { days: number; since: string; until: string };
  rules: number;
  generations: { total: number; passed: number; failed: number; successRate: number | null };
  latencyMs: Percentiles | null;
  attempts: (Percentiles & { over2: number }) | null;
  /** Over rules where an LLM was asked. */
  tokens: {
    llmRules: number;
    meanInput: number;
    meanOutput: number;
    total: Percentiles | null;
    over5000: number;
  };
  cost: {
    totalUsd: number;
    /** Per rule where an LLM was asked. */
    perRule: Percentiles | null;
    over010: number;
    byProvider: ProviderCost[];
    perDayUsd: number;
    /** perDayUsd × 30: what the next 30 days cost at the rate of the last `days`. */
    forecast30dUsd: number;
  };
  validationFailures: {
    rules: number;
    rate: number | null;
    byReason: Partial<Record<ReasonCode, number>>;
  };
  byEngine: { engine: string; rules: number; passed: number }[];
  /** Figures over the roadmap's thresholds, one line each. */
  breaches: string[];
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1)!,
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
  };
}

/** USD for 30 days at the rate of `totalUsd` spent over `days`. */
export function forecastMonthlyCost(totalUsd: number, days: number): number {
  return days > 0 ? (totalUsd / days) * 30 : 0;
}

const usedLlm = (r: ReportLike) => r.engine !== 'builtin';

export function computeStats(
  reports: readonly ReportLike[],
  window: { days: number; since: Date; until: Date },
): Stats {
  const total = reports.length;
  const passed = reports.filter((r) => r.passed).length;
  const llm = reports.filter(usedLlm);
  const byReason: Partial<Record<ReasonCode, number>> = {};
  let failedRules = 0;
  for (const r of reports) {
    const codes = reasonCodes(r);
    if (codes.length > 0) failedRules++;
    for (const c of codes) byReason[c] = (byReason[c] ?? 0) + 1;
  }
  const providers = new Map<string, ProviderCost>();
  for (const r of reports) {
    const provider = r.provider ?? (usedLlm(r) ? 'none' : 'builtin');
    const model = r.model ?? '';
    const key = `${provider}\u0000${model}`;
    const p = providers.get(key) ?? {
      provider,
      model,
      rules: 0,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
    };
    p.rules++;
    p.inputTokens += r.usage.inputTokens;
    p.outputTokens += r.usage.outputTokens;
    p.costUsd += r.costUsd;
    providers.set(key, p);
  }
  const engines = new Map<string, { engine: string; rules: number; passed: number }>();
  for (const r of reports) {
    const e = engines.get(r.engine) ?? { engine: r.engine, rules: 0, passed: 0 };
    e.rules++;
    if (r.passed) e.passed++;
    engines.set(r.engine, e);
  }
  const totalUsd = reports.reduce((s, r) => s + r.costUsd, 0);
  const perDayUsd = window.days > 0 ? totalUsd / window.days : 0;
  const tokenTotals = llm.map((r) => r.usage.inputTokens + r.usage.outputTokens);
  const latency = percentiles(reports.map((r) => r.durationMs));
  const attempts = percentiles(reports.map((r) => r.attempts));
  const perRule = percentiles(llm.map((r) => r.costUsd));
  const tokenP = percentiles(tokenTotals);
  const successRate = total > 0 ? passed / total : null;
  const failureRate = total > 0 ? failedRules / total : null;

  const breaches: string[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  if (successRate !== null && successRate < THRESHOLDS.minSuccessRate)
    breaches.push(`success rate ${pct(successRate)} is below ${pct(THRESHOLDS.minSuccessRate)}`);
  if (latency && latency.p99 > THRESHOLDS.maxP99LatencyMs)
    breaches.push(`p99 latency ${(latency.p99 / 1000).toFixed(1)} s is over 30 s`);
  if (attempts && attempts.mean > THRESHOLDS.maxMeanAttempts)
    breaches.push(`mean attempts ${attempts.mean.toFixed(2)} is over 2`);
  if (tokenP && tokenP.mean > THRESHOLDS.maxTokensPerRule)
    breaches.push(`mean tokens per LLM rule ${Math.round(tokenP.mean)} is over 5,000`);
  if (perRule && perRule.mean > THRESHOLDS.maxCostPerRuleUsd)
    breaches.push(`mean cost per LLM rule $${perRule.mean.toFixed(4)} is over $0.10`);
  if (failureRate !== null && failureRate > THRESHOLDS.maxValidationFailureRate)
    breaches.push(`validation failure rate ${pct(failureRate)} is over 10%`);

  return {
    window: { days: window.days, since: window.since.toISOString(), until: window.until.toISOString() },
    rules: total,
    generations: { total, passed, failed: total - passed, successRate },
    latencyMs: latency,
    attempts: attempts ? { ...attempts, over2: reports.filter((r) => r.attempts > 2).length } : null,
    tokens: {
      llmRules: llm.length,
      meanInput: llm.length ? llm.reduce((s, r) => s + r.usage.inputTokens, 0) / llm.length : 0,
      meanOutput: llm.length ? llm.reduce((s, r) => s + r.usage.outputTokens, 0) / llm.length : 0,
      total: tokenP,
      over5000: tokenTotals.filter((t) => t > THRESHOLDS.maxTokensPerRule).length,
    },
    cost: {
      totalUsd,
      perRule,
      over010: llm.filter((r) => r.costUsd > THRESHOLDS.maxCostPerRuleUsd).length,
      byProvider: [...providers.values()].sort((a, b) => b.costUsd - a.costUsd || b.rules - a.rules),
      perDayUsd,
      forecast30dUsd: forecastMonthlyCost(totalUsd, window.days),
    },
    validationFailures: {
      rules: failedRules,
      rate: failureRate,
      byReason: Object.fromEntries(REASON_CODES.filter((c) => byReason[c]).map((c) => [c, byReason[c]!])),
    },
    byEngine: [...engines.values()].sort((a, b) => b.rules - a.rules),
    breaches,
  };
}

const count = z.number().finite().min(0).catch(0);
/** A stored report read leniently: older or partial reports still count for what they have. */
const StoredReport = z.object({
  cveId: z.string().catch(''),
  passed: z.boolean().catch(false),
  attempts: count,
  engine: z.string().catch('unknown'),
  producedBy: z.string().optional().catch(undefined),
  provider: z.string().optional().catch(undefined),
  model: z.string().optional().catch(undefined),
  usage: z.object({ inputTokens: count, outputTokens: count }).catch({ inputTokens: 0, outputTokens: 0 }),
  costUsd: count,
  durationMs: count,
  reasons: z.array(z.string()).catch([]),
  reasonCodes: z.array(z.enum(REASON_CODES)).optional().catch(undefined),
});

/** Reports of the rule versions saved in [since, until). */
async function loadReports(store: Pick<Store, 'db'>, since: Date, until: Date): Promise<ReportLike[]> {
  const rows = await store.db
    .selectFrom('rules')
    .select(['cve_id', 'engine', 'provider', 'model', 'report', 'created_at'])
    .where('created_at', '>=', since)
    .where('created_at', '<', until)
    .orderBy('created_at')
    .execute();
  return rows.map((row) => {
    const parsed = StoredReport.parse(row.report ?? {});
    return {
      ...parsed,
      cveId: parsed.cveId || row.cve_id,
      // The columns are the truth when the report lacks them.
      provider: parsed.provider ?? row.provider ?? undefined,
      model: parsed.model ?? row.model ?? undefined,
      engine: parsed.engine === 'unknown' ? row.engine : parsed.engine,
    };
  });
}

export async function collectStats(
  store: Pick<Store, 'db'>,
  opts: { days: number; now?: Date },
): Promise<Stats> {
  const until = opts.now ?? new Date();
  const since = new Date(until.getTime() - opts.days * 86_400_000);
  // Inclusive of `now` (a rule saved this millisecond counts).
  const reports = await loadReports(store, since, new Date(until.getTime() + 1));
  return computeStats(reports, { days: opts.days, since, until });
}
