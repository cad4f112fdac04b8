// npm run bench:api [-- --rounds N] [-- --duration S] [-- --connections N] [-- --profile] [-- --only get,validate]
//
// Load on loopback with autocannon against the API as `wafgen serve` runs it (auth, rate limiting,
// metrics, request ids, validation all on), beside a bare Hono route served by the same process in
// the same run: cache-hit GET /v1/rules/:cveId, cache-hit POST /v1/rules/generate and POST
// /v1/rules/validate (the rule the generation wrote, as a client would send it back). Prints
// requests per second, latency p50/p99 and the ratio to bare (targets: 0.7 for the cache-hit GET,
// 0.3 for validate), then the server process's peak RSS beside the 200 MB target. Beside the GET, a
// "ceiling": the GET's exact answer (4 KB, 15 headers) from plain node:http with nothing else done,
// whose server CPU per request is what writing that answer costs (its req/s has come out below the
// GET's own at load 16: the client, not the server, bounded it; read its CPU column).
//
// The machine may be shared, and its speed drifts by a third within a minute (bare Hono at 16,800
// then 23,200 req/s in one run): the targets run in rounds (3 by default), bare before each round
// and after the last, and each ratio is the median over the rounds of the target's figure against
// the mean of the two bare runs around its round (the range is printed beside it); beside it, the server's own CPU time per request (from
// /proc/<pid>/stat) and bare's over it, which the other processes move far less (Redis's CPU is not
// in it: the limiter's and cache's round trips count only their client side). Peak RSS is the
// server's VmHWM (the lifetime peak, start-up included) and the highest VmRSS sampled every 50 ms
// while the load ran (per target in the table). The server runs under what `wafgen serve` gives
// its server (src/cli/commands/serve.ts: V8 heap flags and MALLOC_ARENA_MAX; `wafgen serve` starts
// it from a small launcher process, ~8 MB of private memory, that this bench does not start), or
// under BENCH_SERVER_NODE_ARGS.
//
// --profile adds one more round, bare then each target, not counted in the table, during which it
// takes a V8 CPU profile of the server (what `node --cpu-prof` records; the profiler slows the
// server, so a profiled run's figures would bias the medians), and prints its self time by
// function per target (the .cpuprofile files stay in a temporary folder, named in the output).
//
// Backends: Redis at REDIS_URL (default redis://127.0.0.1:6379 when it answers, else in-process),
// PostgreSQL at DATABASE_URL when set, else the embedded store in a temporary folder. Each run is
// bounded (default 4 s per target and round, after a 1 s warm-up the first time; about 2 minutes in
// all, 45 s with --only get).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Redis } from 'ioredis';
import { SignJWT } from 'jose';

import { serveChildEnv, serveNodeArgs } from '../src/cli/commands/serve.js';

interface Histogram {
  p50: number;
  p99: number;
  average: number;
}
interface AutocannonResult {
  requests: Histogram & { total: number };
  latency: Histogram;
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Per request, what setupRequest returns is sent (autocannon's way to vary the body). */
  requests?: { setupRequest: (req: { body?: string }) => { body?: string } }[];
}) => Promise<AutocannonResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const root = resolve(fileURLToPath(import.meta.url), '../..');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

async function redisUrl(): Promise<string | undefined> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return url;
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

