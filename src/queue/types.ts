// The queue's interface: a producer side (add, look up, count) and a consumer side (run a handler
// with retries, backoff, a dead-letter state and graceful shutdown). BullMQ on Redis or Amazon SQS in
// production, an in-process queue when neither is configured; all behave the same to their callers.

export interface GenerateJobData {
  cveId: string;
  maxAttempts?: number;
  /** LLM candidates per attempt (1-8) and the judge `provider[:model]` (issue 15). */
  candidates?: number;
  judge?: string;
  /** First attempts of up to this many jobs running at once share one LLM call (1-8). */
  llmBatch?: number;
  /** Regenerate even when a rule for this CVE and engine version is already cached. */
  force?: boolean;
  /** Where the job came from: `api`, `webhook:github`, `webhook:generic`... */
  source?: string;
  principal?: string;
  requestId?: string;
}

export type QueueJobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'unknown';

export interface QueueJobInfo {
  id: string;
  state: QueueJobState;
  /** Attempts that ended in failure so far. */
  attemptsMade: number;
  failedReason?: string;
  data: GenerateJobData;
}

export interface AddOptions {
  /** Replace a finished job (completed or failed) that holds this id with a fresh run. */
  rerun?: boolean;
}

export interface QueueSnapshot {
  /** Jobs waiting to run. */
  depth: number;
  /** Age of the oldest waiting job; 0 when none waits. */
  oldestAgeSeconds: number;
}

export interface JobQueue {
  readonly kind: 'bullmq' | 'memory' | 'sqs';
  readonly name: string;
  /**
   * Adds the job under `id`. Idempotent: while a job with this id is waiting, delayed or running,
   * adding it again does nothing; a finished one is replaced only with `rerun`.
   */
  add(id: string, data: GenerateJobData, opts?: AddOptions): Promise<void>;
  get(id: string): Promise<QueueJobInfo | undefined>;
  counts(): Promise<Record<QueueJobState, number>>;
  snapshot(): Promise<QueueSnapshot>;
  /** Throws when the queue's backend does not answer. */
  ping(): Promise<void>;
  close(): Promise<unknown>;
}

export interface JobContext {
  id: string;
  data: GenerateJobData;
  /** 1 for the first run, 2 for the first retry... */
  attempt: number;
  maxAttempts: number;
  /**
   * Most jobs that can run at once with this one when fewer than the consumer's concurrency (a
   * worker Lambda's event: its records are all it runs): an LLM batch larger can never fill.
   */
  concurrent?: number;
}

interface FailureInfo {
  job: JobContext;
  error: Error;
  /** No retry follows: the job is dead (the dead-letter state). */
  final: boolean;
}

export interface ConsumerHooks {
  handler: (job: JobContext) => Promise<unknown>;
  /** Runs before the queue records the failure (and schedules the retry, when one follows). */
  onFailure?: (info: FailureInfo) => Promise<void>;
}

export interface ConsumerSettings {
  concurrency: number;
  /** Milliseconds a running job's lock lasts without renewal (a killed worker's job is recovered after it). */
  lockMs: number;
  /** Milliseconds between checks for stalled jobs (jobs whose worker died). */
  stalledIntervalMs: number;
  /** Times a job may stall before it counts as failed (default 2). */
  maxStalledCount?: number;
  /** Worker name, shown on the jobs it takes. */
  name?: string;
}

export interface CloseResult {
  /** Every running job finished within the grace period. */
  finished: boolean;
  /** Jobs handed back to the queue because the grace period ran out. */
  returned: string[];
  /**
   * Jobs still running that could not be handed back (the queue's server away): the queue gives
   * them to another worker once their lock expires, as for a worker that died.
   */
  abandoned?: string[];
  /** Why the queue's server could not be used while closing (its last connection error). */
  unavailable?: Error;
}

export interface JobConsumer {
  readonly kind: 'bullmq' | 'memory' | 'sqs';
  /** Jobs running now. */
  readonly running: number;
  /**
   * Stops taking jobs and waits up to `graceMs` for the running ones; those still running then are
   * handed back to the queue for another worker.
   */
  close(graceMs: number): Promise<CloseResult>;
}

export interface QueueSettings {
  /** Queue name (default `wafgen-generate`). */
  name?: string;
  /** Key prefix for BullMQ's keys (default `bull`). */
  prefix?: string;
  /** Runs per job before it is dead. */
  attempts: number;
  /** First retry delay; doubles each retry. */
  backoffMs: number;
}

/** The handler's way to say "retrying will not help" (bad input, unknown CVE): the job dies now. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

export const DEFAULT_QUEUE_NAME = 'wafgen-generate';
