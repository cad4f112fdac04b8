/**
 * @module /metrics for `wafgen worker` (issue 15 item 5), on a listener of its own
 * (WAFGEN_WORKER_METRICS_PORT; loopback unless WAFGEN_WORKER_METRICS_HOST says otherwise). A
 * generation thread keeps its own registry (its own copy of the observability module): at each
 * scrape the main thread asks every thread for its series over a BroadcastChannel and serves the
 * merge with its own (prom-client's AggregatorRegistry.aggregate, the cluster-mode merge: counters and
 * histograms add up, so wafgen_llm_* from jobs run on threads are in one exposition; gauges of one
 * shared thing, breaker state, queue and coverage, take the maximum, see their `aggregator`). The
 * process-wide series (wafgen_process_*: CPU, memory, file descriptors) are the main thread's
 * alone: every thread reads the same process, so a sum would count it once per thread.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BroadcastChannel, threadId } from 'node:worker_threads';

import {
  AggregatorRegistry,
  type Metric,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';

import { InputError } from '../core/errors.js';
import type { Metrics } from '../observability/index.js';

const CHANNEL = 'wafgen-worker-metrics';
/** How long a scrape waits for the threads' series (a thread deep in a CPU-bound check answers late). */
const THREAD_WAIT_MS = 2000;

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];
type Message =
  { type: 'ask'; id: number } | { type: 'answer'; id: number; thread: number; metrics: MetricsJson };

/** In a generation thread: answer the main thread's scrapes with this thread's series. */
export function answerMetricsScrapes(metrics: Pick<Metrics, 'registry'>): () => void {
  const channel = new BroadcastChannel(CHANNEL);
  channel.unref();
  channel.onmessage = (event: unknown) => {
    const m = (event as { data: Message }).data;
    if (m?.type !== 'ask') return;
    void metrics.registry
      .getMetricsAsJSON()
      .then((json) =>
        channel.postMessage({ type: 'answer', id: m.id, thread: threadId, metrics: json } satisfies Message),
      );
  };
  return () => channel.close();
}

let nextScrape = 1;

/** Series whose value is the whole process's, whichever thread reads it. */
const PROCESS_WIDE = /^wafgen_process_/;

/**
 * The main thread's series and the threads' in one registry: each series by its aggregator (sum
 * unless it says otherwise), the process-wide ones from the main thread only, and a series only the
 * main thread has as it is (prom-client would drop one marked `omit`, e.g. the process start time).
 */
export function mergeSeries(
  own: MetricsJson,
  threads: readonly MetricsJson[],
): Pick<Registry, 'metrics' | 'getMetricsAsJSON'> {
  const fromThreads = threads.map((t) => t.filter((m) => !PROCESS_WIDE.test(m.name)));
  const shared = new Set(fromThreads.flat().map((m) => m.name));
  const merged = AggregatorRegistry.aggregate([
    own.filter((m) => shared.has(m.name)),
    ...fromThreads,
  ] as MetricsJson[]);
  for (const m of own)
    if (!shared.has(m.name)) merged.registerMetric({ ...m, get: () => m } as unknown as Metric);
  return merged;
}

/** The series of `threads` generation threads (those that answer within THREAD_WAIT_MS). */
async function threadSeries(threads: number): Promise<MetricsJson[]> {
  if (threads === 0) return [];
  const channel = new BroadcastChannel(CHANNEL);
  const id = nextScrape++;
  const answers = new Map<number, MetricsJson>();
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, THREAD_WAIT_MS);
      channel.onmessage = (event: unknown) => {
        const m = (event as { data: Message }).data;
        if (m?.type !== 'answer' || m.id !== id) return;
        answers.set(m.thread, m.metrics);
        if (answers.size >= threads) {
          clearTimeout(timer);
          resolve();
        }
      };
      channel.postMessage({ type: 'ask', id } satisfies Message);
    });
  } finally {
    channel.close();
  }
  return [...answers.values()];
}

/** WAFGEN_WORKER_METRICS_PORT and _HOST: where the worker serves /metrics, if anywhere. */
export function workerMetricsAddress(env: NodeJS.ProcessEnv): { port: number; host: string } | undefined {
  const raw = env.WAFGEN_WORKER_METRICS_PORT?.trim();
  if (!raw) return undefined;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535)
    throw new InputError('WAFGEN_WORKER_METRICS_PORT must be a port number from 0 to 65535');
  const host = env.WAFGEN_WORKER_METRICS_HOST?.trim() || '127.0.0.1';
  if (!/^[\w.:-]{1,253}$/.test(host))
    throw new InputError('WAFGEN_WORKER_METRICS_HOST must be a host name or address');
  return { port, host };
}

export interface WorkerMetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves GET /metrics: this thread's series merged with every generation thread's. */
export async function serveWorkerMetrics(opts: {
  port: number;
  host: string;
  metrics: Metrics;
  /** Generation threads to ask at each scrape (0: the main thread generates). */
  threads: number;
  /** WAFGEN_METRICS_TOKEN: ask for `Authorization: Bearer <token>`. */
  token?: string;
  /** The queue the worker takes jobs from: its depth and oldest job's age at each scrape. */
  queue?: { readonly name: string; snapshot(): Promise<{ depth: number; oldestAgeSeconds: number }> };
}): Promise<WorkerMetricsServer> {
  const { queue } = opts;
  if (queue) opts.metrics.setQueueProbe(async () => [{ queue: queue.name, ...(await queue.snapshot()) }]);
  const expected = opts.token ? Buffer.from(`Bearer ${opts.token}`) : undefined;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (expected) {
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res
          .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' })
          .end('unauthorized\n');
        return;
      }
    }
    void (async () => {
      const own = await opts.metrics.registry.getMetricsAsJSON();
      const threads = await threadSeries(opts.threads);
      const text = await mergeSeries(own, threads).metrics();
      res.writeHead(200, { 'content-type': opts.metrics.contentType }).end(text);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('metrics unavailable\n');
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
  } catch (e) {
    if (queue) opts.metrics.setQueueProbe(undefined);
    throw e;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (queue) opts.metrics.setQueueProbe(undefined);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
