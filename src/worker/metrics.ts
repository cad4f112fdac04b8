/**
 * @module /metrics for `wafgen worker` (issue 15 item 5), on a listener of its own
 * (WAFGEN_WORKER_METRICS_PORT; loopback unless WAFGEN_WORKER_METRICS_HOST says otherwise). A
 * generation thread keeps its own registry (its own copy of the observability module): at each
 * scrape the main thread asks every thread for its series over a BroadcastChannel and serves the
 * sum with its own (prom-client's AggregatorRegistry.aggregate, the cluster-mode merge: counters and
 * histograms add up, so wafgen_llm_* from jobs run on threads are in one exposition).
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BroadcastChannel, threadId } from 'node:worker_threads';

import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

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

/** Serves GET /metrics: this thread's series plus every generation thread's, summed. */
export async function serveWorkerMetrics(opts: {
  port: number;
  host: string;
  metrics: Metrics;
  /** Generation threads to ask at each scrape (0: the main thread generates). */
  threads: number;
  /** WAFGEN_METRICS_TOKEN: ask for `Authorization: Bearer <token>`. */
  token?: string;
}): Promise<WorkerMetricsServer> {
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
      const text = await AggregatorRegistry.aggregate([own, ...threads] as MetricsJson[]).metrics();
      res.writeHead(200, { 'content-type': opts.metrics.contentType }).end(text);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('metrics unavailable\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
