/**
 * @module The job lifecycle in one place: enqueueing (idempotent ids, the store as the lasting
 * record), reading a job's state, and running it on a consumer (BullMQ in `wafgen worker`
 * processes, or the in-process queue): running with its attempt, succeeded with the rule version
 * and its verdict, queued again with the error before a retry, dead when retries run out or the
 * input can never work — including when the engine could write no rule: `error` is then the
 * no-rule message and `result` is `{ outcome: 'no-rule', noRule }` (no retry: the same input gives
 * the same answer; queueing the CVE again after adding evidence runs it again).
 */
import type { Logger } from 'pino';

import { errorMessage as message, InputError } from '../core/errors.js';
import {
  BullJobConsumer,
  MemoryJobQueue,
  PermanentJobError,
  SqsJobQueue,
  type ConsumerHooks,
  type ConsumerSettings,
  type GenerateJobData,
  type JobConsumer,
  type JobQueue,
} from '../queue/index.js';
import { isUniqueViolation, type Job, type Store } from '../store/index.js';
import { parseCveId } from './generate.js';
import { NoRuleError } from '../generation/no-rule.js';
import type { Config } from '../config/index.js';
import type { RuleService } from './rules.js';
import type { ServiceSettings } from './service-config.js';

/** What running jobs needs of the service. */
export interface JobHost {
  store: Store;
  rules: Pick<RuleService, 'generate'>;
  queue: JobQueue;
  config: Pick<Config, 'REDIS_URL'>;
  settings: Pick<ServiceSettings, 'queue' | 'redisPrefix'>;
  log: Logger;
}

/** The queue did not take the job (Redis away). */
export class QueueUnavailableError extends Error {
  override name = 'QueueUnavailableError';
}

export interface EnqueueRequest {
  cveId: string;
  maxAttempts?: number;
  candidates?: number;
  judge?: string;
  llmBatch?: number;
  force?: boolean;
  source: string;
  principal?: string;
  requestId?: string;
}

export interface EnqueueResult {
  jobId: string;
  cveId: string;
  status: Job['status'];
  /** A run was queued by this call (false: the same job was already queued, running or done). */
  created: boolean;
}

export interface JobView extends Job {
  /** The queue's view of the job, when it still holds it. */
  queue?: { state: string; attemptsMade: number; failedReason?: string };
}

export class JobService {
  constructor(
    private readonly store: Store,
    readonly queue: JobQueue,
    private readonly engineVersion: string,
  ) {}

  /** One id per CVE and engine version: enqueueing the same work twice is the same job. */
  jobId(cveId: string): string {
    return `gen-${cveId.toUpperCase()}-${this.engineVersion.replace(/[^A-Za-z0-9._-]/g, '-')}`;
  }

  async enqueue(req: EnqueueRequest): Promise<EnqueueResult> {
    const cveId = parseCveId(req.cveId);
    const id = this.jobId(cveId);
    const data: GenerateJobData = {
      cveId,
      source: req.source,
      ...(req.maxAttempts ? { maxAttempts: req.maxAttempts } : {}),
      ...(req.candidates ? { candidates: req.candidates } : {}),
      ...(req.judge ? { judge: req.judge } : {}),
      ...(req.llmBatch ? { llmBatch: req.llmBatch } : {}),
      ...(req.force ? { force: true } : {}),
      ...(req.principal ? { principal: req.principal } : {}),
      ...(req.requestId ? { requestId: req.requestId } : {}),
    };
    let row: Job | undefined;
    let created = false;
    try {
      row = await this.store.jobs.create({ id, kind: 'generate', cveId, payload: data });
      created = true;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      row = await this.store.jobs.get(id);
    }
    if (!row) throw new Error(`job ${id} vanished while enqueueing`);
    let rerun = false;
    if (!created) {
      // A degraded rule (the built-in engine's, every provider down) is not this engine's answer:
      // the same work enqueued again runs again, so an LLM rule replaces it once a provider answers.
      const degraded = (row.result as { degraded?: unknown } | null | undefined)?.degraded === true;
      if (row.status === 'succeeded' && !req.force && !degraded)
        return { jobId: id, cveId, status: row.status, created };
      if (row.status === 'failed' || row.status === 'dead' || row.status === 'succeeded') {
        rerun = true;
        row = (await this.store.jobs.update(id, { status: 'queued', attempts: 0, error: null })) ?? row;
      }
      // queued or running: make sure the queue holds it (its producer may have died in between);
      // adding an id the queue already has does nothing.
    }
    try {
      await this.queue.add(id, data, { rerun });
    } catch (e) {
      const reason = `queue unavailable: ${message(e)}`;
      if (created || rerun)
        await this.store.jobs.update(id, { status: 'failed', error: reason }).catch(() => {});
      throw new QueueUnavailableError(reason);
    }
    return { jobId: id, cveId, status: row.status, created: created || rerun };
  }

