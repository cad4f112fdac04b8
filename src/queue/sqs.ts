/**
 * @module Amazon SQS: the serverless queue (`WAFGEN_QUEUE=sqs`). A FIFO queue whose message group is
 * the job id, so the same semantics as BullMQ hold:
 * - idempotent ids: the deduplication id is the job id (a second add within SQS's 5-minute window
 *   is dropped by SQS); a later duplicate waits behind the first in its group (a group is locked
 *   while one of its messages is in flight), so two runs of one job never overlap, and the job's
 *   store record (app/jobs.ts) makes the second delivery of a finished job a no-op;
 * - retries with exponential backoff: a failed attempt's message is made visible again after the
 *   backoff (ChangeMessageVisibility); the attempt is SQS's receive count, so a worker that died
 *   mid-job used up an attempt too;
 * - dead letters: a job that fails its last attempt (or can never work, PermanentJobError) is sent to
 *   the dead-letter queue and deleted; one whose workers died on every attempt is moved there on the
 *   next receive; the queue's own redrive policy (maxReceiveCount above the attempts) is the backstop;
 * - a lease: each received message is invisible for the visibility timeout (longer than the slowest
 *   generation, checked by the configuration) and the timeout is renewed while the job runs
 *   (heartbeat); a worker that dies stops renewing and the message is delivered again.
 * SQS cannot look a message up by id: a job's state comes from the store's job record.
 * The SDK is loaded on first use, so a service on Redis or in process never loads it.
 */
import { createHash } from 'node:crypto';

import type * as SqsModule from '@aws-sdk/client-sqs';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';

import {
  type AddOptions,
  type CloseResult,
  type ConsumerHooks,
  type GenerateJobData,
  type JobConsumer,
  type JobContext,
  type JobQueue,
  type QueueJobInfo,
  type QueueJobState,
  type QueueSettings,
  type QueueSnapshot,
  DEFAULT_QUEUE_NAME,
  PermanentJobError,
} from './types.js';

export interface SqsQueueSettings {
  /** The FIFO queue's URL (`https://sqs.<region>.amazonaws.com/<account>/<name>.fifo`). */
  queueUrl: string;
  /** The dead-letter queue's URL (FIFO too); without one a dead job is only recorded in the store. */
  dlqUrl?: string;
  region: string;
  /** Endpoint override (a VPC endpoint, a local test server). */
  endpoint?: string;
  /** Seconds a received message stays invisible, renewed while its job runs. */
  visibilityTimeoutS: number;
  /** Long-poll wait of a receive, in seconds (0-20). */
  waitTimeS: number;
}

/** What a consumer logs (a pino logger fits). */
interface QueueLog {
  warn(obj: object, msg: string): void;
}

/** Largest message body read (ours are well under 1 KB). */
const MAX_BODY_BYTES = 64 * 1024;
/** Longest visibility timeout SQS accepts (12 h). */
const MAX_VISIBILITY_S = 43_200;

const JobDataSchema = z.object({
  cveId: z.string().min(1).max(64),
  maxAttempts: z.number().int().min(1).max(50).optional(),
  // Issue 15's per-job options: without them here a message's candidates, judge and LLM batch
  // were dropped on the way through SQS (zod strips unknown keys).
  candidates: z.number().int().min(1).max(8).optional(),
  judge: z.string().min(1).max(240).optional(),
  llmBatch: z.number().int().min(1).max(8).optional(),
  force: z.boolean().optional(),
  source: z.string().max(200).optional(),
  principal: z.string().max(256).optional(),
  requestId: z.string().max(256).optional(),
});

const BodySchema = z.object({
  v: z.literal(1),
  id: z.string().regex(/^[\w.:@-]{1,256}$/),
  data: JobDataSchema,
});

type Body = z.infer<typeof BodySchema>;

/** A message body as this queue writes it, or why it is not one (never quoting the body). */
function parseBody(text: string | undefined): Body | string {
  if (text === undefined) return 'no body';
  if (text.length > MAX_BODY_BYTES) return `body over ${MAX_BODY_BYTES} bytes`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  const parsed = BodySchema.safeParse(json);
  return parsed.success
    ? parsed.data
    : `body is not a wafgen job (${parsed.error.issues.map((i) => i.path.join('.') || 'body').join(', ')})`;
}

/** SQS group and deduplication ids: up to 128 characters; longer job ids are hashed. */
function sqsId(id: string): string {
  return id.length <= 128 ? id : createHash('sha256').update(id).digest('hex');
}

type SqsSdk = typeof SqsModule;

/** The SDK and one client, made on first use. */
class SqsConnection {
  private loaded: Promise<{ sdk: SqsSdk; client: SQSClient }> | undefined;

  constructor(private readonly settings: SqsQueueSettings) {}

