// Generation threads (src/worker/pool.ts): the pool's contract with a stand-in thread (the real
// protocol, a scripted generate), how many threads a worker starts, and `wafgen worker` with two
// threads on the real Redis and PostgreSQL: jobs run to one rule each, no-rule and bad input stay
// permanent across the thread boundary, and the threads' audit events reach the process's log.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';

import { buildService, loadServiceConfig, NoRuleError, type Service } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import { InputError } from '../../src/core/errors.js';
import { createMetrics } from '../../src/observability/index.js';
import type { Store } from '../../src/store/index.js';
import { runWorker, resolveThreads, type RunningWorker } from '../../src/worker/index.js';
import { GenerationPool } from '../../src/worker/pool.js';
import {
  baseEnv,
  createTestDatabase,
  openPostgresStore,
  postgresAdminUrl,
  REDIS_URL,
  redisAvailable,
  redisPrefix,
  spawnWafgen,
  waitFor,
  type TestDatabase,
} from './support.js';

const standIn = new URL('./pool-thread.ts', import.meta.url);
const log = pino({ level: 'silent' });

describe('generation pool', () => {
  const pools: GenerationPool[] = [];
  const start = async (threads: number, extra: Partial<Parameters<typeof GenerationPool.start>[0]> = {}) => {
    const pool = await GenerationPool.start({ threads, env: {}, log, entry: standIn, ...extra });
    pools.push(pool);
    return pool;
  };
  afterAll(async () => {
    for (const p of pools) await p.close();
  });

  it('sends each call to the thread with the fewest calls under way', async () => {
    const pool = await start(2);
    const calls = Array.from({ length: 4 }, () => pool.generate('CVE-1000-0001'));
    expect(pool.load).toEqual([2, 2]);
    const threads = (await Promise.all(calls)).map((r) => (r.result as unknown as { thread: number }).thread);
    expect(threads.sort()).toEqual([0, 0, 1, 1]);
    expect(pool.load).toEqual([0, 0]);
  });

  it('keeps the error classes the job lifecycle decides on', async () => {
    const pool = await start(1);
    const noRule = await pool.generate('CVE-1000-0002').catch((e: unknown) => e);
    expect(noRule).toBeInstanceOf(NoRuleError);
    expect((noRule as NoRuleError).facts).toMatchObject({
      cveId: 'CVE-1000-0002',
      needs: ['an exploit request'],
    });
    const input = await pool.generate('CVE-1000-0003').catch((e: unknown) => e);
    expect(input).toBeInstanceOf(InputError);
    expect((input as Error).message).toBe('CVE-1000-0003 is not in the store');
    const notFound = await pool.generate('CVE-1000-0008').catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(InputError);
    expect((notFound as Error).name).toBe('CveNotFoundError');
    const other = await pool.generate('CVE-1000-0004').catch((e: unknown) => e);
    expect(other).toBeInstanceOf(Error);
    expect(other).not.toBeInstanceOf(InputError);
    expect((other as Error).message).toBe('provider overloaded (429)');
  });

  it('fails the calls of a thread that dies and replaces the thread', async () => {
    const pool = await start(1);
    await expect(pool.generate('CVE-1000-0005')).rejects.toThrow(
      /generation thread 0 stopped \(exit code 3\)/,
    );
    // The replacement takes the next call (it waits until the new thread is ready).
    const next = await pool.generate('CVE-1000-0001');
    expect(next.result).toMatchObject({ cveId: 'CVE-1000-0001', thread: 0 });
    expect(pool.size).toBe(1);
  });

  it("answers only once the thread's audit event is on the main thread's log", async () => {
    const events: unknown[] = [];
    let release: () => void = () => {};
    const spooled = new Promise<void>((r) => {
      release = r;
    });
    const pool = await start(1, {
      audit: async (e) => {
        events.push(e);
        await spooled;
      },
    });
    let answered = false;
    const call = pool.generate('CVE-1000-0006').then((r) => {
      answered = true;
      return r;
    });
    await waitFor('the audit event', async () => events.length === 1);
    expect(events[0]).toEqual({ type: 'generation', cveId: 'CVE-1000-0006' });
    expect(answered).toBe(false);
    release();
    expect((await call).result).toMatchObject({ cveId: 'CVE-1000-0006' });

    const failing = await start(1, { audit: () => Promise.reject(new Error('spool disk full')) });
    await expect(failing.generate('CVE-1000-0006')).rejects.toThrow('spool disk full');
  });

  it('stops a thread with a call under way on close, failing the call', async () => {
    const pool = await GenerationPool.start({ threads: 1, env: {}, log, entry: standIn });
    const call = pool.generate('CVE-1000-0007');
    await waitFor('the call to start', async () => pool.load[0] === 1);
    await pool.close();
    await expect(call).rejects.toThrow(/stopped/);
    await expect(pool.generate('CVE-1000-0001')).rejects.toThrow('the generation pool is closed');
  });

  it('does not start when a thread cannot open its service', async () => {
    await expect(
      GenerationPool.start({ threads: 2, env: {}, log, entry: standIn, data: { failInit: true } }),
    ).rejects.toThrow('store unreachable');
  });
});

