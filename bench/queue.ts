// npm run bench:queue [-- N] [-- --concurrency C] [-- --modes 1x0,2x0,1x2] [-- --rounds R]
//                     [-- --tsx] [-- --profile DIR] [-- --log DIR]
//
// The same N jobs (default 400) through `wafgen worker` processes with the built-in engine, once per
// mode and round, on the local PostgreSQL (a temporary database per mode, dropped afterwards) and
// Redis (a temporary key prefix per mode). Modes are PROCESSESxTHREADS (`wafgen worker --threads T`):
// 1x0 is one worker process generating on its main thread (the worker before threads), 2x0 two of
// them, 1x2 one process with two generation threads (the default on two cores). Each worker runs C
// jobs at once (default 4). The workers run from dist/, built first (--tsx: from the sources).
//
// The jobs are real work: the bundled records cloned under fresh IDs (CVE-2099-1xxxx), each with its
// original CVE's bundled exploit requests stored as evidence, so every generation checks its
// candidates against exploits, their evasion variants and the benign corpus, as `wafgen generate`
// does for a bundled CVE. Reports per mode: rules per minute (from the first enqueue to the last
// job done) and after warm-up (from the tenth of the jobs on), their ratio to one process, the
// workers' CPU per job and cores used, the verdicts, and checks that every CVE ended with exactly one
// stored rule (none lost, none duplicated) and that no job ran more than once.
// The machine may be shared: the header gives the load average, and --rounds R (alternating the
// order of the modes) gives each figure as the median of R runs.
// --profile DIR writes each worker process's CPU profile (node --cpu-prof) into DIR; --log DIR its
// log lines (LOG_LEVEL=info: each job's start and end, each generation's latency).
// Bounded: each mode gives up after 15 minutes, saying how far it got.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
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
import { BUNDLED_EXPLOITS_FILE, loadBundled } from '../src/vulns/bundled.js';
import { EvidenceSchema } from '../src/vulns/evidence.js';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const positional = argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--'));
const n = Number(positional ?? 400);
const concurrency = Number(flag('--concurrency') ?? 4);
const profileDir = flag('--profile');
const logDir = flag('--log');
const fromSources = argv.includes('--tsx');
const rounds = Number(flag('--rounds') ?? 1);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 9) throw new Error('--rounds must be 1 to 9');
const modes = (flag('--modes') ?? '1x0,2x0,1x2').split(',').map((m) => {
  const match = /^(\d+)x(\d+)$/.exec(m.trim());
  if (!match) throw new Error(`--modes: ${m} is not PROCESSESxTHREADS (e.g. 2x1)`);
  return { processes: Number(match[1]), threads: Number(match[2]) };
});
if (!Number.isInteger(n) || n < 1 || n > 100_000)
  throw new Error('N must be a whole number from 1 to 100000');
if (!Number.isInteger(concurrency) || concurrency < 1)
  throw new Error('--concurrency must be a whole number');
const LIMIT_MS = 15 * 60_000;

// The workers run from dist/, as `wafgen worker` does in production (compiled: no TypeScript
// loader in the way of start-up): build it from the current sources first.
if (!fromSources)
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: resolve(fileURLToPath(import.meta.url), '../..'),
    stdio: 'inherit',
  });

const adminUrl = process.env.WAFGEN_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = randomBytes(5).toString('hex');
const baseDb = `wafgen_bench_${run}`;
const dataDir = mkdtempSync(join(tmpdir(), 'wafgen-bench-queue-'));
const databases: string[] = [];

async function admin(query: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    await c.query(query);
  } finally {
    await c.end();
  }
}

const dbUrl = (name: string): string => {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
};

try {
  await admin(`create database ${baseDb}`);
  databases.push(baseDb);
} catch (e) {
  console.error(
    `bench:queue needs PostgreSQL (${new URL(adminUrl).host}; set WAFGEN_BENCH_POSTGRES_URL): ${(e as Error).message}`,
  );
  process.exit(2);
}
const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0 });
redis.on('error', () => {});
try {
  await redis.connect();
  await redis.ping();
} catch (e) {
  console.error(`bench:queue needs Redis at ${redisUrl}: ${(e as Error).message}`);
  await admin(`drop database if exists ${baseDb} with (force)`);
  process.exit(2);
}

