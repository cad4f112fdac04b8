// The queue: the in-process implementation's contract, then BullMQ on the real Redis with the jobs'
// records in a real PostgreSQL database: idempotent ids, retries with backoff into the dead state,
// concurrency per worker, and real worker processes killed with SIGKILL or stopped with SIGTERM.
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';

import { buildService, type Service, loadServiceConfig, startWorker } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import { BuiltinEngine } from '../../src/generation/builtin/index.js';
import type { Engine, Feedback, GenerationInput, Proposal } from '../../src/generation/types.js';
import { createMetrics } from '../../src/observability/index.js';
import { MemoryJobQueue, PermanentJobError, type JobContext } from '../../src/queue/index.js';
import type { Store } from '../../src/store/index.js';
import {
  baseEnv,
  createTestDatabase,
  openPostgresStore,
  postgresAdminUrl,
  REDIS_URL,
  redisAvailable,
  redisPrefix,
  sleep,
  spawnTs,
  waitFor,
  type Child,
  type TestDatabase,
} from './support.js';

describe('in-process queue', () => {
  it('runs each id once while it is pending, retries with backoff, and dies on exhaustion', async () => {
    const q = new MemoryJobQueue({ attempts: 3, backoffMs: 20 });
    const runs: JobContext[] = [];
    const failures: { id: string; final: boolean }[] = [];
    q.process(
      {
        handler: async (job) => {
          runs.push(job);
          if (job.data.cveId === 'CVE-2000-0001') throw new Error('flaky');
          if (job.data.cveId === 'CVE-2000-0002') throw new PermanentJobError('never works');
          await sleep(10);
        },
        onFailure: async ({ job, final }) => {
          failures.push({ id: job.id, final });
        },
      },
      2,
    );
    await q.add('ok', { cveId: 'CVE-2000-0000' });
    await q.add('ok', { cveId: 'CVE-2000-0000' });
    await q.add('flaky', { cveId: 'CVE-2000-0001' });
    await q.add('bad', { cveId: 'CVE-2000-0002' });
    await waitFor('jobs to settle', async () => {
      const c = await q.counts();
      return c.completed === 1 && c.failed === 2;
    });
    expect(runs.filter((r) => r.id === 'ok')).toHaveLength(1);
    expect(runs.filter((r) => r.id === 'flaky').map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(failures.filter((f) => f.id === 'flaky')).toEqual([
      { id: 'flaky', final: false },
      { id: 'flaky', final: false },
      { id: 'flaky', final: true },
    ]);
    expect(failures.filter((f) => f.id === 'bad')).toEqual([{ id: 'bad', final: true }]);
    expect(await q.get('flaky')).toMatchObject({ state: 'failed', attemptsMade: 3, failedReason: 'flaky' });
    // A finished id is replaced only on purpose.
    await q.add('ok', { cveId: 'CVE-2000-0000' });
    expect(runs.filter((r) => r.id === 'ok')).toHaveLength(1);
    await q.add('ok', { cveId: 'CVE-2000-0000' }, { rerun: true });
    await waitFor('rerun', async () => runs.filter((r) => r.id === 'ok').length === 2);
    await q.close(1000);
  });

  it('keeps to its concurrency and waits for running jobs on close', async () => {
    const q = new MemoryJobQueue({ attempts: 1, backoffMs: 0 });
    let running = 0;
    let most = 0;
    q.process(
      {
        handler: async () => {
          running++;
          most = Math.max(most, running);
          await sleep(50);
          running--;
        },
      },
      3,
    );
    for (let i = 0; i < 10; i++) await q.add(`j${i}`, { cveId: `CVE-2000-000${i}` });
    await sleep(30);
    expect(q.running).toBe(3);
    const closed = await q.close(2000);
    expect(closed).toEqual({ finished: true, returned: [] });
    expect(most).toBe(3);
  });
});

class ScriptedEngine implements Engine {
  readonly name = 'builtin';
  private readonly inner = new BuiltinEngine();
  runs = 0;
  running = 0;
  most = 0;
  constructor(
    public failuresLeft = 0,
    public delayMs = 0,
  ) {}
  async propose(input: GenerationInput, feedback?: Feedback): Promise<Proposal> {
    if (!feedback) {
      this.runs++;
      this.running++;
      this.most = Math.max(this.most, this.running);
      try {
        await sleep(this.delayMs);
        if (this.failuresLeft > 0) {
          this.failuresLeft--;
          throw new Error('provider overloaded (429)');
        }
      } finally {
        this.running--;
      }
    }
    return this.inner.propose(input, feedback);
  }
}

const hasRedis = await redisAvailable();
const adminUrl = hasRedis ? await postgresAdminUrl() : undefined;

describe.skipIf(!hasRedis || !adminUrl)('BullMQ on Redis with PostgreSQL', () => {
  const keys = redisPrefix();
  let db: TestDatabase;
  let store: Store;
  const services: Service[] = [];
  const children: Child[] = [];
  let env: NodeJS.ProcessEnv;

  const service = async (engine: Engine, extra: Record<string, string> = {}): Promise<Service> => {
    const e = { ...env, ...extra };
    const s = await buildService(loadConfig(e), loadServiceConfig(e).settings, {
      store,
      engine,
      engineVersion: 'builtin@test',
      logger: pino({ level: 'silent' }),
      metrics: createMetrics(),
      // Several services in one process on one data directory: one audit spool each is not the point here.
      audit: false,
    });
    services.push(s);
    return s;
  };

  beforeAll(async () => {
    db = await createTestDatabase(adminUrl!);
    store = await openPostgresStore(db.url);
    env = baseEnv({
      REDIS_URL,
      DATABASE_URL: db.url,
      WAFGEN_REDIS_PREFIX: keys.prefix,
      WAFGEN_JOB_BACKOFF_MS: '50',
      WAFGEN_WORKER_LOCK_MS: '2000',
      WAFGEN_WORKER_STALLED_INTERVAL_MS: '1000',
      WAFGEN_SINGLE_FLIGHT_LOCK_MS: '1500',
    });
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    for (const s of services.reverse()) await s.close().catch(() => {});
    await store?.close();
    await keys.cleanup();
    await db?.drop();
  });

  const jobStatus = (id: string) => store.jobs.get(id).then((j) => j?.status);

  it('gives one job per CVE and engine version, however often it is queued', async () => {
    const producer = await service(new ScriptedEngine());
    const results = await Promise.all(
      Array.from({ length: 8 }, () => producer.jobs.enqueue({ cveId: 'cve-2021-44228', source: 'test' })),
    );
    expect(new Set(results.map((r) => r.jobId))).toEqual(new Set(['gen-CVE-2021-44228-builtin-test']));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const bull = (producer.queue as unknown as { queue: Queue }).queue;
    expect(await bull.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('retries with backoff, then runs the job to success', async () => {
    const engine = new ScriptedEngine(2);
    const worker = await service(engine);
    const consumer = startWorker(worker, { concurrency: 2, lockMs: 2000, stalledIntervalMs: 1000 });
    await waitFor(
      'job success',
      async () => (await jobStatus('gen-CVE-2021-44228-builtin-test')) === 'succeeded',
    );
    const job = await store.jobs.get('gen-CVE-2021-44228-builtin-test');
    expect(job).toMatchObject({
      status: 'succeeded',
      attempts: 3,
      result: { cveId: 'CVE-2021-44228', version: 1 },
    });
    expect(engine.runs).toBe(3);
    await consumer.close(5000);
  });

  it('moves a job that exhausts its attempts to the dead state, and reruns it when queued again', async () => {
    const engine = new ScriptedEngine(100);
    const worker = await service(engine);
    const consumer = startWorker(worker, { concurrency: 1, lockMs: 2000, stalledIntervalMs: 1000 });
    const { jobId } = await worker.jobs.enqueue({ cveId: 'CVE-2022-22965', source: 'test' });
    await waitFor('dead job', async () => (await jobStatus(jobId)) === 'dead');
    const dead = await store.jobs.get(jobId);
    expect(dead).toMatchObject({ status: 'dead', attempts: 3, error: 'provider overloaded (429)' });
    const bull = (worker.queue as unknown as { queue: Queue }).queue;
    expect(await (await bull.getJob(jobId))?.getState()).toBe('failed');
    // The API reports it.
    expect((await worker.jobs.get(jobId))?.status).toBe('dead');
    engine.failuresLeft = 0;
    const again = await worker.jobs.enqueue({ cveId: 'CVE-2022-22965', source: 'test' });
    expect(again).toMatchObject({ jobId, created: true, status: 'queued' });
    await waitFor('rerun', async () => (await jobStatus(jobId)) === 'succeeded');
    await consumer.close(5000);
  });

  it('runs at most `concurrency` jobs at once per worker', async () => {
    const engine = new ScriptedEngine(0, 300);
    const worker = await service(engine);
    const consumer = startWorker(worker, { concurrency: 3, lockMs: 2000, stalledIntervalMs: 1000 });
    const ids = [
      'CVE-2021-41773',
      'CVE-2017-5638',
      'CVE-2023-22515',
      'CVE-2024-3400',
      'CVE-2023-46805',
      'CVE-2024-4577',
    ];
    const jobs = await Promise.all(ids.map((cveId) => worker.jobs.enqueue({ cveId, source: 'test' })));
    await waitFor(
      'all six',
      async () => (await Promise.all(jobs.map((j) => jobStatus(j.jobId)))).every((s) => s === 'succeeded'),
      30_000,
    );
    expect(engine.most).toBe(3);
    await consumer.close(5000);
  });

  it('loses nothing when a worker process is killed with SIGKILL mid-job', async () => {
    const producer = await service(new ScriptedEngine());
    const a = spawnTs('test/service/slow-worker.ts', [], { ...env, WAFGEN_TEST_ENGINE_DELAY_MS: '30000' });
    children.push(a);
    await a.waitFor(/worker ready/);
    const { jobId } = await producer.jobs.enqueue({ cveId: 'CVE-2023-27350', source: 'test' });
    await a.waitFor(/generating CVE-2023-27350/);
    expect(await jobStatus(jobId)).toBe('running');
    a.kill('SIGKILL');
    expect(await a.exited).toBeNull();
    const b = spawnTs('test/service/slow-worker.ts', [], { ...env, WAFGEN_TEST_ENGINE_DELAY_MS: '100' });
    children.push(b);
    await b.waitFor(new RegExp(`job ${jobId} succeeded`), 30_000);
    expect(await store.jobs.get(jobId)).toMatchObject({ status: 'succeeded', result: { version: 1 } });
    expect(await store.rules.versions('CVE-2023-27350')).toHaveLength(1);
    const bull = (producer.queue as unknown as { queue: Queue }).queue;
    const job = await bull.getJob(jobId);
    expect(job?.attemptsStarted).toBe(2);
    b.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  }, 60_000);

  it('finishes the running job on SIGTERM, or hands it back when the grace period runs out', async () => {
    const producer = await service(new ScriptedEngine());
    // Enough grace: the job finishes, then the process exits cleanly.
    const a = spawnTs('test/service/slow-worker.ts', [], { ...env, WAFGEN_TEST_ENGINE_DELAY_MS: '1500' });
    children.push(a);
    await a.waitFor(/worker ready/);
    const first = await producer.jobs.enqueue({ cveId: 'CVE-2023-4966', source: 'test' });
    await a.waitFor(/generating CVE-2023-4966/);
    a.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(a.output()).toContain('closed finished=true');
    expect(await jobStatus(first.jobId)).toBe('succeeded');

    // Too little grace: the job goes back to the queue at once, and the next worker runs it.
    const b = spawnTs('test/service/slow-worker.ts', [], {
      ...env,
      WAFGEN_TEST_ENGINE_DELAY_MS: '20000',
      WAFGEN_SHUTDOWN_GRACE_MS: '300',
    });
    children.push(b);
    await b.waitFor(/worker ready/);
    const second = await producer.jobs.enqueue({ cveId: 'CVE-2023-3519', source: 'test' });
    await b.waitFor(/generating CVE-2023-3519/);
    b.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(b.output()).toContain(`returned=${second.jobId}`);
    const bull = (producer.queue as unknown as { queue: Queue }).queue;
    expect(await (await bull.getJob(second.jobId))?.getState()).toBe('waiting');
    const c = spawnTs('test/service/slow-worker.ts', [], { ...env, WAFGEN_TEST_ENGINE_DELAY_MS: '0' });
    children.push(c);
    await c.waitFor(new RegExp(`job ${second.jobId} succeeded`), 30_000);
    expect(await store.rules.versions('CVE-2023-3519')).toHaveLength(1);
    c.kill('SIGTERM');
    await c.exited;
  }, 60_000);
});
