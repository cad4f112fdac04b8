// The in-process queue: the same contract as BullMQ (idempotent ids, retries with exponential
// backoff, a dead state, concurrency, graceful close) for a single process without Redis.
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

interface Entry extends QueueJobInfo {
  timer?: NodeJS.Timeout;
  /** When it (last) started waiting. */
  since: number;
}

/** Finished jobs kept for look-ups (the store keeps the lasting record). */
const KEEP_FINISHED = 10_000;

export class MemoryJobQueue implements JobQueue, JobConsumer {
  readonly kind = 'memory';
  readonly name: string;
  private readonly jobs = new Map<string, Entry>();
  private readonly waiting: string[] = [];
  private readonly runningJobs = new Map<string, Promise<void>>();
  private hooks: ConsumerHooks | undefined;
  private concurrency = 1;
  private closed = false;

  constructor(private readonly settings: QueueSettings) {
    this.name = settings.name ?? DEFAULT_QUEUE_NAME;
  }

  get running(): number {
    return this.runningJobs.size;
  }

  /** Starts consuming in this process. */
  process(hooks: ConsumerHooks, concurrency: number): JobConsumer {
    this.hooks = hooks;
    this.concurrency = Math.max(1, concurrency);
    this.pump();
    return this;
  }

  async add(id: string, data: GenerateJobData, opts: AddOptions = {}): Promise<void> {
    if (this.closed) throw new Error('queue is closed');
    const existing = this.jobs.get(id);
    if (existing) {
      const finished = existing.state === 'completed' || existing.state === 'failed';
      if (!finished || !opts.rerun) return;
      this.jobs.delete(id);
    }
    this.jobs.set(id, { id, state: 'waiting', attemptsMade: 0, data, since: Date.now() });
    this.waiting.push(id);
    this.trim();
    this.pump();
  }

  async get(id: string): Promise<QueueJobInfo | undefined> {
    const e = this.jobs.get(id);
    if (!e) return undefined;
    const { timer: _timer, since: _since, ...info } = e;
    return { ...info };
  }

  async counts(): Promise<Record<QueueJobState, number>> {
    const out: Record<QueueJobState, number> = {
      waiting: 0,
      active: 0,
      delayed: 0,
      completed: 0,
      failed: 0,
      unknown: 0,
    };
    for (const e of this.jobs.values()) out[e.state]++;
    return out;
  }

  async snapshot(): Promise<QueueSnapshot> {
    const waiting = this.waiting.map((id) => this.jobs.get(id)).filter((e) => e?.state === 'waiting');
    const oldest = Math.min(...waiting.map((e) => e!.since));
    return {
      depth: waiting.length,
      oldestAgeSeconds: waiting.length > 0 ? Math.max(0, (Date.now() - oldest) / 1000) : 0,
    };
  }

  async ping(): Promise<void> {}

  private trim(): void {
    if (this.jobs.size <= KEEP_FINISHED) return;
    for (const [id, e] of this.jobs) {
      if (this.jobs.size <= KEEP_FINISHED) break;
      if (e.state === 'completed' || e.state === 'failed') this.jobs.delete(id);
    }
  }

  private pump(): void {
    while (
      !this.closed &&
      this.hooks &&
      this.runningJobs.size < this.concurrency &&
      this.waiting.length > 0
    ) {
      const id = this.waiting.shift()!;
      const entry = this.jobs.get(id);
      if (!entry || entry.state !== 'waiting') continue;
      const run = this.run(entry).finally(() => {
        this.runningJobs.delete(id);
        this.pump();
      });
      this.runningJobs.set(id, run);
    }
  }

  private async run(entry: Entry): Promise<void> {
    const hooks = this.hooks!;
    entry.state = 'active';
    const job: JobContext = {
      id: entry.id,
      data: entry.data,
      attempt: entry.attemptsMade + 1,
      maxAttempts: this.settings.attempts,
    };
    try {
      await hooks.handler(job);
      entry.state = 'completed';
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      const final = error instanceof PermanentJobError || job.attempt >= job.maxAttempts;
      await hooks.onFailure?.({ job, error, final }).catch(() => {});
      entry.attemptsMade++;
      entry.failedReason = error.message;
      if (final || this.closed) {
        entry.state = final ? 'failed' : 'waiting';
        return;
      }
      entry.state = 'delayed';
      entry.timer = setTimeout(
        () => {
          entry.timer = undefined;
          if (entry.state !== 'delayed') return;
          entry.state = 'waiting';
          entry.since = Date.now();
          this.waiting.push(entry.id);
          this.pump();
        },
        this.settings.backoffMs * 2 ** (entry.attemptsMade - 1),
      );
      entry.timer.unref();
    }
  }

  async close(graceMs = 0): Promise<CloseResult> {
    this.closed = true;
    for (const e of this.jobs.values()) if (e.timer) clearTimeout(e.timer);
    const running = [...this.runningJobs.keys()];
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.allSettled([...this.runningJobs.values()]).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    return { finished, returned: finished ? [] : running.filter((id) => this.runningJobs.has(id)) };
  }
}
