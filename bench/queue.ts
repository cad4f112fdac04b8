// npm run bench:queue [-- N] [-- --warmup W] [-- --concurrency C] [-- --modes 1x0,2x0,1x2]
//                     [-- --rounds R] [-- --tsx] [-- --profile DIR] [-- --log DIR] [-- --node-args "..."]
//                     [-- --env KEY=VALUE ...]
//
// Queue throughput: real jobs through `wafgen worker` processes with the built-in engine, once per
// mode and round, on the local PostgreSQL (a temporary database per mode, dropped afterwards) and
// Redis (a temporary key prefix per mode). Modes are PROCESSESxTHREADS (`wafgen worker --threads T`):
// 1x0 is one worker process generating on its main thread (the baseline of every ratio), 2x0 two of
// them, 1x2 one process with two generation threads. Each worker runs the jobs at once it runs by
// default (4 per generating thread), or C with --concurrency C.
// The workers run from dist/, built first (--tsx: from the sources).
//
// The jobs are real work: the bundled records cloned under fresh IDs, each with its original CVE's
// bundled exploit requests stored as evidence, so every generation checks its candidates against
// exploits, their evasion variants and the benign corpus, as `wafgen generate` does for a bundled
// CVE. Each mode runs in two phases on freshly started workers:
//   warm-up   W jobs (default 2000) per generating thread (processes × threads, main thread when 0):
//             module loading, the benign corpus, V8's optimising compiler, caches. Reported, not the
//             headline: a long-running worker pays it once. 2000 because V8 keeps compiling that
//             long: a worker compiles ~1,200 functions with TurboFan (~6 s of CPU on its compiler
//             threads) over its first ~2,000 jobs, as functions called once a job become hot. After
//             200 jobs, 337 compiles (1.8 s) still fell in the 600 measured jobs, and they count
//             once per process: two processes paid them twice, which made "2 workers" look worse
//             than a long-running pair is (2.7 ms a job on other threads, against 0.9 after 2000).
//             Counted with `--warmup W --modes 1x0 --log DIR --node-args --trace-opt` ("completed
//             compiling" lines after the W-th "job succeeded"): 61 compiles (0.27 s) after 2000.
//   measured  N other jobs (default 600), enqueued while the queue is paused once the warm-up jobs
//             are done, then released at once: a backlog drained by warm workers. The headline rules
//             per minute (queue resumed to last job done; enqueueing is the API's work, not in it) and
//             its ratio to one process, and where the CPU went per job in that phase — the workers'
//             main threads, their other threads (generation threads, V8's GC and compiler helpers,
//             libuv), the workers' PostgreSQL backends, the Redis server (the machine's: shared with
//             anything else using it), this process (polling).
// The whole run (both phases) is printed beside it, and an estimate for an idle machine from the CPU
// per job (at most every core busy, at most one core per generating thread): a shared machine's
// load moves the measured ratio (a busy neighbour takes more from one process than from two), not
// the CPU each job costs. And a ceiling: what a mode could drain with every core busy at the CPU a
// job cost it (the larger of the machine's whole busy CPU per job and the parts named), as a ratio
// to one process's measured rate in the same round; a target above it cannot be reached at this CPU
// per job (some of it goes by the second, not the job, so it is a few percent low in a slow round).
// Then checks over both phases: every CVE ended
// with exactly one stored rule (none lost, none duplicated), no job ran more than once, and the
// verdicts (each rule proven as in `wafgen generate`).
// The machine may be shared: the header gives the load average, and --rounds R (alternating the
// order of the modes) gives each figure as the median of R runs.
// WAFGEN_PG_PREPARE=0 in its environment runs the workers' PostgreSQL queries unnamed (the store
// before prepared statements), for a baseline.
// --profile DIR writes each worker process's CPU profile (node --cpu-prof) into DIR; --log DIR its
// log lines (LOG_LEVEL=info); --node-args passes flags to the worker processes' node; --env KEY=VALUE
// (repeatable; WAFGEN_AUDIT_*, WAFGEN_PG_PREPARE and LOG_LEVEL only) sets a variable of the
// workers' environment, e.g. `--env WAFGEN_AUDIT_FSYNC=0` to see what the audit log's fsyncs cost.
// Bounded: each phase gives up after 15 minutes, saying how far it got.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
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
// Flags that take a value: the number after any of them is that value, not N.
const VALUED = new Set([
  '--warmup',
  '--concurrency',
  '--modes',
  '--rounds',
  '--profile',
  '--log',
  '--node-args',
  '--env',
]);
const positionalAt = argv.findIndex((a, i) => /^\d+$/.test(a) && !VALUED.has(argv[i - 1] ?? ''));
const positional = positionalAt >= 0 ? argv[positionalAt] : undefined;
// Anything else is a mistake said at once: a misspelt flag (`--round 3`) ran a whole default bench.
for (const [i, a] of argv.entries()) {
  if (i === positionalAt || VALUED.has(argv[i - 1] ?? '') || VALUED.has(a) || a === '--tsx' || a === '--')
    continue;
  throw new Error(
    `bench:queue: ${JSON.stringify(a)} is not an argument it takes (N, ${[...VALUED].join(', ')} with a value, --tsx)`,
  );
}
const n = Number(positional ?? 600);
const warmupPerThread = Number(flag('--warmup') ?? 2000);
const concurrencyFlag = flag('--concurrency');
const concurrency = concurrencyFlag === undefined ? undefined : Number(concurrencyFlag);
const profileDir = flag('--profile');
const logDir = flag('--log');
// The log folder is made here (node --cpu-prof makes the profile's); a missing one failed the run's first worker.
if (logDir) mkdirSync(logDir, { recursive: true });
const fromSources = argv.includes('--tsx');
const nodeArgsExtra = (flag('--node-args') ?? '').split(' ').filter((a) => a !== '');
const workerEnv: Record<string, string> = {};
for (const [i, a] of argv.entries()) {
  if (a !== '--env') continue;
  // Only settings that change how a worker does its jobs: the rest (the store, the queue, ports,
  // threads, the key prefix, the data folder) would take the workers off the bench's own.
  const m = /^(WAFGEN_AUDIT_[A-Z0-9_]+|WAFGEN_PG_PREPARE|LOG_LEVEL)=(.*)$/s.exec(argv[i + 1] ?? '');
  if (!m)
    throw new Error(
      `--env takes KEY=VALUE with WAFGEN_AUDIT_*, WAFGEN_PG_PREPARE or LOG_LEVEL, not ${argv[i + 1] ?? 'nothing'}`,
    );
  workerEnv[m[1]!] = m[2]!;
}
const rounds = Number(flag('--rounds') ?? 1);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 9) throw new Error('--rounds must be 1 to 9');
const modes = (flag('--modes') ?? '1x0,2x0,1x2').split(',').map((m) => {
  const match = /^(\d+)x(\d+)$/.exec(m.trim());
  if (!match) throw new Error(`--modes: ${m} is not PROCESSESxTHREADS (e.g. 2x1)`);
  const processes = Number(match[1]);
  const threads = Number(match[2]);
  if (processes < 1 || processes > 16 || threads > 16)
    throw new Error(`--modes: ${m}: 1 to 16 processes of 0 to 16 threads`);
  return { processes, threads };
});
if (!Number.isInteger(n) || n < 1 || n > 100_000)
  throw new Error('N must be a whole number from 1 to 100000');