/** User + system CPU seconds of a process (all its threads), from /proc; undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line (11 and 12 after the command), in clock ticks.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

interface ModeResult {
  label: string;
  enqueueS: number;
  totalS: number;
  perMinute: number;
  steadyPerMinute: number;
  succeeded: number;
  dead: number;
  verdicts: Record<string, number>;
  lost: string[];
  duplicated: string[];
  rerun: number;
  cpuS: number | undefined;
  gaveUp: boolean;
}

let exploitCount = 0;
const ids = Array.from({ length: n }, (_, i) => `CVE-2099-${10000 + i}`);

// The template database: migrated, with the cloned records and their exploit requests as evidence.
{
  const store = await openStore({ databaseUrl: dbUrl(baseDb), dataDir });
  try {
    const bundled = loadBundled();
    const exploits = new Map<string, Record<string, unknown>[]>();
    for (const line of readFileSync(BUNDLED_EXPLOITS_FILE, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const r = JSON.parse(line) as Record<string, unknown> & { cve: string };
      const id = r.cve.toUpperCase();
      exploits.set(id, [...(exploits.get(id) ?? []), r]);
    }
    const records = ids.map((id, i) => ({ ...bundled[i % bundled.length]!, id }));
    await store.vulns.upsertMany(records);
    const evidence = records.flatMap((record, i) =>
      (exploits.get(bundled[i % bundled.length]!.id) ?? []).map((r, k) => {
        const request = { ...r, id: `${record.id}/poc-${k + 1}`, cve: record.id };
        return {
          cveId: record.id,
          kind: 'request' as const,
          source: typeof r.source === 'string' ? r.source : 'bundled',
          request,
          fetchedAt: new Date().toISOString(),
          contentHash: createHash('sha256').update(JSON.stringify(request)).digest('hex'),
        };
      }),
    );
    // A few bundled requests are too large for stored evidence (a header over 16 KiB): left out.
    const fits = evidence.flatMap((e) => {
      const parsed = EvidenceSchema.safeParse(e);
      return parsed.success ? [parsed.data] : [];
    });
    exploitCount = fits.length;
    for (let i = 0; i < fits.length; i += 50)
      await Promise.all(fits.slice(i, i + 50).map((e) => store.evidence.add(e)));
  } finally {
    await store.close();
  }
}

async function runMode(processes: number, threads: number, round: number): Promise<ModeResult> {
  const label = `${processes} proc × ${threads === 0 ? 'main thread' : `${threads} thread${threads > 1 ? 's' : ''}`}`;
  const name = `wafgen_bench_${run}_${processes}x${threads}_${round}`;
  await admin(`create database ${name} template ${baseDb}`);
  databases.push(name);
  const prefix = `wafgen-bench-${run}-${processes}x${threads}-${round}:`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: dbUrl(name),
    REDIS_URL: redisUrl,
    WAFGEN_REDIS_PREFIX: prefix,
    WAFGEN_DATA_DIR: dataDir,
    WAFGEN_OFFLINE: '1',
    WAFGEN_WORKER_CONCURRENCY: String(concurrency),
    LOG_LEVEL: logDir ? 'info' : 'warn',
  };
  const workers: ChildProcess[] = [];
  const store = await openStore({ databaseUrl: dbUrl(name), dataDir });
  let service: Awaited<ReturnType<typeof buildService>> | undefined;
  let queue: Queue | undefined;
  try {
    for (let w = 0; w < processes; w++) {
      const nodeArgs = profileDir
        ? [
            '--cpu-prof',
            `--cpu-prof-dir=${resolve(profileDir)}`,
            `--cpu-prof-name=${processes}x${threads}-${w}-\${pid}.cpuprofile`,
          ]
        : [];
      const child = spawn(
        process.execPath,
        [
          ...nodeArgs,
          ...(fromSources
            ? ['--import', 'tsx', resolve(root, 'bench/wafgen.ts')]
            : [resolve(root, 'bin/wafgen.js')]),
          'worker',
          '--threads',
          String(threads),
        ],
        {
          cwd: root,
          env,
          stdio: [
            'ignore',
            logDir ? openSync(join(resolve(logDir), `${processes}x${threads}-${w}.jsonl`), 'w') : 'ignore',
            'pipe',
          ],
        },
      );
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
    const cpuBefore = workers.map((w) => cpuSeconds(w.pid));

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
    let gaveUp = false;
    for (;;) {
      const rows = await sql<{
        status: string;
        n: number;
      }>`select status, count(*)::int as n from jobs group by status`.execute(store.db);
      done = rows.rows.find((r) => r.status === 'succeeded')?.n ?? 0;
      dead = rows.rows.find((r) => r.status === 'dead')?.n ?? 0;
      if (done + dead >= n) break;
      if (Date.now() - started > LIMIT_MS) {
        console.error(`${label}: gave up after ${LIMIT_MS / 60_000} minutes with ${done} of ${n} done`);
        gaveUp = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const elapsedMs = Date.now() - started;
    // Completion times: the rate after the first tenth of the jobs leaves out the workers' warm-up
    // (modules loaded and the benign corpus parsed on the first generation, once per process or thread).
    const finished = await sql<{
      at: number;
    }>`select extract(epoch from updated_at)::float8 * 1000 as at from jobs where status = 'succeeded' order by updated_at`.execute(
      store.db,
    );
    const times = finished.rows.map((r) => Number(r.at));
    const from = times[Math.floor(times.length / 10)];
    const to = times.at(-1);
    const steady =
      from !== undefined && to !== undefined && to > from
        ? ((times.length - 1 - Math.floor(times.length / 10)) / (to - from)) * 60_000
        : 0;
    const cpuAfter = workers.map((w) => cpuSeconds(w.pid));
    const cpu = cpuAfter.every((c, i) => c !== undefined && cpuBefore[i] !== undefined)
      ? cpuAfter.reduce((sum: number, c, i) => sum + c! - cpuBefore[i]!, 0)
      : undefined;

    const perCve = await sql<{
      cve_id: string;
      n: number;
    }>`select cve_id, count(*)::int as n from rules group by cve_id`.execute(store.db);
    const stored = new Map(perCve.rows.map((r) => [r.cve_id, r.n]));
    const verdicts = await sql<{
      verdict: string;
      n: number;
    }>`select report->>'verdict' as verdict, count(*)::int as n from rules group by 1 order by 1`.execute(
      store.db,
    );
    queue = new Queue('wafgen-generate', { connection: { url: redisUrl }, prefix: `${prefix}bull` });
    const completed = await queue.getJobs(['completed'], 0, -1);
    return {
      label,
      enqueueS: enqueuedMs / 1000,
      totalS: elapsedMs / 1000,
      perMinute: (done / elapsedMs) * 60_000,
      steadyPerMinute: steady,
      succeeded: done,
      dead,
      verdicts: Object.fromEntries(verdicts.rows.map((r) => [r.verdict ?? 'none', r.n])),
      lost: ids.filter((id) => !stored.has(id)),
      duplicated: [...stored].filter(([, count]) => count > 1).map(([id]) => id),
      rerun: completed.filter((j) => j.attemptsStarted > 1).length,
      cpuS: cpu,
      gaveUp,
    };
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(
      workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once('exit', r)) : null)),
    );
    await queue?.close();
    await service?.close();
    await store.close();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  }
}

try {
  // Rounds alternate the order of the modes (ABC, CBA, ...), so a machine that gets busier or
  // quieter during the run does not favour one mode; each figure is the median over the rounds.
  const all: ModeResult[][] = modes.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = modes.map((_, i) => (round % 2 === 0 ? i : modes.length - 1 - i));
    for (const i of order) all[i]!.push(await runMode(modes[i]!.processes, modes[i]!.threads, round));
  }
  const median = (v: number[]): number => {
    const sorted = [...v].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const cell = (values: number[], fmt: (v: number) => string): string =>
    values.length === 1 ? fmt(values[0]!) : `${fmt(median(values))} (${values.map(fmt).join(', ')})`;
  const base = modes.findIndex((m) => m.processes === 1 && m.threads === 0);
  const ratios = (i: number, key: 'perMinute' | 'steadyPerMinute'): number[] =>
    all[i]!.map((r, round) => r[key] / all[base]![round]![key]);
  const sum = (i: number, f: (r: ModeResult) => number): string =>
    String(all[i]!.reduce((t, r) => t + f(r), 0));
  const verdictNames = [...new Set(all.flat().flatMap((r) => Object.keys(r.verdicts)))].sort();
  const cols = modes.map((_, i) => i);
  const rows: [string, ...string[]][] = [
    ['workers (processes × threads)', ...cols.map((i) => all[i]![0]!.label)],
    [
      'enqueue time',
      ...cols.map((i) =>
        cell(
          all[i]!.map((r) => r.enqueueS),
          (v) => `${v.toFixed(1)} s`,
        ),
      ),
    ],
    [
      'total time',
      ...cols.map((i) =>
        cell(
          all[i]!.map((r) => r.totalS),
          (v) => `${v.toFixed(1)} s`,
        ),
      ),
    ],
    [
      'rules per minute',
      ...cols.map((i) =>
        cell(
          all[i]!.map((r) => r.perMinute),
          (v) => v.toFixed(0),
        ),
      ),
    ],
    [
      'ratio to 1 proc × main thread',
      ...cols.map((i) => (base >= 0 ? cell(ratios(i, 'perMinute'), (v) => v.toFixed(2)) : '-')),
    ],
    [
      'rules per minute after warm-up',
      ...cols.map((i) =>
        cell(
          all[i]!.map((r) => r.steadyPerMinute),
          (v) => v.toFixed(0),
        ),
      ),
    ],
    [
      'ratio after warm-up',
      ...cols.map((i) => (base >= 0 ? cell(ratios(i, 'steadyPerMinute'), (v) => v.toFixed(2)) : '-')),
    ],
    [
      'worker CPU per job',
      ...cols.map((i) =>
        all[i]!.every((r) => r.cpuS !== undefined)
          ? cell(
              all[i]!.map((r) => (r.cpuS! / n) * 1000),
              (v) => `${v.toFixed(0)} ms`,
            )
          : '-',
      ),
    ],
    [
      'worker CPU use (cores)',
      ...cols.map((i) =>
        all[i]!.every((r) => r.cpuS !== undefined)
          ? cell(
              all[i]!.map((r) => r.cpuS! / r.totalS),
              (v) => v.toFixed(2),
            )
          : '-',
      ),
    ],
    ['jobs succeeded / dead', ...cols.map((i) => `${sum(i, (r) => r.succeeded)} / ${sum(i, (r) => r.dead)}`)],
    ...verdictNames.map((v): [string, ...string[]] => [
      `rules ${v}`,
      ...cols.map((i) => sum(i, (r) => r.verdicts[v] ?? 0)),
    ]),
    ['lost (no stored rule)', ...cols.map((i) => sum(i, (r) => r.lost.length))],
    ['duplicated (more than one version)', ...cols.map((i) => sum(i, (r) => r.duplicated.length))],
    ['jobs run more than once', ...cols.map((i) => sum(i, (r) => r.rerun))],
  ];
  const header = rows[0]!;
  const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((c, k) => c.padEnd(widths[k]!)).join(' | ')} |`;
  const [load1] = loadavg();
  console.log(
    `bench:queue — the same ${n} CVEs (bundled records cloned, ${exploitCount} of their exploit requests as evidence) per mode, ` +
      `concurrency ${concurrency} per worker, ${rounds} round${rounds > 1 ? 's' : ''} (median, then each round), ` +
      `workers from ${fromSources ? 'the sources (tsx)' : 'dist/'}; PostgreSQL + Redis on loopback; ${availableParallelism()} cores, load average ${load1!.toFixed(1)} at the end\n`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  const two = modes.findIndex((m) => m.processes === 2 && m.threads === 0);
  const threaded = modes.findIndex((m) => m.processes === 1 && m.threads === 2);
  if (base >= 0 && two >= 0)
    console.log(`\nratio 2 processes / 1 process: ${median(ratios(two, 'perMinute')).toFixed(2)}`);
  if (base >= 0 && threaded >= 0)
    console.log(
      `ratio 1 process × 2 threads / 1 process: ${median(ratios(threaded, 'perMinute')).toFixed(2)}`,
    );
  for (const r of all.flat())
    if (r.lost.length > 0 || r.duplicated.length > 0 || r.rerun > 0 || r.gaveUp) {
      console.error(
        `${r.label}: lost ${r.lost.slice(0, 10).join(', ')}; duplicated ${r.duplicated.slice(0, 10).join(', ')}; run more than once ${r.rerun}`,
      );
      process.exitCode = 1;
    }
} finally {
  redis.disconnect();
  for (const db of databases.reverse()) await admin(`drop database if exists ${db} with (force)`);
  rmSync(dataDir, { recursive: true, force: true });
}