/** VmHWM (peak) and VmRSS (now) of a process, in MB, from /proc (Linux); undefined elsewhere. */
function memoryOf(pid: number): { peakMb: number; rssMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { peakMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc (Linux). */
function cpuMsOf(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on every Linux this runs on (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self time by function from a V8 .cpuprofile: the top `n` rows as `ms  %  function  file:line`. */
function profileSummary(file: string, n = 40): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url
      .replace(/^file:\/\/.*?\/node_modules\//, '')
      .replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');
    const key = `${frame.functionName || '(anonymous)'}  ${where}${where ? `:${frame.lineNumber + 1}` : ''}`;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, ms]) => `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${k}`,
    );
}

const duration = arg('duration', 4);
const rounds = arg('rounds', 3);
if (!Number.isInteger(rounds) || rounds > 20) throw new Error('--rounds must be a whole number from 1 to 20');
const connections = arg('connections', 50);
const profile = process.argv.includes('--profile');
/** --only get,validate: just the targets whose names hold one of these (bare always runs). */
const only = process.argv.includes('--only')
  ? process.argv[process.argv.indexOf('--only') + 1]!.toLowerCase().split(',')
  : undefined;
const secret = 'bench-secret-0123456789abcdef0123456789';
const prefix = `wafgen-bench-${process.pid}:`;
const dataDir = mkdtempSync(join(tmpdir(), 'wafgen-bench-api-'));
const redis = await redisUrl();

const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  WAFGEN_DATA_DIR: dataDir,
  WAFGEN_OFFLINE: '1',
  LOG_LEVEL: 'silent',
  WAFGEN_JWT_SECRET: secret,
  WAFGEN_JWT_ISSUER: 'bench',
  WAFGEN_JWT_AUDIENCE: 'wafgen',
  // The limiter runs on every request (its cost is measured); the limits are out of reach.
  WAFGEN_RATE_LIMIT: '1000000000',
  WAFGEN_RATE_LIMIT_GENERATE: '1000000000',
  WAFGEN_REDIS_PREFIX: prefix,
  WAFGEN_AUDIT_SPOOL_DIR: join(dataDir, 'spool'),
  // What `wafgen serve` sets for its server (MALLOC_ARENA_MAX=2 unless given).
  ...serveChildEnv(process.env),
  ...(redis ? { REDIS_URL: redis } : {}),
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
};

const serverNodeArgs =
  process.env.BENCH_SERVER_NODE_ARGS !== undefined
    ? process.env.BENCH_SERVER_NODE_ARGS.split(' ').filter(Boolean)
    : serveNodeArgs(process.env);