  get(): Promise<{ sdk: SqsSdk; client: SQSClient }> {
    this.loaded ??= import('@aws-sdk/client-sqs').then((sdk) => ({
      sdk,
      client: new sdk.SQSClient({
        region: this.settings.region,
        ...(this.settings.endpoint ? { endpoint: this.settings.endpoint } : {}),
      }),
    }));
    return this.loaded;
  }

  async close(): Promise<void> {
    if (this.loaded) (await this.loaded.catch(() => undefined))?.client.destroy();
  }
}

export class SqsJobQueue implements JobQueue {
  readonly kind = 'sqs';
  readonly name: string;
  readonly connection: SqsConnection;

  constructor(
    readonly sqs: SqsQueueSettings,
    readonly settings: QueueSettings,
  ) {
    this.name = settings.name ?? DEFAULT_QUEUE_NAME;
    this.connection = new SqsConnection(sqs);
  }

  async add(id: string, data: GenerateJobData, opts: AddOptions = {}): Promise<void> {
    const { sdk, client } = await this.connection.get();
    const body: Body = { v: 1, id, data };
    await client.send(
      new sdk.SendMessageCommand({
        QueueUrl: this.sqs.queueUrl,
        MessageBody: JSON.stringify(body),
        MessageGroupId: sqsId(id),
        // A rerun is new work: a deduplication id of its own, so SQS does not drop it as a repeat.
        MessageDeduplicationId: opts.rerun ? sqsId(`${id}.${Date.now().toString(36)}`) : sqsId(id),
      }),
    );
  }

  /** SQS cannot find a message by id: the job's store record is its state. */
  async get(_id: string): Promise<QueueJobInfo | undefined> {
    return undefined;
  }