  async get(id: string): Promise<JobView | undefined> {
    let row = await this.store.jobs.get(id);
    if (!row) return undefined;
    let queue: JobView['queue'];
    if (row.status === 'queued' || row.status === 'running') {
      const q = await this.queue.get(id).catch(() => undefined);
      if (q) {
        queue = {
          state: q.state,
          attemptsMade: q.attemptsMade,
          ...(q.failedReason ? { failedReason: q.failedReason } : {}),
        };
        // A job the queue gave up on without its handler saying so (it stalled too often).
        if (q.state === 'failed')
          row =
            (await this.store.jobs.update(id, { status: 'dead', error: q.failedReason ?? 'failed' })) ?? row;
      }
    }
    return { ...row, ...(queue ? { queue } : {}) };
  }
}

interface JobResult {
  cveId: string;
  version?: number;
  /** True only when the verdict is `proven`. */
  passed: boolean;
  verdict: string;
  confidence: string;
  /** The rule's one-line headline. */
  summary: string;
  wcu?: number;
  engine: string;
  /** The rule came from the cache: this engine version had already produced it. */
  cached: boolean;
  /** The fallback engine wrote it (every LLM provider failed): enqueueing the CVE again runs it again. */
  degraded?: boolean;
}

/** How jobs' generations share LLM calls on this consumer (--llm-batch, issue 15 item 2). */
export interface JobBatching {
  /** The batch size of a job that names none (the process's WAFGEN_LLM_BATCH). */
  llmBatch?: number;
  /**
   * Most jobs this consumer runs at once: a batch larger can never fill, so a job's size is cut to
   * it (else every batched first attempt would wait out WAFGEN_LLM_BATCH_WINDOW_MS).
   */
  maxLlmBatch?: number;
}

/** The batch size a job's generation asks for on this consumer (undefined: the process default). */
export function jobLlmBatch(asked: number | undefined, batching: JobBatching = {}): number | undefined {
  const wanted = asked ?? batching.llmBatch;
  if (wanted === undefined || batching.maxLlmBatch === undefined) return wanted;
  return Math.max(1, Math.min(wanted, Math.floor(batching.maxLlmBatch)));
}