if (!Number.isInteger(warmupPerThread) || warmupPerThread < 0 || warmupPerThread > 10_000)
  throw new Error('--warmup must be a whole number from 0 to 10000');
if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256))
  throw new Error('--concurrency must be a whole number from 1 to 256');
const LIMIT_MS = 15 * 60_000;

// The workers run from dist/, as `wafgen worker` does in production (compiled: no TypeScript
// loader in the way of start-up): build it from the current sources first.
// tsc exits 2 on type errors yet still writes dist/ (a tree with others' work under way): the
// bench goes on after saying so; any other failure stops it.
if (!fromSources) {
  const node = (args: string[]) =>
    spawnSync(process.execPath, args, {
      cwd: resolve(fileURLToPath(import.meta.url), '../..'),
      stdio: 'inherit',
    });
  const build = node(['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
  if (build.status === 2)
    console.error('bench:queue: tsc reported type errors (above); dist/ was written, going on');
  else if (build.status !== 0) throw new Error(`tsc failed (${build.status ?? build.signal})`);
  // As `npm run build` does after tsc: Kysely in one file over tsc's re-export (else the workers
  // load its 264 files, and the dist/ left behind stays so), and the benign corpus snapshot, which
  // names the build it was made by (else every worker, and every `wafgen` run after this bench,
  // parsed the corpus anew, ~0.4 s of CPU each).
  for (const [script, what] of [
    ['scripts/bundle-kysely.mjs', 'the Kysely bundle'],
    ['scripts/benign-snapshot.mjs', 'the benign snapshot'],
  ] as const) {
    const r = node([script]);
    if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal})`);
  }
}

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

const HZ = 100; // USER_HZ: /proc times are in clock ticks of 1/100 s on Linux

/** utime + stime (seconds) from a /proc stat line. */
function statCpu(stat: string): number {
  // utime and stime are fields 14 and 15 of the line (11 and 12 after the command).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / HZ;
}

/** User + system CPU seconds of a process (all its threads), from /proc; undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return statCpu(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Busy CPU seconds of the whole machine (every core: user, nice, system, irq, softirq; not idle,
 * iowait, or steal, the hypervisor's time for other guests), from /proc/stat; undefined elsewhere.
 * Beside the processes the bench names, it holds what the kernel does for them in its own threads
 * (the file system's journal behind an fsync, loopback networking in softirq), PostgreSQL's own
 * processes (WAL writer, checkpointer, autovacuum), the bench's own backends, and anything else
 * running.
 */
function machineCpu(): number | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) / HZ;
  } catch {
    return undefined;
  }
}

/** CPU seconds of a process's main thread, and of all its other threads together. */
function threadCpu(pid: number | undefined): { main: number; other: number } | undefined {
  const all = cpuSeconds(pid);
  if (pid === undefined || all === undefined) return undefined;
  try {
    const main = statCpu(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
    // A thread that ended gave its time to the process total: "other" is the process less its main thread.
    return { main, other: all - main };
  } catch {
    return undefined;
  }
}

/** CPU seconds per job of each part, in the measured phase. */
interface CpuSplit {
  main: number;
  other: number;
  postgres: number;
  redis: number;
  bench: number;
  /** The whole machine's busy CPU (the parts above, the kernel's threads, anything else running). */
  machine?: number;
}

interface ModeResult {
  label: string;
  warmJobs: number;
  warmS: number;
  enqueueS: number;
  /** Measured phase: first enqueue to last job done. */
  totalS: number;
  perMinute: number;
  /** Both phases: all their jobs over the two phases' times (the pause between them left out). */
  wholePerMinute: number;
  succeeded: number;
  dead: number;
  verdicts: Record<string, number>;
  lost: string[];
  duplicated: string[];
  rerun: number;
  cpu: CpuSplit | undefined;
  gaveUp: boolean;
}

let exploitCount = 0;
const ids = Array.from({ length: n }, (_, i) => `CVE-2099-${10000 + i}`);
const maxGenerators = Math.max(...modes.map((m) => m.processes * Math.max(1, m.threads)));
const warmIds = Array.from({ length: warmupPerThread * maxGenerators }, (_, i) => `CVE-2098-${10000 + i}`);

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
    const records = [...ids, ...warmIds].map((id, i) => ({ ...bundled[i % bundled.length]!, id }));
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

/** The Redis server's process id (its CPU is the machine's Redis: shared with anything else using it). */
async function redisPid(): Promise<number | undefined> {
  const info = await redis.info('server');
  const m = /process_id:(\d+)/.exec(info);
  return m ? Number(m[1]) : undefined;
}

const WORKER_APP = 'wafgen-bench-worker';

async function runMode(processes: number, threads: number, round: number): Promise<ModeResult> {
  const label = `${processes} proc × ${threads === 0 ? 'main thread' : `${threads} thread${threads > 1 ? 's' : ''}`}`;
  const name = `wafgen_bench_${run}_${processes}x${threads}_${round}`;
  await admin(`create database ${name} template ${baseDb}`);
  databases.push(name);
  const prefix = `wafgen-bench-${run}-${processes}x${threads}-${round}:`;
  // The workers' connections carry an application name, so their PostgreSQL backends can be told
  // from this process's own (enqueueing and polling).
  const workerDbUrl = new URL(dbUrl(name));
  workerDbUrl.searchParams.set('application_name', WORKER_APP);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: workerDbUrl.toString(),
    REDIS_URL: redisUrl,
    WAFGEN_REDIS_PREFIX: prefix,
    WAFGEN_DATA_DIR: dataDir,
    WAFGEN_OFFLINE: '1',
    // WAFGEN_PG_PREPARE=0 in the bench's environment runs the workers without prepared statements.
    ...(process.env.WAFGEN_PG_PREPARE ? { WAFGEN_PG_PREPARE: process.env.WAFGEN_PG_PREPARE } : {}),
    ...(concurrency === undefined ? {} : { WAFGEN_WORKER_CONCURRENCY: String(concurrency) }),
    LOG_LEVEL: logDir ? 'info' : 'warn',
    ...workerEnv,
  };
  const workers: ChildProcess[] = [];
  const store = await openStore({ databaseUrl: dbUrl(name), dataDir });
  let service: Awaited<ReturnType<typeof buildService>> | undefined;
  let queue: Queue | undefined;
  const redisProcess = await redisPid();

  /** The workers' PostgreSQL backends and their CPU seconds now. */
  const backendCpu = async (): Promise<Map<number, number>> => {
    const rows = await sql<{
      pid: number;
    }>`select pid from pg_stat_activity where datname = ${name} and application_name = ${WORKER_APP}`.execute(
      store.db,
    );
    const out = new Map<number, number>();
    for (const { pid } of rows.rows) {
      const c = cpuSeconds(pid);
      if (c !== undefined) out.set(pid, c);
    }
    return out;
  };

  /**
   * Enqueues the CVEs and waits until each job has succeeded or died (or the phase's time runs
   * out). With `backlog`, the jobs are enqueued while the queue is paused and the clock starts when
   * it resumes: the workers drain a backlog, and enqueueing (the API's work) is not in the figure.
   */
  const phase = async (
    cves: string[],
    yearPrefix: string,
    opts: { backlog?: boolean; onStart?: () => Promise<void>; onPoll?: () => Promise<void> } = {},
  ): Promise<{ enqueuedMs: number; elapsedMs: number; done: number; dead: number; gaveUp: boolean }> => {
    const enqueueStarted = Date.now();
    if (opts.backlog) await queue!.pause();
    for (let i = 0; i < cves.length; i += 100)
      await Promise.all(
        cves.slice(i, i + 100).map((cveId) => service!.jobs.enqueue({ cveId, source: 'bench' })),
      );
    const enqueuedMs = Date.now() - enqueueStarted;
    await opts.onStart?.();
    const started = opts.backlog ? Date.now() : enqueueStarted;
    if (opts.backlog) await queue!.resume();
    let done = 0;
    let dead = 0;
    let gaveUp = false;
    let lastPoll = Date.now();
    for (;;) {
      // Every 250 ms: the end time is the last job's own (below), so polling more often would only
      // take CPU from the workers.
      await new Promise((r) => setTimeout(r, 250));
      const rows = await sql<{
        done: number;
        dead: number;
      }>`select count(*) filter (where status = 'succeeded')::int as done, count(*) filter (where status = 'dead')::int as dead from jobs where cve_id like ${`${yearPrefix}%`}`.execute(
        store.db,
      );
      done = rows.rows[0]?.done ?? 0;
      dead = rows.rows[0]?.dead ?? 0;
      if (done + dead >= cves.length) break;
      if (Date.now() - started > LIMIT_MS) {
        console.error(
          `${label}: gave up after ${LIMIT_MS / 60_000} minutes with ${done} of ${cves.length} done`,
        );
        gaveUp = true;
        break;
      }
      if (opts.onPoll && Date.now() - lastPoll >= 1000) {
        lastPoll = Date.now();
        await opts.onPoll();
      }
    }
    // The last job's own completion time, not the poll that saw it.
    const last = await sql<{
      at: number;
    }>`select extract(epoch from max(updated_at))::float8 * 1000 as at from jobs where cve_id like ${`${yearPrefix}%`}`.execute(
      store.db,
    );
    const end = Math.min(Date.now(), Math.max(started, Number(last.rows[0]?.at ?? Date.now())));
    return { enqueuedMs, elapsedMs: end - started, done, dead, gaveUp };
  };

  try {
    for (let w = 0; w < processes; w++) {
      const nodeArgs = [
        ...nodeArgsExtra,
        ...(profileDir
          ? [
              '--cpu-prof',
              // One folder per worker process; one profile per thread (node names them).
              `--cpu-prof-dir=${join(resolve(profileDir), `${processes}x${threads}-${round}-${w}`)}`,
            ]
          : []),
      ];
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

    queue = new Queue('wafgen-generate', { connection: { url: redisUrl }, prefix: `${prefix}bull` });
    const e = { ...env, DATABASE_URL: dbUrl(name) };
    service = await buildService(loadConfig(e), loadServiceConfig(e).settings, {
      store,
      env: e,
      audit: false,
      logger: pino({ level: 'silent' }),
      metrics: createMetrics(),
    });

    // Warm-up: the same number of jobs per generating thread, on the workers just started.
    const warm = warmIds.slice(0, warmupPerThread * processes * Math.max(1, threads));
    const warmPhase =
      warm.length > 0
        ? await phase(warm, 'CVE-2098-')
        : { enqueuedMs: 0, elapsedMs: 0, done: 0, dead: 0, gaveUp: false };

    // Measured phase: a backlog of N jobs, drained by the warmed-up workers.
    let before: ReturnType<typeof threadCpu>[] = [];
    let pgBefore = new Map<number, number>();
    const pgLast = new Map<number, number>();
    let redisBefore: number | undefined;
    let benchBefore = process.cpuUsage();
    let machineBefore: number | undefined;
    const measured = await phase(ids, 'CVE-2099-', {
      backlog: true,
      onStart: async () => {
        before = workers.map((w) => threadCpu(w.pid));
        pgBefore = await backendCpu();
        for (const [pid, c] of pgBefore) pgLast.set(pid, c);
        redisBefore = cpuSeconds(redisProcess);
        benchBefore = process.cpuUsage();
        machineBefore = machineCpu();
      },
      // Backends that start during the phase are counted from their start.
      onPoll: async () => {
        for (const [pid, c] of await backendCpu()) pgLast.set(pid, c);
      },
    });
    for (const [pid, c] of await backendCpu()) pgLast.set(pid, c);
    const bench = process.cpuUsage(benchBefore);
    const machineAfter = machineCpu();
    const redisAfter = cpuSeconds(redisProcess);
    const after = workers.map((w) => threadCpu(w.pid));
    const perJob = (seconds: number): number => seconds / n;
    let workerCpu: { main: number; other: number } | undefined = { main: 0, other: 0 };
    for (const [i, c] of after.entries()) {
      const b = before[i];
      if (!c || !b || !workerCpu) workerCpu = undefined;
      else workerCpu = { main: workerCpu.main + c.main - b.main, other: workerCpu.other + c.other - b.other };
    }
    const pgCpu = [...pgLast].reduce((t, [pid, c]) => t + c - (pgBefore.get(pid) ?? 0), 0);
    const cpu: CpuSplit | undefined =
      workerCpu && redisBefore !== undefined && redisAfter !== undefined
        ? {
            main: perJob(workerCpu.main),
            other: perJob(workerCpu.other),
            postgres: perJob(pgCpu),
            redis: perJob(redisAfter - redisBefore),
            bench: perJob((bench.user + bench.system) / 1e6),
            ...(machineBefore !== undefined && machineAfter !== undefined
              ? { machine: perJob(machineAfter - machineBefore) }
              : {}),
          }
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
    const completed = await queue.getJobs(['completed'], 0, -1);
    const all = [...warm, ...ids];
    return {
      label,
      warmJobs: warm.length,
      warmS: warmPhase.elapsedMs / 1000,
      enqueueS: measured.enqueuedMs / 1000,
      totalS: measured.elapsedMs / 1000,
      perMinute: (measured.done / measured.elapsedMs) * 60_000,
      wholePerMinute:
        ((warmPhase.done + measured.done) / (warmPhase.elapsedMs + measured.elapsedMs)) * 60_000,
      succeeded: warmPhase.done + measured.done,
      dead: warmPhase.dead + measured.dead,
      verdicts: Object.fromEntries(verdicts.rows.map((r) => [r.verdict ?? 'none', r.n])),
      lost: all.filter((id) => !stored.has(id)),
      duplicated: [...stored].filter(([, count]) => count > 1).map(([id]) => id),
      rerun: completed.filter((j) => j.attemptsStarted > 1).length,
      cpu,
      gaveUp: warmPhase.gaveUp || measured.gaveUp,
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
  const ratios = (i: number, key: 'perMinute' | 'wholePerMinute'): number[] =>
    all[i]!.map((r, round) => r[key] / all[base]![round]![key]);
  const sum = (i: number, f: (r: ModeResult) => number): string =>
    String(all[i]!.reduce((t, r) => t + f(r), 0));
  const verdictNames = [...new Set(all.flat().flatMap((r) => Object.keys(r.verdicts)))].sort();
  const cols = modes.map((_, i) => i);
  const seconds = (v: number): string => `${v.toFixed(1)} s`;
  const whole = (v: number): string => v.toFixed(0);
  const ratio = (v: number): string => v.toFixed(2);
  const ms = (v: number): string => `${(v * 1000).toFixed(1)} ms`;
  const numbers = (label: string, f: (r: ModeResult) => number, fmt: (v: number) => string) =>
    [
      label,
      ...cols.map((i) =>
        cell(
          all[i]!.map((r) => f(r)),
          fmt,
        ),
      ),
    ] as [string, ...string[]];
  const cpuRow = (label: string, f: (c: CpuSplit) => number) =>
    [
      label,
      ...cols.map((i) =>
        all[i]!.every((r) => r.cpu !== undefined)
          ? cell(
              all[i]!.map((r) => f(r.cpu!)),
              ms,
            )
          : '-',
      ),
    ] as [string, ...string[]];
  const totalCpu = (c: CpuSplit): number => c.main + c.other + c.postgres + c.redis + c.bench;
  // What the mode would drain on this machine with nothing else running, from its CPU per job: at
  // most every core busy (total CPU per job), and at most one core per generating thread (a
  // process's main thread, or its generation threads with their GC and compiler helpers). An upper
  // bound that a shared machine's load does not move, printed beside the measured figure.
  const estimate = (r: ModeResult, i = all.findIndex((rs) => rs.includes(r))): number => {
    if (!r.cpu) return 0;
    const m = modes[i]!;
    const lanes = m.processes * Math.max(1, m.threads);
    const perLane = m.threads === 0 ? r.cpu.main : r.cpu.other;
    return Math.min(availableParallelism() / totalCpu(r.cpu), lanes / perLane) * 60;
  };
  const estimateRatios = (i: number): number[] =>
    all[i]!.map((r, round) => estimate(r, i) / estimate(all[base]![round]!, base));
  // The most this mode could drain here at the CPU a job cost it: every core busy with its jobs, at
  // the larger of the machine's whole busy CPU per job and the parts named, as a ratio to what one
  // process drained in the same round. A target above it cannot be reached at this CPU per job:
  // that needs less CPU a job (or a slower baseline), not more parallelism. Not a strict bound:
  // some of that CPU goes by the second, not by the job (the bench's polling, PostgreSQL's own
  // processes, anything else running), so a round that drained slowly reads a slightly lower
  // ceiling, and the CPU is read from just before the queue resumes to the poll after the last job.
  // None where a round has no CPU figures, gave up, or its baseline drained nothing.
  const ceilingOf = (i: number): number[] | undefined => {
    if (base < 0 || i === base) return undefined;
    const out: number[] = [];
    for (const [round, r] of all[i]!.entries()) {
      const b = all[base]![round]!;
      if (!r.cpu || r.gaveUp || b.gaveUp || !(b.perMinute > 0)) return undefined;
      const perJob = Math.max(r.cpu.machine ?? 0, totalCpu(r.cpu));
      out.push(((availableParallelism() / perJob) * 60) / b.perMinute);
    }
    return out;
  };
  const rows: [string, ...string[]][] = [
    ['workers (processes × threads)', ...cols.map((i) => all[i]![0]!.label)],
    numbers('warm-up jobs', (r) => r.warmJobs, whole),
    numbers('warm-up time (fresh workers)', (r) => r.warmS, seconds),
    numbers('measured: enqueue time (queue paused)', (r) => r.enqueueS, seconds),
    numbers('measured: time to drain the backlog', (r) => r.totalS, seconds),
    numbers('rules per minute (measured)', (r) => r.perMinute, whole),
    [
      'ratio to 1 proc × main thread',
      ...cols.map((i) => (base >= 0 ? cell(ratios(i, 'perMinute'), ratio) : '-')),
    ],
    numbers('rules per minute, whole run', (r) => r.wholePerMinute, whole),
    ['ratio, whole run', ...cols.map((i) => (base >= 0 ? cell(ratios(i, 'wholePerMinute'), ratio) : '-'))],
    cpuRow('CPU per job: worker main threads', (c) => c.main),
    cpuRow('CPU per job: worker other threads', (c) => c.other),
    cpuRow('CPU per job: PostgreSQL (workers)', (c) => c.postgres),
    cpuRow('CPU per job: Redis server', (c) => c.redis),
    cpuRow('CPU per job: bench (polling)', (c) => c.bench),
    cpuRow('CPU per job: total', totalCpu),
    [
      'CPU per job: rest of the machine',
      ...cols.map((i) =>
        all[i]!.every((r) => r.cpu?.machine !== undefined)
          ? cell(
              all[i]!.map((r) => r.cpu!.machine! - totalCpu(r.cpu!)),
              ms,
            )
          : '-',
      ),
    ],
    [
      'cores busy (total CPU / time)',
      ...cols.map((i) =>
        all[i]!.every((r) => r.cpu !== undefined)
          ? cell(
              all[i]!.map((r) => (totalCpu(r.cpu!) * n) / r.totalS),
              ratio,
            )
          : '-',
      ),
    ],
    numbers('idle-machine estimate, rules/min', (r) => estimate(r), whole),
    ['ratio of the estimates', ...cols.map((i) => (base >= 0 ? cell(estimateRatios(i), ratio) : '-'))],
    [
      'ceiling: every core busy at this CPU per job, ratio to 1 proc × main thread measured',
      ...cols.map((i) => (ceilingOf(i) ? cell(ceilingOf(i)!, ratio) : '-')),
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
    `bench:queue — per mode, ${warmupPerThread} warm-up jobs per generating thread, then the same ${n} jobs measured ` +
      `(bundled records cloned, ${exploitCount} exploit requests as evidence in all), ` +
      `${concurrency === undefined ? "the worker's default jobs at once (4 per generating thread)" : `concurrency ${concurrency} per worker process`}, ${rounds} round${rounds > 1 ? 's' : ''} (median, then each round), ` +
      `workers from ${fromSources ? 'the sources (tsx)' : 'dist/'}; PostgreSQL + Redis on loopback; ${availableParallelism()} cores, load average ${load1!.toFixed(1)} at the end\n`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  const summary = (m: { processes: number; threads: number }, what: string): void => {
    const i = modes.findIndex((x) => x.processes === m.processes && x.threads === m.threads);
    if (base < 0 || i < 0) return;
    const ceiling = ceilingOf(i);
    console.log(
      `ratio ${what} / 1 process: ${median(ratios(i, 'perMinute')).toFixed(2)} measured after warm-up ` +
        `(${median(ratios(i, 'wholePerMinute')).toFixed(2)} over the whole run, warm-up included; ` +
        `${median(estimateRatios(i)).toFixed(2)} estimated for an idle machine from the CPU per job` +
        (ceiling
          ? `; at most ${median(ceiling).toFixed(2)} with every core busy at the CPU a job cost it)`
          : ')'),
    );
  };
  console.log('');
  summary({ processes: 2, threads: 0 }, '2 processes');
  summary({ processes: 1, threads: 2 }, '1 process × 2 threads');
  summary({ processes: 2, threads: 1 }, '2 processes × 1 thread');
  for (const r of all.flat())
    if (r.lost.length > 0 || r.duplicated.length > 0 || r.rerun > 0 || r.gaveUp || r.dead > 0) {
      console.error(
        `${r.label}: lost ${r.lost.slice(0, 10).join(', ')}; duplicated ${r.duplicated.slice(0, 10).join(', ')}; run more than once ${r.rerun}; dead ${r.dead}`,
      );
      process.exitCode = 1;
    }
} finally {
  redis.disconnect();
  for (const db of databases.reverse()) await admin(`drop database if exists ${db} with (force)`);
  rmSync(dataDir, { recursive: true, force: true });
}
