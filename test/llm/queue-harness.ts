// A real queue with a real `wafgen worker` behind it, for the LLM tests that go through jobs: a new
// PostgreSQL database, BullMQ on the local Redis (a key prefix of its own) or SQS on the loopback
// SQS server, a producer service as the API builds it, and runWorker consuming. `close` undoes it
// all, the process's AWS variables included.
import { pino } from 'pino';

import { buildService, loadServiceConfig, type Service } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createMetrics } from '../../src/observability/index.js';
import type { Store } from '../../src/store/index.js';
import { runWorker, type RunningWorker } from '../../src/worker/index.js';
import { LOCAL_AWS_CREDENTIALS, sqsQueueEnv, startFakeSqs, type FakeSqs } from '../support/fake-aws/sqs.js';
import {
  baseEnv,
  createTestDatabase,
  openPostgresStore,
  REDIS_URL,
  redisPrefix,
  type TestDatabase,
} from '../service/support.js';

export type QueueKind = 'bullmq' | 'sqs';

export interface QueueHarness {
  env: NodeJS.ProcessEnv;
  store: Store;
  producer: Service;
  /** The running worker, until stopWorker. */
  worker: RunningWorker | undefined;
  sqs: FakeSqs | undefined;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function startQueueHarness(opts: {
  kind: QueueKind;
  threads: number;
  concurrency: number;
  adminUrl: string;
  /** Names the SQS queue (`<name>.fifo`). */
  name: string;
  /** The rest of the environment (LLM settings...), over the queue's and the database's. */
  env: Record<string, string>;
}): Promise<QueueHarness> {
  const keys = redisPrefix();
  const saved = { ...process.env };
  let db: TestDatabase | undefined;
  let store: Store | undefined;
  let producer: Service | undefined;
  let sqs: FakeSqs | undefined;
  const h: Partial<QueueHarness> = {};
  const close = async () => {
    await h.worker?.stop().catch(() => {});
    await producer?.close();
    await store?.close();
    await keys.cleanup();
    await db?.drop();
    await sqs?.close();
    for (const k of [...Object.keys(LOCAL_AWS_CREDENTIALS), 'AWS_EC2_METADATA_DISABLED']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  };
  try {
    db = await createTestDatabase(opts.adminUrl);
    store = await openPostgresStore(db.url);
    let queueEnv: Record<string, string> = { REDIS_URL, WAFGEN_REDIS_PREFIX: keys.prefix };
    if (opts.kind === 'sqs') {
      sqs = await startFakeSqs();
      queueEnv = sqsQueueEnv(sqs, opts.name);
      // The SDK's default credential chain reads the process's environment.
      Object.assign(process.env, LOCAL_AWS_CREDENTIALS, { AWS_EC2_METADATA_DISABLED: 'true' });
    }
    const env = baseEnv({
      ...queueEnv,
      DATABASE_URL: db.url,
      WAFGEN_JOB_BACKOFF_MS: '50',
      WAFGEN_AUDIT_FSYNC: '0',
      ...opts.env,
    });
    producer = await buildService(loadConfig(env), loadServiceConfig(env).settings, {
      store,
      env,
      audit: false,
      logger: pino({ level: 'silent' }),
      metrics: createMetrics(),
    });
    if (producer.queue.kind !== opts.kind)
      throw new Error(`the producer's queue is ${producer.queue.kind}, not ${opts.kind}`);
    const worker = await runWorker(env, { threads: opts.threads, concurrency: opts.concurrency });
    if (worker.threads !== opts.threads)
      throw new Error(`the worker runs ${worker.threads} generation threads, not ${opts.threads}`);
    Object.assign(h, {
      env,
      store,
      producer,
      worker,
      sqs,
      close,
      async stopWorker() {
        await h.worker?.stop();
        h.worker = undefined;
      },
    });
    return h as QueueHarness;
  } catch (e) {
    await close();
    throw e;
  }
}
