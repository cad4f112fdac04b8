/**
 * @module CloudWatch embedded metric format (EMF) for the serverless handlers (issue 15 item 5):
 * Lambda has no port to scrape, so each generation also writes one JSON log line that CloudWatch
 * Logs turns into metrics in the `wafgen` namespace (by engine): generations, duration, attempts,
 * LLM tokens and cost, and the LLM chain's health under the Prometheus series' names that the CDK
 * app's alarms read (infra/alarms.ts): wafgen_llm_fallbacks_total (1 for a fallback's rule),
 * wafgen_llm_failovers_total (failovers since the previous line) and wafgen_llm_breaker_state (the
 * worst breaker of this instance's chain when the line was written: 0 closed, 1 half-open, 2 open).
 * Each audit delivery outcome (delivered, retry, dead-lettered) writes a line of its own:
 * wafgen_audit_events_total by outcome (and sink), and wafgen_audit_spool_pending, the events still
 * spooled then, for the audit alarms.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { BREAKER_STATE_VALUE, fallbackReason, type Metrics } from '../observability/index.js';

type ReportLike = Parameters<Metrics['recordGeneration']>[0];

/** Label values go into the line as they are: a bounded, printable word (never a provider's text). */
const word = (v: unknown, fallback = 'unknown'): string =>
  typeof v === 'string' && /^[\w.:@/-]{1,100}$/.test(v) ? v : fallback;

/** One EMF line for one generation (a report, or an error with no rule). */
interface LlmHealth {
  /** Failovers since the previous line. */
  failovers: number;
  /** The worst breaker state now (0 closed, 1 half-open, 2 open). */
  breaker: number;
}

function emfLine(
  o: { report?: ReportLike; engine?: string; latencyMs?: number },
  llm: LlmHealth,
  now = Date.now(),
): string {
  const r = o.report as
    | (ReportLike & {
        engine?: string;
        provider?: string;
        verdict?: string;
        attempts?: number;
        usage?: { inputTokens: number; outputTokens: number };
        costUsd?: number;
        extraction?: { usage: { inputTokens: number; outputTokens: number }; costUsd: number };
      })
    | undefined;
  const metrics = [
    { Name: 'Generations', Unit: 'Count' },
    // A rule written but failing its checks (Prometheus: wafgen_generations_total{outcome="failed"}).
    { Name: 'RulesFailed', Unit: 'Count' },
    { Name: 'GenerationErrors', Unit: 'Count' },
    { Name: 'DurationMs', Unit: 'Milliseconds' },
    { Name: 'Attempts', Unit: 'Count' },
    { Name: 'LlmInputTokens', Unit: 'Count' },
    { Name: 'LlmOutputTokens', Unit: 'Count' },
    { Name: 'LlmCostUsd', Unit: 'None' },
    // The mini model's extraction, apart (a stage of its own).
    { Name: 'ExtractInputTokens', Unit: 'Count' },
    { Name: 'ExtractOutputTokens', Unit: 'Count' },
    { Name: 'ExtractCostUsd', Unit: 'None' },
    // The LLM chain, named as the Prometheus series the alarms mirror.
    { Name: 'wafgen_llm_fallbacks_total', Unit: 'Count' },
    { Name: 'wafgen_llm_failovers_total', Unit: 'Count' },
    { Name: 'wafgen_llm_breaker_state', Unit: 'None' },
  ];
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      // By engine, and once more with no dimension: the CDK app's alarms read the totals.
      CloudWatchMetrics: [{ Namespace: 'wafgen', Dimensions: [['engine'], []], Metrics: metrics }],
    },
    engine: word(r?.engine ?? o.engine),
    provider: word(r?.provider, 'none'),
    verdict: word(r?.verdict, 'error'),
    Generations: r ? 1 : 0,
    RulesFailed: r && !r.passed ? 1 : 0,
    GenerationErrors: r ? 0 : 1,
    DurationMs: Math.max(0, Math.round(o.latencyMs ?? 0)),
    Attempts: r?.attempts ?? 0,
    LlmInputTokens: r?.usage?.inputTokens ?? 0,
    LlmOutputTokens: r?.usage?.outputTokens ?? 0,
    LlmCostUsd: r?.costUsd ?? 0,
    ExtractInputTokens: r?.extraction?.usage.inputTokens ?? 0,
    ExtractOutputTokens: r?.extraction?.usage.outputTokens ?? 0,
    ExtractCostUsd: r?.extraction?.costUsd ?? 0,
    wafgen_llm_fallbacks_total: r && fallbackReason(r) ? 1 : 0,
    wafgen_llm_failovers_total: llm.failovers,
    wafgen_llm_breaker_state: llm.breaker,
  });
}