export interface WorkerOptions extends ConsumerSettings, Pick<JobBatching, 'llmBatch'> {
  /** Called after each job, for logs and tests. */
  onJob?: (event: {
    id: string;
    outcome: 'succeeded' | 'retry' | 'dead' | 'skipped';
    error?: string;
  }) => void;
}
/** The job lifecycle as queue hooks (the consumers below, and the SQS worker Lambda). */
export function jobHooks(
  service: JobHost,
  log: Logger,
  onJob?: WorkerOptions['onJob'],
  batching?: JobBatching,
): ConsumerHooks {
  const { store } = service;
  return {
    async handler(job) {
      // Running with this attempt, unless it already succeeded: one statement.
      const row = await store.jobs.claim(job.id, job.attempt);
      if (row?.status === 'succeeded') {
        // Delivered again after it finished (a producer re-added it, a stalled check raced): done.
        onJob?.({ id: job.id, outcome: 'skipped' });
        return row.result;
      }
      if (!row) {
        // Queued while the store was away: the job record is made here.
        await store.jobs
          .create({
            id: job.id,
            kind: 'generate',
            cveId: job.data.cveId,
            payload: job.data,
            status: 'running',
          })
          .catch(() => {});
      }
      log.info({ jobId: job.id, cveId: job.data.cveId, attempt: job.attempt }, 'job started');
      const llmBatch = jobLlmBatch(job.data.llmBatch, {
        ...batching,
        ...(job.concurrent
          ? { maxLlmBatch: Math.min(job.concurrent, batching?.maxLlmBatch ?? job.concurrent) }
          : {}),
      });
      let outcome;
      try {
        outcome = await service.rules.generate(job.data.cveId, {
          ...(job.data.maxAttempts ? { maxAttempts: job.data.maxAttempts } : {}),
          ...(job.data.candidates ? { candidates: job.data.candidates } : {}),
          ...(job.data.judge ? { judge: job.data.judge } : {}),
          // Always said when known: a generation thread routes the jobs of one batch together.
          ...(llmBatch ? { llmBatch } : {}),
          ...(job.data.force ? { force: true } : {}),
          requestId: job.data.requestId ?? job.id,
          ...(job.data.principal ? { principal: job.data.principal } : {}),
          degrade: false,
        });
      } catch (e) {
        if (e instanceof NoRuleError) {
          await store.jobs
            .update(job.id, { result: { outcome: 'no-rule', noRule: e.facts } })
            .catch(() => {});
          throw new PermanentJobError(e.message);
        }
        if (e instanceof InputError) throw new PermanentJobError(e.message);
        throw e;
      }
      const report = outcome.result.report as { wcu?: number };
      const result: JobResult = {
        cveId: outcome.result.cveId,
        ...(outcome.result.version !== undefined ? { version: outcome.result.version } : {}),
        passed: outcome.result.passed,
        verdict: outcome.result.verdict,
        confidence: outcome.result.confidence,
        summary: outcome.result.summary,
        ...(typeof report.wcu === 'number' ? { wcu: report.wcu } : {}),
        engine: outcome.result.engine,
        cached: outcome.cache === 'hit',
        ...(outcome.result.degraded ? { degraded: true } : {}),
      };
      await store.jobs.update(job.id, { status: 'succeeded', result, error: null, attempts: job.attempt });
      log.info({ jobId: job.id, cveId: result.cveId, version: result.version }, 'job succeeded');
      onJob?.({ id: job.id, outcome: 'succeeded' });
      return result;
    },
    async onFailure({ job, error, final }) {
      await store.jobs
        .update(job.id, { status: final ? 'dead' : 'queued', error: error.message, attempts: job.attempt })
        .catch(() => {});
      log.warn(
        { jobId: job.id, cveId: job.data.cveId, attempt: job.attempt, err: error.message },
        final ? 'job dead' : 'job failed; retrying',
      );
      onJob?.({ id: job.id, outcome: final ? 'dead' : 'retry', error: error.message });
    },
  };
}

/** Starts consuming the service's queue: BullMQ or SQS when it is one, else the in-process queue. */
export function startWorker(service: JobHost, opts: WorkerOptions): JobConsumer {
  const hooks = jobHooks(service, service.log, opts.onJob, {
    ...(opts.llmBatch ? { llmBatch: opts.llmBatch } : {}),
    maxLlmBatch: opts.concurrency,
  });
  if (service.queue instanceof MemoryJobQueue) return service.queue.process(hooks, opts.concurrency);
  if (service.queue instanceof SqsJobQueue)
    return service.queue.consume(hooks, { concurrency: opts.concurrency, log: service.log });
  if (!service.config.REDIS_URL) throw new Error('a BullMQ worker needs REDIS_URL');
  return new BullJobConsumer(
    service.config.REDIS_URL,
    { ...service.settings.queue, prefix: `${service.settings.redisPrefix}bull` },
    opts,
    hooks,
  );
}
