/** The roadmap's lines (also in ops/prometheus/alerts.yml); apart from stats.ts so that the CLI reads them without loading Zod. */
export const THRESHOLDS = {
  minSuccessRate: 0.95,
  maxP99LatencyMs: 30_000,
  maxMeanAttempts: 2,
  maxTokensPerRule: 5000,
  maxCostPerRuleUsd: 0.1,
  maxValidationFailureRate: 0.1,
} as const;
