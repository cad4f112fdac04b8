// The API's metrics, in the observability registry (src/observability) beside the generation,
// cache, rate-limit and queue series it already defines: HTTP requests by route and status, their
// latency, degraded answers and webhook findings. The queue gauges read this service's queue at
// scrape time.
import { Counter, Histogram, type Registry } from 'prom-client';

import type { Service } from '../app/index.js';
import { defaultMetrics, type Metrics } from '../observability/index.js';

/** A metric of this name already in the registry (a second app in the same process), else a new one. */
function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export class ApiMetrics {
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;
  readonly degraded: Counter<'source'>;
  readonly webhookFindings: Counter<'format' | 'outcome'>;
  readonly webhookReplays: Counter<'scheme'>;

  constructor(
    service: Service,
    readonly metrics: Metrics = defaultMetrics(),
  ) {
    const registers = [metrics.registry];
    this.requests = reuse(
      metrics.registry,
      'wafgen_http_requests_total',
      () =>
        new Counter({
          name: 'wafgen_http_requests_total',
          help: 'HTTP requests by route and status.',
          labelNames: ['method', 'route', 'status'] as const,
          registers,
        }),
    );
    this.duration = reuse(
      metrics.registry,
      'wafgen_http_request_duration_seconds',
      () =>
        new Histogram({
          name: 'wafgen_http_request_duration_seconds',
          help: 'HTTP request duration.',
          labelNames: ['method', 'route'] as const,
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers,
        }),
    );
    this.degraded = reuse(
      metrics.registry,
      'wafgen_degraded_responses_total',
      () =>
        new Counter({
          name: 'wafgen_degraded_responses_total',
          help: 'Generation failed and the last good rule was served, by where it came from.',
          labelNames: ['source'] as const,
          registers,
        }),
    );
    this.webhookFindings = reuse(
      metrics.registry,
      'wafgen_webhook_findings_total',
      () =>
        new Counter({
          name: 'wafgen_webhook_findings_total',
          help: 'Webhook findings by format and outcome (queued, skipped).',
          labelNames: ['format', 'outcome'] as const,
          registers,
        }),
    );
    this.webhookReplays = reuse(
      metrics.registry,
      'wafgen_webhook_replays_total',
      () =>
        new Counter({
          name: 'wafgen_webhook_replays_total',
          help: 'Webhook deliveries refused as replays (same signed payload within its window), by signature scheme.',
          labelNames: ['scheme'] as const,
          registers,
        }),
    );
    metrics.setQueueProbe(async () => [{ queue: service.queue.name, ...(await service.queue.snapshot()) }]);
  }

  get contentType(): string {
    return this.metrics.contentType;
  }

  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