  private async attributes(url: string): Promise<Record<string, string>> {
    const { sdk, client } = await this.connection.get();
    const out = await client.send(
      new sdk.GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    return out.Attributes ?? {};
  }

  /**
   * SQS's approximate counts: visible messages wait, in-flight ones are running or waiting out a
   * retry's backoff (SQS cannot tell them apart), the dead-letter queue's are failed.
   */
  async counts(): Promise<Record<QueueJobState, number>> {
    const [main, dead] = await Promise.all([
      this.attributes(this.sqs.queueUrl),
      this.sqs.dlqUrl ? this.attributes(this.sqs.dlqUrl) : Promise.resolve(undefined),
    ]);
    const n = (a: Record<string, string> | undefined, k: string) => Number(a?.[k] ?? 0) || 0;
    return {
      waiting: n(main, 'ApproximateNumberOfMessages'),
      active: n(main, 'ApproximateNumberOfMessagesNotVisible'),
      delayed: n(main, 'ApproximateNumberOfMessagesDelayed'),
      completed: 0,
      failed: n(dead, 'ApproximateNumberOfMessages'),
      unknown: 0,
    };
  }

  /** Depth from SQS; the oldest message's age is not in its API (CloudWatch's ApproximateAgeOfOldestMessage has it): 0. */
  async snapshot(): Promise<QueueSnapshot> {
    const main = await this.attributes(this.sqs.queueUrl);
    return { depth: Number(main.ApproximateNumberOfMessages ?? 0) || 0, oldestAgeSeconds: 0 };
  }

  async ping(): Promise<void> {
    const { sdk, client } = await this.connection.get();
    await client.send(
      new sdk.GetQueueAttributesCommand({ QueueUrl: this.sqs.queueUrl, AttributeNames: ['QueueArn'] }),
    );
  }

  /** Starts a long-running consumer in this process (`wafgen worker` with WAFGEN_QUEUE=sqs). */
  consume(hooks: ConsumerHooks, opts: SqsConsumerOptions): SqsJobConsumer {
    return new SqsJobConsumer(this, hooks, opts);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

/** How one delivery ended. */
type Outcome =
  /** The job ran to success, or was dead-lettered: the message is (to be) deleted. */
  | 'done'
  /** Failed with a retry to follow: visible again after the backoff. */
  | 'retry'
  /** Not run (the consumer is closing): visible again now. */
  | 'returned';

/** A message as the consumer or the Lambda event gives it. */
interface Delivery {
  messageId: string;
  receiptHandle: string;
  body: string | undefined;
  receiveCount: number;
}

interface RunOptions {
  /** Delete the message after success (the Lambda's event source mapping deletes it itself). */
  deleteOnSuccess: boolean;
  log?: QueueLog;
  /** Jobs that run at once at most (JobContext.concurrent). */
  concurrent?: number;
}

/**
 * Runs one delivered message's job: heartbeat while it runs, then delete, schedule the retry, or
 * dead-letter it. Shared by the long-running consumer and the worker Lambda.
 */
async function runDelivery(
  queue: SqsJobQueue,
  hooks: ConsumerHooks,
  m: Delivery,
  opts: RunOptions,
): Promise<Outcome> {
  const { sdk, client } = await queue.connection.get();
  const { queueUrl, dlqUrl, visibilityTimeoutS } = queue.sqs;
  const remove = () =>
    client.send(new sdk.DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.receiptHandle }));
  const deadLetter = async (body: string, groupId: string) => {
    if (dlqUrl)
      await client.send(
        new sdk.SendMessageCommand({
          QueueUrl: dlqUrl,
          MessageBody: body,
          MessageGroupId: groupId,
          MessageDeduplicationId: sqsId(m.messageId),
        }),
      );
    await remove();
  };
  const parsed = parseBody(m.body);
  if (typeof parsed === 'string') {
    // Not ours, or damaged: nothing to run, and retrying cannot help.
    opts.log?.warn({ messageId: m.messageId, reason: parsed }, 'sqs message is not a job; dead-lettered');
    await deadLetter(m.body ?? '', sqsId(m.messageId));
    return 'done';
  }
  const job: JobContext = {
    id: parsed.id,
    data: parsed.data,
    attempt: m.receiveCount,
    maxAttempts: queue.settings.attempts,
    ...(opts.concurrent ? { concurrent: opts.concurrent } : {}),
  };
  const body = JSON.stringify(parsed);
  if (job.attempt > job.maxAttempts) {
    // Every attempt's worker died before it could say how the job ended.
    const error = new Error(`the job's worker stopped on each of its ${job.maxAttempts} attempts`);
    await hooks.onFailure?.({ job, error, final: true }).catch(() => {});
    await deadLetter(body, sqsId(job.id));
    return 'done';
  }
  // The lease: renewed at a third of the timeout, so two missed renewals still leave it held.
  const heartbeat = setInterval(
    () => {
      client
        .send(
          new sdk.ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: m.receiptHandle,
            VisibilityTimeout: visibilityTimeoutS,
          }),
        )
        .catch((e: unknown) =>
          opts.log?.warn(
            { jobId: job.id, err: e instanceof Error ? e.name : String(e) },
            'could not extend the job message visibility',
          ),
        );
    },
    Math.max(200, (visibilityTimeoutS * 1000) / 3),
  );
  heartbeat.unref();
  try {
    await hooks.handler(job);
  } catch (e) {
    clearInterval(heartbeat);
    const error = e instanceof Error ? e : new Error(String(e));
    const final = error instanceof PermanentJobError || job.attempt >= job.maxAttempts;
    await hooks.onFailure?.({ job, error, final }).catch(() => {});
    if (final) {
      await deadLetter(body, sqsId(job.id));
      return 'done';
    }
    const backoffS = Math.min(
      MAX_VISIBILITY_S,
      Math.ceil((queue.settings.backoffMs * 2 ** (job.attempt - 1)) / 1000),
    );
    await client.send(
      new sdk.ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: m.receiptHandle,
        VisibilityTimeout: backoffS,
      }),
    );
    return 'retry';
  }
  clearInterval(heartbeat);
  if (opts.deleteOnSuccess) await remove();
  return 'done';
}

export interface SqsConsumerOptions {
  /** Jobs at once. */
  concurrency: number;
  log?: QueueLog;
}

/**
 * The long-running consumer: long-polls SQS while it has a free slot, runs each job with its
 * heartbeat, and on close waits for the running jobs, then makes the unfinished ones visible again.
 */
export class SqsJobConsumer implements JobConsumer {
  readonly kind = 'sqs';
  private readonly active = new Map<string, { handle: string; done: Promise<void> }>();
  private closing = false;
  private receiving: AbortController | undefined;
  private wake: (() => void) | undefined;
  private readonly loop: Promise<void>;
  /** The last receive error while SQS did not answer (undefined once it does). */
  lastError: Error | undefined;

  constructor(
    private readonly queue: SqsJobQueue,
    private readonly hooks: ConsumerHooks,
    private readonly opts: SqsConsumerOptions,
  ) {
    this.loop = this.run();
  }

  get running(): number {
    return this.active.size;
  }

