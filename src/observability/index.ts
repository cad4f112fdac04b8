// Observability's public face: Prometheus metrics (one registry of our own, helpers so every caller
// counts alike), structured logs with secrets kept out, and the same figures computed from the
// store for `wafgen stats`.
import type { Logger } from 'pino';

import { logGeneration } from './logger.js';
import { defaultMetrics, type Metrics } from './metrics.js';
import type { ReportLike } from './report.js';

export {
  BREAKER_STATE_VALUE,
  createMetrics,
  defaultMetrics,
  fallbackReason,
  type Metrics,
} from './metrics.js';
export { createLogger, type Logger } from './logger.js';
export interface GenerationObservation {
  requestId: string;
  cveId: string;
  principal?: string;
  /** The report when a rule came out. */
  report?: ReportLike;
  /** The error when none did. */
  error?: unknown;
  /** Engine and provider asked, for a generation that produced no report. */
  engine?: string;
  provider?: string;
  latencyMs?: number;
  ruleName?: string;
  version?: number;
}

/**
 * The one call per generated rule for the API, the workers and the CLI: counts it in the metrics
 * and writes its log line. (The audit event is separate: it needs the AuditLog and is awaited.)
 */
export function observeGeneration(
  o: GenerationObservation,
  deps: { metrics?: Metrics; logger?: Logger } = {},
): void {
  const metrics = deps.metrics ?? defaultMetrics();
  if (o.report)
    metrics.recordGeneration(o.report, o.latencyMs !== undefined ? { latencyMs: o.latencyMs } : {});
  else
    metrics.recordGenerationError({
      engine: o.engine ?? 'unknown',
      ...(o.provider ? { provider: o.provider } : {}),
      ...(o.latencyMs !== undefined ? { latencyMs: o.latencyMs } : {}),
    });
  if (deps.logger) logGeneration(deps.logger, o);
}
