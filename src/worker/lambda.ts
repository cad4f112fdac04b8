/**
 * @module The worker Lambda: an SQS event source mapping on the FIFO job queue calls `handler` with
 * a batch of messages; each job runs through the same lifecycle as `wafgen worker` (app/jobs.ts:
 * the store's job record, retries with backoff, dead letters), and the answer is a partial batch
 * response: the messages whose jobs failed with a retry to follow are `batchItemFailures` (their
 * backoff is already set on them), the others are deleted by the mapping. Turn on
 * `ReportBatchItemFailures` in the mapping. The service is opened on the first invocation (secrets
 * from Secrets Manager applied then) and reused while the container lives.
 *
 * Configure with the service's variables: WAFGEN_QUEUE=sqs, WAFGEN_SQS_QUEUE_URL, WAFGEN_SQS_DLQ_URL,
 * DATABASE_URL (or a DynamoDB store), and WAFGEN_WORKER_CONCURRENCY for jobs at once per batch.
 */
import { z } from 'zod';

import {
  generationDefaults,
  jobHooks,
  openService,
  refreshSecretsInEnv,
  type OpenServiceOptions,
  type RunningService,
} from '../app/index.js';
import { processSqsRecords, SqsJobQueue, type SqsBatchResult } from '../queue/index.js';
import { defaultMetrics, type Metrics } from '../observability/index.js';
import { withEmbeddedMetrics } from './emf.js';

/** Lambda sends at most 10,000 records per batch (standard queues; FIFO at most 10). */
const SqsEvent = z.object({
  Records: z
    .array(
      z.object({
        messageId: z.string().min(1).max(256),
        receiptHandle: z.string().min(1).max(8192),
        body: z.string().optional(),
        attributes: z
          .object({
            ApproximateReceiveCount: z.string().max(16).optional(),
            MessageGroupId: z.string().max(128).optional(),
          })
          .optional(),
      }),
    )
    .max(10_000),
});

/**
 * Opens on first use and keeps it; a failed open is tried again on the next invocation. When
 * `refresh` says the secret's values were rotated (checked once its TTL has passed), the service
 * is closed and opened again on the new values: Lambda runs one batch at a time per container, so
 * nothing runs on it between invocations.
 */
export function reusedService(
  open: () => Promise<RunningService>,
  refresh?: () => Promise<boolean>,
): () => Promise<RunningService> {
  let pending: Promise<RunningService> | undefined;
  return async () => {
    const current = pending && refresh ? await pending.catch(() => undefined) : undefined;
    if (current && (await refresh!())) {
      pending = undefined;
      await current.close().catch(() => {});
    }
    return (pending ??= open().catch((e: unknown) => {
      pending = undefined;
      throw e;
    }));
  };
}

export function createSqsHandler(
  open: () => Promise<RunningService>,
): (event: unknown) => Promise<SqsBatchResult> {
  // Per service: reusedService opens a new one when the secrets were rotated, and the job hooks
  // must run on it (its store, its engine with the new keys), not on the one it closed.
  const hooksOf = new WeakMap<RunningService, ReturnType<typeof jobHooks>>();
  return async (event) => {
    const parsed = SqsEvent.safeParse(event);
    // Not an SQS event: a wiring mistake; throwing leaves any messages to come back.
    if (!parsed.success) throw new Error('the worker Lambda takes SQS events (Records of SQS messages)');
    const running = await open();
    const { service, serviceConfig, log } = running;
    if (!(service.queue instanceof SqsJobQueue))
      throw new Error('the worker Lambda needs WAFGEN_QUEUE=sqs and WAFGEN_SQS_QUEUE_URL');
    // WAFGEN_LLM_BATCH for jobs that name no batch: given here, it is cut to the records this
    // invocation runs at once like a job's own (else a batch the event cannot fill waits out
    // WAFGEN_LLM_BATCH_WINDOW_MS).
    let hooks = hooksOf.get(running);
    if (!hooks) {
      const { llmBatch } = generationDefaults(process.env);
      hooks = jobHooks(service, log, undefined, llmBatch ? { llmBatch } : undefined);
      hooksOf.set(running, hooks);
    }
    return processSqsRecords(service.queue, hooks, parsed.data.Records, {
      concurrency: serviceConfig.worker.concurrency,
      log,
    });
  };
}

/**
 * The service as the worker Lambda opens it: no in-process consumer, no API authentication, and
 * metrics that also write one EMF line per generation (`writeEmf`, default stdout: CloudWatch Logs).
 * Tests give their own line sink, metrics registry and reference fetcher.
 */
export function openLambdaService(
  env: NodeJS.ProcessEnv = process.env,
  opts: Pick<OpenServiceOptions, 'logger' | 'audit' | 'store' | 'fetcher'> & {
    metrics?: Metrics;
    writeEmf?: (line: string) => void;
  } = {},
): Promise<RunningService> {
  const { metrics, writeEmf, ...rest } = opts;
  return openService(env, {
    ...rest,
    component: 'worker',
    inProcessWorker: false,
    requireAuth: false,
    // No port to scrape in Lambda: one EMF log line per generation becomes CloudWatch metrics.
    metrics: withEmbeddedMetrics(metrics ?? defaultMetrics(), writeEmf),
  });
}

export const handler = createSqsHandler(
  reusedService(
    () => openLambdaService(process.env),
    // Past the secret's TTL (WAFGEN_SECRETS_TTL_SECONDS) a warm container reads it again.
    () => refreshSecretsInEnv(process.env),
  ),
);
