/**
 * @module The API's metrics, in the observability registry (src/observability) beside the
 * generation, cache, rate-limit and queue series it already defines: HTTP requests by route and
 * status, their latency, degraded answers and webhook findings. The queue gauges read this
 * service's queue at scrape time.
 *
 * The two per-request series (wafgen_http_requests_total and wafgen_http_request_duration_seconds)
 * are kept by {@link RequestStats}: plain counters per (method, route, status) and per-bucket counts
 * per (method, route), turned into prom-client's exposition at scrape time. prom-client's own
 * Counter.inc and Histogram.observe hash the label object into a string and look up bucket bounds
 * by number-keyed properties on every call; measured on the cache-hit GET (npm run bench:api
 * server, the same load with and without the two calls, 4 runs on a shared 2-CPU machine): 3-12 µs
 * of server CPU per request, against ~0.3 µs for a record() here.
 */
import { Counter, type Registry } from 'prom-client';

import type { Service } from '../app/index.js';
import { defaultMetrics, type Metrics } from '../observability/index.js';

/** A metric of this name already in the registry (a second app in the same process), else a new one. */
function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** Latency buckets (seconds) of wafgen_http_request_duration_seconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Distinct (method, route) pairs kept apart; beyond, requests count under route `other`. */
const MAX_ROUTES = 1000;

interface RouteCell {
  method: string;
  route: string;
  byStatus: Map<number, number>;
  /** Requests per bucket, not cumulative; the last slot is over the largest bound. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/** A metric as prom-client's Registry reads it (what its own Counter and Histogram answer). */
interface RegistryMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { labels: Record<string, string | number>; value: number; metricName?: string }[];
  }>;
  reset(): void;
}

/** Request counts and latencies by route: recorded per request, exposed at scrape time. */
export class RequestStats {
  private cells = new Map<string, Map<string, RouteCell>>();
  private size = 0;

  record(method: string, route: string, status: number, seconds: number): void {
    let byRoute = this.cells.get(method);
    if (!byRoute) {
      byRoute = new Map();
      this.cells.set(method, byRoute);
    }
    let cell = byRoute.get(route);
    if (!cell) {
      if (this.size >= MAX_ROUTES && route !== 'other') return this.record(method, 'other', status, seconds);
      cell = {
        method,
        route,
        byStatus: new Map(),
        buckets: new Float64Array(DURATION_BUCKETS.length + 1),
        sum: 0,
        count: 0,
      };
      byRoute.set(route, cell);
      this.size++;
    }
    cell.byStatus.set(status, (cell.byStatus.get(status) ?? 0) + 1);
    let b = 0;
    while (b < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[b]!) b++;
    cell.buckets[b]!++;
    cell.sum += seconds;
    cell.count++;
  }

  reset(): void {
    this.cells = new Map();
    this.size = 0;
  }

  private *routes(): Iterable<RouteCell> {
    for (const byRoute of this.cells.values()) yield* byRoute.values();
  }

  /** The two series as registry metrics (both read this object). */
  metrics(): { requests: RegistryMetric; duration: RegistryMetric } {
    const requests = {
      name: 'wafgen_http_requests_total',
      help: 'HTTP requests by route and status.',
      type: 'counter' as const,
      aggregator: 'sum' as const,
      get: async () => {
        const values = [];
        for (const cell of this.routes())
          for (const [status, value] of cell.byStatus)
            values.push({
              labels: { method: cell.method, route: cell.route, status: String(status) },
              value,
            });
        return { name: requests.name, help: requests.help, type: 'counter', aggregator: 'sum', values };
      },
      reset: () => this.reset(),
    };
    const duration = {
      name: 'wafgen_http_request_duration_seconds',
      help: 'HTTP request duration.',
      type: 'histogram' as const,
      aggregator: 'sum' as const,
      get: async () => {
        const values = [];
        const bucket = `${duration.name}_bucket`;
        for (const cell of this.routes()) {
          const labels = { method: cell.method, route: cell.route };
          let cumulative = 0;
          DURATION_BUCKETS.forEach((le, i) => {
            cumulative += cell.buckets[i]!;
            values.push({ labels: { ...labels, le }, value: cumulative, metricName: bucket });
          });
          values.push({ labels: { ...labels, le: '+Inf' }, value: cell.count, metricName: bucket });
          values.push({ labels, value: cell.sum, metricName: `${duration.name}_sum` });
          values.push({ labels, value: cell.count, metricName: `${duration.name}_count` });
        }
        return { name: duration.name, help: duration.help, type: 'histogram', aggregator: 'sum', values };
      },
      reset: () => this.reset(),
    };
    return { requests, duration };
  }
}

/** Stats objects by the registry their series are in (a second app in a process shares them). */
const statsByRegistry = new WeakMap<Registry, RequestStats>();

export class ApiMetrics {
  /** Requests by method, route and status, with their latency. */
  readonly requests: RequestStats;
  readonly degraded: Counter<'source'>;
  readonly webhookFindings: Counter<'format' | 'outcome'>;
  readonly webhookReplays: Counter<'scheme'>;

  constructor(
    service: Service,
    readonly metrics: Metrics = defaultMetrics(),
  ) {
    const registers = [metrics.registry];
    let stats = statsByRegistry.get(metrics.registry);
    if (!stats) {
      stats = new RequestStats();
      statsByRegistry.set(metrics.registry, stats);
      const { requests, duration } = stats.metrics();
      // prom-client's Registry reads a metric through name, help, type, get() and reset() only.
      metrics.registry.registerMetric(requests as never);
      metrics.registry.registerMetric(duration as never);
    }
    this.requests = stats;
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