const profileDir = profile ? mkdtempSync(join(tmpdir(), 'wafgen-bench-api-prof-')) : undefined;
const server = spawn(
  process.execPath,
  // The node flags `wafgen serve` starts its server with (WAFGEN_SERVE_NODE_ARGS when set), or
  // BENCH_SERVER_NODE_ARGS (empty: none) to measure what other values trade.
  [...serverNodeArgs, resolve(root, 'bench/api-server.mjs')],
  {
    cwd: root,
    env: { ...env, ...(profileDir ? { BENCH_PROFILE_DIR: profileDir } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const ready = await new Promise<{
  api: string;
  bare: string;
  ceiling: string;
  store: string;
  cache: string;
  engine: string;
}>((resolvePromise, reject) => {
  let out = '';
  server.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const line = out.split('\n').find((l) => l.startsWith('{'));
    if (line) resolvePromise(JSON.parse(line));
  });
  server.on('exit', (code) => reject(new Error(`the bench server exited (${code})`)));
});

/** Profiles taken (with --profile), by target. */
const profiles: { name: string; file: string }[] = [];
/** The server's RSS when it said it was ready, before any request. */
const started = memoryOf(server.pid!);
try {
  const token = await new SignJWT({ scope: 'rules:read rules:generate' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench')
    .setIssuer('bench')
    .setAudience('wafgen')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
  const auth = { authorization: `Bearer ${token}` };
  const cveId = 'CVE-2021-44228';
  const body = JSON.stringify({ cveId });
  // Warm the cache (the first generation is the only one).
  const warm = await fetch(`${ready.api}/v1/rules/generate`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body,
  });
  if (warm.status !== 200)
    throw new Error(`warm-up generation answered ${warm.status}: ${await warm.text()}`);
  // The rule `wafgen generate CVE-2021-44228` writes, sent back to be validated (a client checking
  // the rule it is about to deploy).
  const generated = (await warm.json()) as { rule: unknown };
  const validateBody = JSON.stringify({ document: generated.rule, cveId });
  const check = await fetch(`${ready.api}/v1/rules/validate`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: validateBody,
  });
  const checked = (await check.json()) as { valid?: boolean };
  if (check.status !== 200 || checked.valid !== true)
    throw new Error(`validating the generated rule answered ${check.status}: ${JSON.stringify(checked)}`);

  // The GET's answer as the client gets it, for the ceiling server (bench/api-server.mjs): the
  // headers as the app writes them (Node adds Date, Connection and Keep-Alive itself).
  const hit = await fetch(`${ready.api}/v1/rules/${cveId}`, { headers: auth });
  const hitBody = await hit.text();
  if (hit.status !== 200 || hit.headers.get('x-cache') !== 'hit')
    throw new Error(`the cache-hit GET answered ${hit.status} (${hit.headers.get('x-cache')})`);
  const appHeaders = [
    'X-Request-Id',
    'RateLimit-Limit',
    'RateLimit-Remaining',
    'RateLimit-Reset',
    'RateLimit-Policy',
    'Content-Type',
    'X-Cache',
    'Cross-Origin-Resource-Policy',
    'Referrer-Policy',
    'Strict-Transport-Security',
    'X-Content-Type-Options',
    'X-Frame-Options',
    'Content-Length',
  ].map((h) => [h, hit.headers.get(h) ?? '']);
  await fetch(`${ready.bare}/ceiling`, {
    method: 'POST',
    body: JSON.stringify({ headers: appHeaders, body: hitBody }),
  });
  const bare = { name: 'bare Hono GET /bare', url: `${ready.bare}/bare` };
  let renamed = 0;
  const targets = [
    bare,
    { name: 'GET /v1/rules/:cveId (cache hit)', url: `${ready.api}/v1/rules/${cveId}`, headers: auth },
    // The same bytes from plain node:http: the most a cache-hit GET could get (see api-server.mjs).
    { name: "ceiling: plain node:http, the GET's answer", url: `${ready.ceiling}/`, only: 'get' },
    {
      name: 'POST /v1/rules/generate (cache hit)',
      url: `${ready.api}/v1/rules/generate`,
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body,
    },
    {
      name: 'POST /v1/rules/validate',
      url: `${ready.api}/v1/rules/validate`,
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: validateBody,
    },
    {
      // Every request a document the server has not seen (the rule renamed): what validating costs
      // when nothing can be reused but the per-process regex compile cache.
      name: 'POST /v1/rules/validate (new document each time)',
      url: `${ready.api}/v1/rules/validate`,
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      requests: [
        {
          setupRequest: (req: { body?: string }) => ({
            ...req,
            body: validateBody.replace('"wafgen-CVE-2021-44228', `"wafgen-CVE-2021-44228-${++renamed}`),
          }),
        },
      ],
    },
  ];
  console.log(
    `bench:api — ${connections} connections, ${duration} s per target, loopback; store ${ready.store}, cache ${ready.cache}, engine ${ready.engine}; server node flags: ${serverNodeArgs.join(' ') || 'none'}, MALLOC_ARENA_MAX=${env.MALLOC_ARENA_MAX}\n`,
  );
  const atReady = memoryOf(server.pid!);
  /** Highest VmRSS sampled during the current target's measured run, and over all of them. */
  let loadPeakMb = 0;
  let peakUnderLoadMb = 0;
  const sampler = setInterval(() => {
    const m = memoryOf(server.pid!);
    if (m) loadPeakMb = Math.max(loadPeakMb, m.rssMb);
  }, 50);
  // Rounds: bare, then each target, again `rounds` times, and bare once more at the end. Each
  // target's ratio in a round is to the mean of the bare runs just before and after that round, so
  // a machine that speeds up or slows down during the run moves both sides; the table gives the
  // median of the rounds and their range.
  interface Run {
    r: AutocannonResult;
    cpuUs: number | undefined;
    rssMb: number;
  }
  const measured = targets.filter((t) => {
    const name = ('only' in t ? t.only : undefined) ?? t.name.toLowerCase();
    return t !== bare && (!only || only.some((o) => name.includes(o)));
  });
  const bareRuns: Run[] = [];
  const runs = new Map<string, Run[]>(measured.map((t) => [t.name, []]));
  const measure = async (t: (typeof targets)[number], round: number, profileName?: string): Promise<Run> => {
    loadPeakMb = 0;
    // A short warm-up the first time a target runs.
    if (round === 0) await autocannon({ ...t, connections, duration: 1 });
    if (profileName) await fetch(`${ready.bare}/profile/start`, { method: 'POST' });
    const cpuBefore = cpuMsOf(server.pid!);
    const r = await autocannon({ ...t, connections, duration });
    const cpuAfter = cpuMsOf(server.pid!);
    const cpuUs =
      cpuBefore !== undefined && cpuAfter !== undefined && r.requests.total > 0
        ? ((cpuAfter - cpuBefore) * 1000) / r.requests.total
        : undefined;
    if (!profileName) peakUnderLoadMb = Math.max(peakUnderLoadMb, loadPeakMb);
    else {
      await fetch(`${ready.bare}/profile/stop?name=${profileName}`, { method: 'POST' });
      profiles.push({
        name: `${t.name}, a round of its own`,
        file: join(profileDir!, `${profileName}.cpuprofile`),
      });
    }
    return { r, cpuUs, rssMb: loadPeakMb };
  };
  for (let round = 0; round <= rounds; round++) {
    bareRuns.push(await measure(bare, round));
    if (round === rounds) break;
    for (const t of measured) runs.get(t.name)!.push(await measure(t, round));
  }
  clearInterval(sampler);
  const after = memoryOf(server.pid!);
  // The profiled round, after the counted ones and the memory reading, and left out of the table.
  if (profileDir) {
    await measure(bare, rounds, 'bare');
    for (const [i, t] of measured.entries()) await measure(t, rounds, String(i + 1));
  }
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const spread = (xs: number[]) =>
    xs.length > 1
      ? `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`
      : median(xs).toFixed(2);
  const cpuOf = (run: Run) => run.cpuUs ?? NaN;
  const row = (name: string, own: Run[], ratios: number[], cpuRatios: number[]) => [
    name,
    median(own.map((x) => x.r.requests.average)).toFixed(0),
    `${median(own.map((x) => x.r.latency.p50)).toFixed(1)} ms`,
    `${median(own.map((x) => x.r.latency.p99)).toFixed(1)} ms`,
    ratios.length > 0 ? spread(ratios) : '-',
    own.every((x) => x.cpuUs !== undefined) ? `${median(own.map(cpuOf)).toFixed(0)} µs` : '-',
    cpuRatios.length > 0 && cpuRatios.every(Number.isFinite) ? spread(cpuRatios) : '-',
    String(own.reduce((a, x) => a + x.r.non2xx + x.r.errors + x.r.timeouts, 0)),
    `${Math.max(...own.map((x) => x.rssMb)).toFixed(0)} MB`,
  ];
  const rows = [row(bare.name, bareRuns, [], [])];
  for (const t of measured) {
    const own = runs.get(t.name)!;
    // Round i ran between bare runs i and i + 1.
    const bareAround = (i: number, f: (run: Run) => number) => (f(bareRuns[i]!) + f(bareRuns[i + 1]!)) / 2;
    const rps = (run: Run) => run.r.requests.average;
    const ratios = own.map((x, i) => rps(x) / bareAround(i, rps));
    const cpuRatios = own.map((x, i) => bareAround(i, cpuOf) / cpuOf(x));
    rows.push(row(t.name, own, ratios, cpuRatios));
  }
  const header = [
    'target',
    'req/s',
    'p50',
    'p99',
    'ratio to bare',
    'server CPU/req',
    'CPU ratio',
    'non-2xx/errors',
    'server RSS max',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(
    `\n${rounds} round${rounds > 1 ? 's' : ''} of ${duration} s per target; bare ran before each round and after the last (${bareRuns.map((b) => b.r.requests.average.toFixed(0)).join(', ')} req/s). Ratios: the median over the rounds (range in parentheses) of the target's figure against the mean of the bare runs around its round; targets: cache-hit GET >= 0.70, validate >= 0.30; the ceiling row is the GET's own answer (4 KB, 15 headers) from plain node:http with nothing else done: its CPU/req is what that answer costs the server, against bare Hono's 15-byte one.\n` +
      `server CPU/req: the server process's user + system CPU time over the run / requests answered; CPU ratio = bare's / this one's (a throughput ratio the other processes on the machine cannot move, as long as the server is the bottleneck).`,
  );
  if (started && atReady && after)
    console.log(
      `server RSS: peak ${after.peakMb.toFixed(0)} MB (VmHWM, start-up included; target <= 200 MB), ${peakUnderLoadMb.toFixed(0)} MB highest under load, ${started.rssMb.toFixed(0)} MB when it started listening, ${atReady.rssMb.toFixed(0)} MB after the warm-up generation`,
    );
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  if (redis) {
    const client = new Redis(redis);
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  }
  rmSync(dataDir, { recursive: true, force: true });
  for (const { name, file } of profiles) {
    if (!existsSync(file)) continue;
    console.log(`\nserver self time by function, ${name} (${file}):`);
    for (const row of profileSummary(file, 25)) console.log(row);
  }
}
