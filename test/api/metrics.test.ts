// The per-request series the API keeps itself (RequestStats) read like prom-client's own Counter
// and Histogram through the registry: counts by method, route and status, cumulative latency
// buckets with +Inf, _sum and _count, and a bounded number of routes.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { RequestStats } from '../../src/api/metrics.js';

function registryWith(stats: RequestStats): Registry {
  const registry = new Registry();
  const { requests, duration } = stats.metrics();
  registry.registerMetric(requests as never);
  registry.registerMetric(duration as never);
  return registry;
}

describe('request metrics', () => {
  it('exposes counts by status and cumulative latency buckets', async () => {
    const stats = new RequestStats();
    const registry = registryWith(stats);
    stats.record('GET', '/v1/rules/:cveId', 200, 0.0004);
    stats.record('GET', '/v1/rules/:cveId', 200, 0.003);
    stats.record('GET', '/v1/rules/:cveId', 404, 0.02);
    stats.record('POST', '/v1/rules/validate', 200, 45);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE wafgen_http_requests_total counter');
    expect(text).toContain(
      'wafgen_http_requests_total{method="GET",route="/v1/rules/:cveId",status="200"} 2',
    );
    expect(text).toContain(
      'wafgen_http_requests_total{method="GET",route="/v1/rules/:cveId",status="404"} 1',
    );
    expect(text).toContain('# TYPE wafgen_http_request_duration_seconds histogram');
    const get = 'method="GET",route="/v1/rules/:cveId"';
    expect(text).toContain(`wafgen_http_request_duration_seconds_bucket{${get},le="0.001"} 1`);
    expect(text).toContain(`wafgen_http_request_duration_seconds_bucket{${get},le="0.005"} 2`);
    expect(text).toContain(`wafgen_http_request_duration_seconds_bucket{${get},le="0.025"} 3`);
    expect(text).toContain(`wafgen_http_request_duration_seconds_bucket{${get},le="30"} 3`);
    expect(text).toContain(`wafgen_http_request_duration_seconds_bucket{${get},le="+Inf"} 3`);
    expect(text).toContain(`wafgen_http_request_duration_seconds_count{${get}} 3`);
    expect(text).toMatch(
      /wafgen_http_request_duration_seconds_sum\{method="GET",route="\/v1\/rules\/:cveId"\} 0\.0234/,
    );
    // Over the largest bound: only in +Inf.
    const post = 'method="POST",route="/v1/rules/validate"';
    expect(text).toContain(`wafgen_http_request_duration_seconds_bucket{${post},le="30"} 0`);
    expect(text).toContain(`wafgen_http_request_duration_seconds_bucket{${post},le="+Inf"} 1`);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('route=');
  });

  it('keeps at most 1000 routes apart; the rest count under route "other"', async () => {
    const stats = new RequestStats();
    const registry = registryWith(stats);
    for (let i = 0; i < 1005; i++) stats.record('GET', `/r${i}`, 200, 0.001);
    const text = await registry.metrics();
    expect(text).toContain('wafgen_http_requests_total{method="GET",route="other",status="200"} 5');
    expect(text).not.toContain('route="/r1000"');
  });
});
