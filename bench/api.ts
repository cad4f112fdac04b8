// npm run bench:api [-- --duration S] [-- --connections N]
//
// Load on loopback with autocannon against the API as `wafgen serve` runs it (auth, rate limiting,
// metrics, request ids, validation all on), beside a bare Hono route served by the same process in
// the same run: cache-hit GET /v1/rules/:cveId and cache-hit POST /v1/rules/generate. Prints
// requests per second, latency p50/p99 and the ratio to bare (the figure: aim at 0.5 or better).
//
// Backends: Redis at REDIS_URL (default redis://127.0.0.1:6379 when it answers, else in-process),
// PostgreSQL at DATABASE_URL when set, else the embedded store in a temporary folder. Each run is
// bounded (default 5 s per target).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Redis } from 'ioredis';
import { SignJWT } from 'jose';

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

const duration = arg('duration', 5);
const connections = arg('connections', 50);
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
  ...(redis ? { REDIS_URL: redis } : {}),
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
};

const server = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'bench/api-server.ts')], {
  cwd: root,
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const ready = await new Promise<{ api: string; bare: string; store: string; cache: string; engine: string }>(
  (resolvePromise, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolvePromise(JSON.parse(line));
    });
    server.on('exit', (code) => reject(new Error(`the bench server exited (${code})`)));
  },
);

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

  const targets = [
    { name: 'bare Hono GET /bare', url: `${ready.bare}/bare` },
    { name: 'GET /v1/rules/:cveId (cache hit)', url: `${ready.api}/v1/rules/${cveId}`, headers: auth },
    {
      name: 'POST /v1/rules/generate (cache hit)',
      url: `${ready.api}/v1/rules/generate`,
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body,
    },
  ];
  console.log(
    `bench:api — ${connections} connections, ${duration} s per target, loopback; store ${ready.store}, cache ${ready.cache}, engine ${ready.engine}\n`,
  );
  const rows: string[][] = [];
  let bareRps = 0;
  for (const t of targets) {
    // A short warm-up per target, then the measured run.
    await autocannon({ ...t, connections, duration: 1 });
    const r = await autocannon({ ...t, connections, duration });
    if (t.name.startsWith('bare')) bareRps = r.requests.average;
    const bad = r.non2xx + r.errors + r.timeouts;
    rows.push([
      t.name,
      r.requests.average.toFixed(0),
      `${r.latency.p50.toFixed(1)} ms`,
      `${r.latency.p99.toFixed(1)} ms`,
      bareRps > 0 ? (r.requests.average / bareRps).toFixed(2) : '-',
      String(bad),
    ]);
  }
  const header = ['target', 'req/s', 'p50', 'p99', 'ratio to bare', 'non-2xx/errors'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
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
}
