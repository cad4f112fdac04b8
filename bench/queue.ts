// npm run bench:queue [-- N] [-- --concurrency C]
//
// N CVEs (default 1,000) through two `wafgen worker` processes with the built-in engine, on the
// local PostgreSQL (a temporary database, dropped afterwards) and Redis (a temporary key prefix).
// The CVEs are the bundled records cloned under fresh IDs (CVE-2099-1xxxx). Reports rules per
// minute and checks that every CVE ended with exactly one stored rule: none lost, none duplicated.
// Bounded: gives up after 15 minutes, saying how far it got.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';

import { loadServiceConfig, buildService } from '../src/app/index.js';
import { loadConfig } from '../src/config/index.js';
import { createMetrics } from '../src/observability/index.js';
import { openStore } from '../src/store/index.js';
import { loadBundled } from '../src/vulns/bundled.js';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const positional = process.argv.slice(2).find((a) => /^\d+$/.test(a));
const n = Number(positional ?? 1000);
const ci = process.argv.indexOf('--concurrency');
const concurrency = ci >= 0 ? Number(process.argv[ci + 1]) : 4;
if (!Number.isInteger(n) || n < 1 || n > 100_000)
  throw new Error('N must be a whole number from 1 to 100000');
const LIMIT_MS = 15 * 60_000;

const adminUrl = process.env.WAFGEN_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const dbName = `wafgen_bench_${randomBytes(5).toString('hex')}`;
const prefix = `wafgen-bench-${randomBytes(5).toString('hex')}:`;
const dataDir = mkdtempSync(join(tmpdir(), 'wafgen-bench-queue-'));

async function admin(query: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    await c.query(query);
  } finally {
    await c.end();
  }
}

const dbUrl = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

try {
  await admin(`create database ${dbName}`);
} catch (e) {
  console.error(
    `bench:queue needs PostgreSQL (${new URL(adminUrl).host}; set WAFGEN_BENCH_POSTGRES_URL): ${(e as Error).message}`,
  );
  process.exit(2);
}
const ping = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0 });
ping.on('error', () => {});
try {
  await ping.connect();
  await ping.ping();
} catch (e) {
  console.error(`bench:queue needs Redis at ${redisUrl}: ${(e as Error).message}`);
  await admin(`drop database if exists ${dbName} with (force)`);
  process.exit(2);
}

const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  DATABASE_URL: dbUrl,
  REDIS_URL: redisUrl,
  WAFGEN_REDIS_PREFIX: prefix,
  WAFGEN_DATA_DIR: dataDir,
  WAFGEN_OFFLINE: '1',
  WAFGEN_WORKER_CONCURRENCY: String(concurrency),
  LOG_LEVEL: 'warn',
};

const workers: ChildProcess[] = [];
let store: Awaited<ReturnType<typeof openStore>> | undefined;
let service: Awaited<ReturnType<typeof buildService>> | undefined;
let queue: Queue | undefined;
try {
  // The records: the bundled ones, cloned under fresh IDs until there are N.
  store = await openStore({ databaseUrl: dbUrl, dataDir });
  const bundled = loadBundled();
  const ids = Array.from({ length: n }, (_, i) => `CVE-2099-${10000 + i}`);
  await store.vulns.upsertMany(ids.map((id, i) => ({ ...bundled[i % bundled.length]!, id })));

  for (let w = 0; w < 2; w++) {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'bench/wafgen.ts'), 'worker'], {
      cwd: root,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    workers.push(child);
    await new Promise<void>((ok, fail) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('wafgen worker ready')) ok();
      });
      child.once('exit', (code) => fail(new Error(`worker exited (${code}): ${err}`)));
    });
  }

  const e = { ...env };
  service = await buildService(loadConfig(e), loadServiceConfig(e).settings, {
    store,
    env: e,
    audit: false,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
  });
  const started = Date.now();
  for (let i = 0; i < ids.length; i += 100)
    await Promise.all(
      ids.slice(i, i + 100).map((cveId) => service!.jobs.enqueue({ cveId, source: 'bench' })),
    );
  const enqueuedMs = Date.now() - started;

  let done = 0;
  let dead = 0;
  for (;;) {
    const rows = await sql<{
      status: string;
      n: number;
    }>`select status, count(*)::int as n from jobs group by status`.execute(store.db);
    done = rows.rows.find((r) => r.status === 'succeeded')?.n ?? 0;
    dead = rows.rows.find((r) => r.status === 'dead')?.n ?? 0;
    if (done + dead >= n) break;
    if (Date.now() - started > LIMIT_MS) {
      console.error(`bench:queue gave up after ${LIMIT_MS / 60_000} minutes with ${done} of ${n} done`);
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const elapsedMs = Date.now() - started;

  const perCve = await sql<{
    cve_id: string;
    n: number;
  }>`select cve_id, count(*)::int as n from rules group by cve_id`.execute(store.db);
  const stored = new Map(perCve.rows.map((r) => [r.cve_id, r.n]));
  const lost = ids.filter((id) => !stored.has(id));
  const duplicated = [...stored].filter(([, count]) => count > 1).map(([id]) => id);
  const passed = await sql<{
    n: number;
  }>`select count(*)::int as n from rules where (report->>'passed')::boolean`.execute(store.db);
  queue = new Queue('wafgen-generate', { connection: { url: redisUrl }, prefix: `${prefix}bull` });
  const completed = await queue.getJobs(['completed'], 0, -1);
  const rerun = completed.filter((j) => j.attemptsStarted > 1).length;

  const rows: [string, string][] = [
    ['CVEs queued', String(n)],
    ['workers × concurrency', `2 × ${concurrency}`],
    ['engine', service.engineVersion],
    ['enqueue time', `${(enqueuedMs / 1000).toFixed(1)} s`],
    ['total time', `${(elapsedMs / 1000).toFixed(1)} s`],
    ['rules per minute', ((done / elapsedMs) * 60_000).toFixed(0)],
    ['jobs succeeded / dead', `${done} / ${dead}`],
    ['rules that passed their checks', `${passed.rows[0]?.n ?? 0}`],
    ['lost (no stored rule)', String(lost.length)],
    ['duplicated (more than one version)', String(duplicated.length)],
    ['jobs run more than once', String(rerun)],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`bench:queue — ${n} CVEs through two wafgen worker processes (PostgreSQL + Redis, loopback)\n`);
  console.log(`| ${'measure'.padEnd(w)} | value |`);
  console.log(`|${'-'.repeat(w + 2)}|-------|`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
  if (lost.length > 0 || duplicated.length > 0) {
    console.error(`lost: ${lost.slice(0, 10).join(', ')}; duplicated: ${duplicated.slice(0, 10).join(', ')}`);
    process.exitCode = 1;
  }
} finally {
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once('exit', r)) : null)));
  await queue?.close();
  await service?.close();
  await store?.close();
  const keys = await ping.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await ping.del(...keys.slice(i, i + 500));
  ping.disconnect();
  await admin(`drop database if exists ${dbName} with (force)`);
  rmSync(dataDir, { recursive: true, force: true });
}
