// The "done means", as real processes on loopback against the real PostgreSQL and Redis:
// `wafgen serve` and two `wafgen worker` processes take a webhook burst of 200 findings; one worker
// is killed with SIGKILL while it runs a job; every critical or high finding ends with a stored rule,
// none twice, and the jobs the killed worker held are finished by the other one.
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signWebhook } from '../../src/api/webhook.js';
import type { Store } from '../../src/store/index.js';
import { loadBundled } from '../../src/vulns/bundled.js';
import {
  baseEnv,
  call,
  createTestDatabase,
  openPostgresStore,
  postgresAdminUrl,
  REDIS_URL,
  redisAvailable,
  redisPrefix,
  spawnWafgen,
  token,
  waitFor,
  WEBHOOK_SECRET,
  type Child,
  type TestDatabase,
} from './support.js';

const hasRedis = await redisAvailable();
const adminUrl = hasRedis ? await postgresAdminUrl() : undefined;

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'high', 'info', 'critical', 'moderate'];

describe.skipIf(!hasRedis || !adminUrl)('serve + two workers + a webhook burst', () => {
  const keys = redisPrefix();
  let db: TestDatabase;
  let store: Store;
  let queue: Queue;
  const children: Child[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(adminUrl!);
    store = await openPostgresStore(db.url); // migrated and seeded once, before the processes start
    queue = new Queue('wafgen-generate', { connection: { url: REDIS_URL }, prefix: `${keys.prefix}bull` });
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await queue?.close();
    await store?.close();
    await keys.cleanup();
    await db?.drop();
  });

  it('stores one rule per critical/high CVE and loses nothing when a worker is killed', async () => {
    const env = baseEnv({
      DATABASE_URL: db.url,
      REDIS_URL,
      WAFGEN_REDIS_PREFIX: keys.prefix,
      WAFGEN_WORKER_LOCK_MS: '2000',
      WAFGEN_WORKER_STALLED_INTERVAL_MS: '1000',
      WAFGEN_SINGLE_FLIGHT_LOCK_MS: '2000',
      WAFGEN_WORKER_CONCURRENCY: '4',
    });
    const serve = spawnWafgen(['serve', '--port', '0'], env);
    const w1 = spawnWafgen(['worker'], env);
    const w2 = spawnWafgen(['worker'], env);
    children.push(serve, w1, w2);
    const [, url] = await serve.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 45_000);
    await w1.waitFor(/wafgen worker ready: (\S+)/, 45_000);
    await w2.waitFor(/wafgen worker ready/, 45_000);
    const w1Name = `:${w1.proc.pid},`;

    // 200 findings over the bundled CVEs, each CVE seen about twice with mixed severities.
    const ids = loadBundled().map((r) => r.id);
    const findings = Array.from({ length: 200 }, (_, i) => ({
      id: `finding-${i}`,
      cveId: ids[i % ids.length]!,
      severity: SEVERITIES[(i * 7 + Math.floor(i / ids.length)) % SEVERITIES.length]!,
    }));
    const expected = new Set(
      findings.filter((f) => f.severity === 'critical' || f.severity === 'high').map((f) => f.cveId),
    );
    const skippedOnly = new Set(
      ids.filter((id) => !expected.has(id) && findings.some((f) => f.cveId === id)),
    );
    expect(expected.size).toBeGreaterThan(50);
    expect(skippedOnly.size).toBeGreaterThan(5);

    // The burst: one signed delivery per finding, 25 at a time.
    const statuses: number[] = [];
    let killed = false;
    let victim: string | undefined;
    for (let i = 0; i < findings.length; i += 25) {
      const batch = findings.slice(i, i + 25).map(async (f) => {
        const raw = JSON.stringify(f);
        const r = await call<{ queued: boolean }>(`${url}/webhook/vulnerability`, {
          raw,
          headers: { 'content-type': 'application/json', ...signWebhook(raw, WEBHOOK_SECRET) },
        });
        statuses.push(r.status);
      });
      await Promise.all(batch);
      if (!killed && i >= 50) {
        // Kill worker 1 while it holds a job.
        const active = await waitFor(
          'a job running on worker 1',
          async () => {
            const jobs = await queue.getActive();
            return jobs.find((j) => `${j.processedBy ?? ''},`.includes(w1Name));
          },
          15_000,
          5,
        );
        victim = active.id;
        w1.kill('SIGKILL');
        killed = true;
      }
    }
    expect(await w1.exited).toBeNull();
    expect(statuses.filter((s) => s !== 200 && s !== 202)).toEqual([]);
    expect(victim).toBeDefined();

    // Every critical/high CVE ends with a succeeded job and exactly one stored rule.
    await waitFor(
      'every job to succeed',
      async () => {
        const jobs = await store.jobs.list({ limit: 1000 });
        return jobs.length === expected.size && jobs.every((j) => j.status === 'succeeded');
      },
      45_000,
      250,
    );
    const jobs = await store.jobs.list({ limit: 1000 });
    expect(new Set(jobs.map((j) => j.cveId))).toEqual(expected);
    for (const cveId of expected) expect(await store.rules.versions(cveId), cveId).toHaveLength(1);
    for (const cveId of skippedOnly) expect(await store.rules.versions(cveId), cveId).toHaveLength(0);
    const victimJob = await queue.getJob(victim!);
    expect(victimJob?.attemptsStarted).toBeGreaterThanOrEqual(2);
    expect(await victimJob?.getState()).toBe('completed');

    // The API reads them back.
    const auth = await token();
    const sample = [...expected][0]!;
    const rule = await call<{ cveId: string; version: number }>(`${url}/v1/rules/${sample}`, { token: auth });
    expect(rule.body).toMatchObject({ cveId: sample, version: 1 });

    // Graceful stops.
    serve.kill('SIGTERM');
    w2.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    expect(await w2.exited).toBe(0);
  }, 120_000);
});