  private async run(): Promise<void> {
    const { sdk, client } = await this.queue.connection.get();
    const concurrency = Math.max(1, this.opts.concurrency);
    while (!this.closing) {
      const free = concurrency - this.active.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      let messages: Message[];
      try {
        this.receiving = new AbortController();
        const out = await client.send(
          new sdk.ReceiveMessageCommand({
            QueueUrl: this.queue.sqs.queueUrl,
            MaxNumberOfMessages: Math.min(10, free),
            VisibilityTimeout: this.queue.sqs.visibilityTimeoutS,
            WaitTimeSeconds: this.queue.sqs.waitTimeS,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
          { abortSignal: this.receiving.signal },
        );
        messages = out.Messages ?? [];
        this.lastError = undefined;
      } catch (e) {
        if (this.closing) break;
        this.lastError = e instanceof Error ? e : new Error(String(e));
        this.opts.log?.warn({ err: this.lastError.name }, 'sqs receive failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      for (const m of messages) {
        if (!m.MessageId || !m.ReceiptHandle) continue;
        const delivery: Delivery = {
          messageId: m.MessageId,
          receiptHandle: m.ReceiptHandle,
          body: m.Body,
          receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1) || 1,
        };
        if (this.closing) {
          await this.handBack(delivery.receiptHandle);
          continue;
        }
        this.start(delivery);
      }
    }
  }

  private start(m: Delivery): void {
    const done = runDelivery(this.queue, this.hooks, m, { deleteOnSuccess: true, ...this.opts })
      .then(
        () => {},
        (e: unknown) =>
          this.opts.log?.warn(
            { messageId: m.messageId, err: e instanceof Error ? e.name : String(e) },
            'sqs job settlement failed; the message returns when its visibility times out',
          ),
      )
      .finally(() => {
        this.active.delete(m.messageId);
        this.wake?.();
        this.wake = undefined;
      });
    this.active.set(m.messageId, { handle: m.receiptHandle, done });
  }

  /** Makes a message visible again now (another worker takes it). */
  private async handBack(receiptHandle: string): Promise<boolean> {
    const { sdk, client } = await this.queue.connection.get();
    try {
      await client.send(
        new sdk.ChangeMessageVisibilityCommand({
          QueueUrl: this.queue.sqs.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: 0,
        }),
      );
      return true;
    } catch {
      return false;
    }
  }

  async close(graceMs: number): Promise<CloseResult> {
    this.closing = true;
    this.receiving?.abort();
    this.wake?.();
    await this.loop.catch(() => {});
    const deadline = Date.now() + graceMs;
    while (this.active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const finished = this.active.size === 0;
    const returned: string[] = [];
    const abandoned: string[] = [];
    for (const [id, { handle }] of this.active)
      ((await this.handBack(handle)) ? returned : abandoned).push(id);
    return {
      finished,
      returned,
      ...(abandoned.length > 0 ? { abandoned } : {}),
      ...(abandoned.length > 0 && this.lastError ? { unavailable: this.lastError } : {}),
    };
  }
}

/** One record of an SQS event as Lambda delivers it (the fields used). */
export interface SqsEventRecord {
  messageId: string;
  receiptHandle: string;
  body?: string;
  attributes?: { ApproximateReceiveCount?: string; MessageGroupId?: string };
}

export interface SqsBatchResult {
  batchItemFailures: { itemIdentifier: string }[];
}

/**
 * A Lambda batch: messages of different jobs run at once (up to `concurrency`), those of one job
 * (one FIFO group) one after the other, and after a failure the rest of that group is left for
 * later, in order. The failed ones are reported as `batchItemFailures` (partial batch response);
 * the event source mapping deletes the others.
 */
export async function processSqsRecords(
  queue: SqsJobQueue,
  hooks: ConsumerHooks,
  records: readonly SqsEventRecord[],
  opts: SqsConsumerOptions,
): Promise<SqsBatchResult> {
  const groups = new Map<string, SqsEventRecord[]>();
  for (const r of records) {
    const key = r.attributes?.MessageGroupId ?? r.messageId;
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  const failures: string[] = [];
  const pending = [...groups.values()];
  // This event's records are all the invocation runs: a job's LLM batch can fill only with the
  // jobs running beside it (one per group, up to the concurrency).
  const concurrent = Math.max(1, Math.min(opts.concurrency, pending.length));
  const runGroup = async (group: SqsEventRecord[]) => {
    for (let i = 0; i < group.length; i++) {
      const r = group[i]!;
      let outcome: Outcome | 'error';
      try {
        outcome = await runDelivery(
          queue,
          hooks,
          {
            messageId: r.messageId,
            receiptHandle: r.receiptHandle,
            body: r.body,
            receiveCount: Number(r.attributes?.ApproximateReceiveCount ?? 1) || 1,
          },
          { deleteOnSuccess: false, concurrent, ...(opts.log ? { log: opts.log } : {}) },
        );
      } catch (e) {
        opts.log?.warn(
          { messageId: r.messageId, err: e instanceof Error ? e.name : String(e) },
          'sqs job settlement failed',
        );
        outcome = 'error';
      }
      if (outcome !== 'done') {
        for (const rest of group.slice(i)) failures.push(rest.messageId);
        return;
      }
    }
  };
  const lanes = Array.from({ length: concurrent }, async () => {
    for (let g = pending.shift(); g; g = pending.shift()) await runGroup(g);
  });
  await Promise.all(lanes);
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