/** One EMF line for audit events delivered, retried or dead-lettered; `pending`: still spooled. */
function auditLine(sink: string, outcome: string, events: number, pending: number, now = Date.now()): string {
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: 'wafgen',
          Dimensions: [['outcome'], ['sink', 'outcome']],
          Metrics: [{ Name: 'wafgen_audit_events_total', Unit: 'Count' }],
        },
        {
          Namespace: 'wafgen',
          Dimensions: [[]],
          Metrics: [{ Name: 'wafgen_audit_spool_pending', Unit: 'Count' }],
        },
      ],
    },
    sink: word(sink),
    outcome: word(outcome),
    wafgen_audit_events_total: events,
    wafgen_audit_spool_pending: pending,
  });
}

/**
 * The same metrics, and an EMF line written for each generation they record. For the serverless
 * handlers: `openService(env, { metrics: withEmbeddedMetrics(defaultMetrics()) })`.
 */
export function withEmbeddedMetrics(
  metrics: Metrics,
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Metrics {
  let failovers = 0;
  const breakers = new Map<string, number>();
  let auditProbe: Parameters<Metrics['setAuditProbe']>[0];
  /** The chain's health for the next line (its failovers are then counted from zero again). */
  const health = (): LlmHealth => {
    const h = { failovers, breaker: Math.max(0, ...breakers.values()) };
    failovers = 0;
    return h;
  };
  return {
    ...metrics,
    recordGeneration(report, opts) {
      metrics.recordGeneration(report, opts);
      write(
        emfLine(
          { report, ...(opts?.latencyMs !== undefined ? { latencyMs: opts.latencyMs } : {}) },
          health(),
        ),
      );
    },
    recordGenerationError(info) {
      metrics.recordGenerationError(info);
      write(
        emfLine(
          {
            engine: info.engine,
            ...(info.latencyMs !== undefined ? { latencyMs: info.latencyMs } : {}),
          },
          health(),
        ),
      );
    },
    recordAuditDelivery(sink, outcome, events) {
      metrics.recordAuditDelivery(sink, outcome, events);
      if (events <= 0) return;
      let pending = 0;
      try {
        for (const s of auditProbe?.() ?? []) pending += s.pending;
      } catch {
        // A spool that cannot say: the line still counts the events.
      }
      write(auditLine(sink, outcome, events, pending));
    },
    setAuditProbe(probe) {
      metrics.setAuditProbe(probe);
      auditProbe = probe;
    },
    llmHooks(providers) {
      const hooks = metrics.llmHooks(providers);
      for (const p of providers ?? []) if (!breakers.has(p)) breakers.set(p, 0);
      return {
        onAttempt: hooks.onAttempt,
        onBreakerStateChange(provider, state) {
          hooks.onBreakerStateChange(provider, state);
          breakers.set(provider, BREAKER_STATE_VALUE[state]);
        },
        onCall(attempts, outcome) {
          hooks.onCall(attempts, outcome);
          // As the registry counts them: one at each change of provider along the call.
          for (let i = 1; i < attempts.length; i++)
            if (attempts[i]!.provider !== attempts[i - 1]!.provider) failovers++;
        },
      };
    },
  };
}