describe('generation threads per worker', () => {
  it('defaults to one per core, no more than the jobs run at once', () => {
    expect(resolveThreads(undefined, {}, 4, 2)).toBe(2);
    expect(resolveThreads(undefined, {}, 4, 8)).toBe(4);
    expect(resolveThreads(undefined, {}, 1, 8)).toBe(1);
    expect(resolveThreads(undefined, {}, 4, 1)).toBe(1);
  });

  it('takes WAFGEN_WORKER_THREADS, and the option over it; 0 generates on the main thread', () => {
    expect(resolveThreads(undefined, { WAFGEN_WORKER_THREADS: '0' }, 4, 2)).toBe(0);
    expect(resolveThreads(undefined, { WAFGEN_WORKER_THREADS: '3' }, 4, 2)).toBe(3);
    expect(resolveThreads(1, { WAFGEN_WORKER_THREADS: '3' }, 4, 2)).toBe(1);
    for (const bad of ['-1', 'two', '1.5', '257'])
      expect(() => resolveThreads(undefined, { WAFGEN_WORKER_THREADS: bad }, 4, 2)).toThrow(InputError);
  });

  it('wafgen worker documents the setting and refuses a bad one', async () => {
    const help = spawnWafgen(['worker', '--help'], baseEnv());
    expect(await help.exited).toBe(0);
    expect(help.output()).toContain('--threads <n>');
    expect(help.output()).toContain('WAFGEN_WORKER_THREADS');
    const option = spawnWafgen(['worker', '--threads', 'many'], baseEnv({ REDIS_URL }));
    expect(await option.exited).toBe(2);
    expect(option.output()).toContain('--threads must be a whole number from 0 to 256');
    const variable = spawnWafgen(['worker'], baseEnv({ REDIS_URL, WAFGEN_WORKER_THREADS: 'lots' }));
    expect(await variable.exited).toBe(2);
    expect(variable.output()).toContain('WAFGEN_WORKER_THREADS must be a whole number');
  }, 60_000);
});

const hasRedis = await redisAvailable();
const adminUrl = hasRedis ? await postgresAdminUrl() : undefined;

describe.skipIf(!hasRedis || !adminUrl)('wafgen worker with generation threads', () => {
  const keys = redisPrefix();
  let db: TestDatabase;
  let store: Store;
  let producer: Service;
  let worker: RunningWorker | undefined;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    db = await createTestDatabase(adminUrl!);
    store = await openPostgresStore(db.url);
    env = baseEnv({
      REDIS_URL,
      DATABASE_URL: db.url,
      WAFGEN_REDIS_PREFIX: keys.prefix,
      WAFGEN_JOB_BACKOFF_MS: '50',
      WAFGEN_AUDIT_FSYNC: '0',
    });
    producer = await buildService(loadConfig(env), loadServiceConfig(env).settings, {
      store,
      env,
      audit: false,
      logger: log,
      metrics: createMetrics(),
    });
  }, 60_000);

  afterAll(async () => {
    await worker?.stop().catch(() => {});
    await producer?.close();
    await store?.close();
    await keys.cleanup();
    await db?.drop();
  });

  it('runs each job to one rule on the threads; no-rule and bad input die on their first attempt', async () => {
    worker = await runWorker(env, { threads: 2, concurrency: 4 });
    expect(worker.threads).toBe(2);
    // A record nothing can be learnt from: the engine writes no rule (NoRuleError in the thread).
    await store.vulns.upsert({
      id: 'CVE-2099-0002',
      source: 'manual',
      description: 'The product exposes sensitive information to an unauthorized actor.',
      cwes: ['CWE-200'],
      fetchedAt: new Date().toISOString(),
    });
    const cves = ['CVE-2021-44228', 'CVE-2017-5638', 'CVE-2021-41773', 'CVE-2022-22965', 'CVE-2023-22515'];
    const jobs = await Promise.all(cves.map((cveId) => producer.jobs.enqueue({ cveId, source: 'test' })));
    const unknown = await producer.jobs.enqueue({ cveId: 'CVE-2099-0001', source: 'test' });
    const noRule = await producer.jobs.enqueue({ cveId: 'CVE-2099-0002', source: 'test' });
    const settled = (s: string | undefined) => s === 'succeeded' || s === 'dead';
    await waitFor(
      'every job to settle',
      async () =>
        (await Promise.all([...jobs, unknown, noRule].map((j) => store.jobs.get(j.jobId)))).every((j) =>
          settled(j?.status),
        ),
      60_000,
    );
    for (const [i, job] of jobs.entries()) {
      expect(await store.jobs.get(job.jobId)).toMatchObject({
        status: 'succeeded',
        attempts: 1,
        result: { cveId: cves[i], version: 1 },
      });
      expect(await store.rules.versions(cves[i]!)).toHaveLength(1);
    }
    expect(await store.jobs.get(unknown.jobId)).toMatchObject({ status: 'dead', attempts: 1 });
    expect(await store.jobs.get(noRule.jobId)).toMatchObject({
      status: 'dead',
      attempts: 1,
      result: { outcome: 'no-rule', noRule: { cveId: 'CVE-2099-0002' } },
    });

    // The threads' generation events are in the process's audit log once it has closed.
    await worker.stop();
    worker = undefined;
    const audit = readFileSync(join(env.WAFGEN_DATA_DIR!, 'audit', 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; cveId?: string });
    const generated = audit.filter((e) => e.type === 'generation').map((e) => e.cveId);
    for (const cve of cves) expect(generated).toContain(cve);
    expect(generated).toContain('CVE-2099-0002');
  }, 120_000);
});
