// Shared helpers for the service tests: the local Redis and PostgreSQL servers (a fresh key prefix
// and database per test file; a missing server skips with one line, or fails under CI=true), an
// embedded store opened once per file, the API on a real loopback socket, child `wafgen` processes,
// and tokens.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { pino } from 'pino';

import { startServer, type RunningServer } from '../../src/api/adapters/node.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/api/runtime.js';
import { openStore, type Store } from '../../src/store/index.js';
import { loadBundled } from '../../src/vulns/bundled.js';
import { createMetrics } from '../../src/observability/index.js';
import { REPO_ROOT } from '../support/shared.js';

export { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../store/support.js';

export const REDIS_URL = process.env.WAFGEN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const JWT_SECRET = 'test-secret-for-wafgen-jwt-hs256-0123456789';
export const JWT_ISSUER = 'https://issuer.test';
export const JWT_AUDIENCE = 'wafgen-api';
export const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef';

/** True when the local Redis answers; otherwise says so once (or throws under CI=true). */
export async function redisAvailable(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    if (process.env.CI === 'true')
      throw new Error(`Redis is unreachable at ${REDIS_URL}: CI must provide it`);
    console.warn(`skipping Redis tests: no Redis server answers at ${REDIS_URL}`);
    return false;
  } finally {
    client.disconnect();
  }
}

/** A key prefix of this test file's own, and a clean-up that deletes every key under it. */
export function redisPrefix(): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `wafgen-test-${randomBytes(5).toString('hex')}:`;
  return {
    prefix,
    async cleanup() {
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      try {
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await client.del(...keys);
        } while (cursor !== '0');
      } catch {
        // Redis gone: nothing to clean
      } finally {
        client.disconnect();
      }
    },
  };
}

/** The embedded store in a fresh folder, seeded with the bundled records (open once per file). */
export async function openTestStore(): Promise<{ store: Store; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wafgen-svc-'));
  const store = await openStore({ dataDir });
  await store.vulns.upsertMany(loadBundled());
  return { store, dataDir };
}

/** A PostgreSQL store on a test database, seeded with the bundled records. */
export async function openPostgresStore(url: string): Promise<Store> {
  const store = await openStore({ databaseUrl: url, dataDir: mkdtempSync(join(tmpdir(), 'wafgen-pg-')) });
  if ((await store.vulns.count()) === 0) await store.vulns.upsertMany(loadBundled());
  return store;
}

export function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    WAFGEN_OFFLINE: '1',
    WAFGEN_DATA_DIR: mkdtempSync(join(tmpdir(), 'wafgen-env-')),
    WAFGEN_JWT_SECRET: JWT_SECRET,
    WAFGEN_JWT_ISSUER: JWT_ISSUER,
    WAFGEN_JWT_AUDIENCE: JWT_AUDIENCE,
    WAFGEN_WEBHOOK_SECRET: WEBHOOK_SECRET,
    LOG_LEVEL: 'silent',
  };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface TestApi {
  url: string;
  runtime: Runtime;
  server: RunningServer;
  close(): Promise<void>;
}

/** The API on an ephemeral loopback port, built the way `wafgen serve` builds it. */
export async function startApi(env: NodeJS.ProcessEnv, opts: RuntimeOptions = {}): Promise<TestApi> {
  const runtime = await createRuntime(env, {
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    ...opts,
  });
  const server = await startServer(runtime, { port: 0, host: '127.0.0.1' });
  return { url: server.url, runtime, server, close: () => server.close() };
}

export async function token(
  claims: Record<string, unknown> = {},
  opts: {
    secret?: string;
    audience?: string;
    issuer?: string;
    expiresIn?: string | number;
    alg?: string;
  } = {},
): Promise<string> {
  const jwt = new SignJWT({ scope: 'rules:read rules:generate', ...claims })
    .setProtectedHeader({ alg: opts.alg ?? 'HS256' })
    .setSubject(typeof claims.sub === 'string' ? claims.sub : 'tester')
    .setIssuer(opts.issuer ?? JWT_ISSUER)
    .setAudience(opts.audience ?? JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '10m');
  return jwt.sign(new TextEncoder().encode(opts.secret ?? JWT_SECRET));
}

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export async function call<T = Record<string, unknown>>(
  url: string,
  init: {
    method?: string;
    body?: unknown;
    raw?: string;
    token?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined = init.raw;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, {
    method: init.method ?? (body !== undefined ? 'POST' : 'GET'),
    headers,
    body,
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export interface Child {
  proc: ChildProcess;
  output(): string;
  /** Resolves when a line of stderr/stdout matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The exit code, once the output is read to the end (or 5 s after the exit). */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Runs a TypeScript entry (the wafgen command by default) as a real child process. */
export function spawnTs(script: string, args: string[], env: NodeJS.ProcessEnv): Child {
  return spawnNode(['--import', 'tsx', resolve(REPO_ROOT, script), ...args], env);
}

function spawnNode(argv: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, argv, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const l of listeners) l();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const closed = new Promise<void>((resolve) => proc.on('close', () => resolve()));
  // 'exit' can come before the last output is read: wait for 'close' too, but not for ever (a
  // process it started may hold the pipes open).
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      const late = setTimeout(() => resolve(code), 5_000).unref();
      void closed.then(() => {
        clearTimeout(late);
        resolve(code);
      });
    }),
  );
  return {
    proc,
    output: () => out,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolvePromise, reject) => {
        const check = (): void => {
          const m = pattern.exec(out);
          if (m) {
            cleanup();
            resolvePromise(m);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern} in:\n${out.slice(-2000)}`));
        }, timeoutMs);
        const onExit = (): void => {
          cleanup();
          reject(new Error(`process exited before ${pattern}:\n${out.slice(-2000)}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          proc.off('exit', onExit);
        };
        listeners.add(check);
        proc.once('exit', onExit);
        check();
      });
    },
  };
}

/** The real `wafgen` binary (dist/ is built by the test setup before the suite). */
export const spawnWafgen = (args: string[], env: NodeJS.ProcessEnv): Child =>
  spawnNode([resolve(REPO_ROOT, 'bin/wafgen.js'), ...args], env);

/** Headers that differ between two answers whatever served them. */
const VARYING_HEADERS = new Set([
  'date',
  'connection',
  'keep-alive',
  'content-length',
  'ratelimit-remaining',
  'ratelimit-reset',
]);

/** An answer's headers as [name, value] pairs, without those that differ between any two answers. */
export function comparableHeaders(headers: Headers): [string, string][] {
  const pairs: [string, string][] = [];
  headers.forEach((value, name) => pairs.push([name, value]));
  return pairs.filter(([name]) => !VARYING_HEADERS.has(name));
}

/** The API's `wafgen_http_requests_total` for one method, route and status, read from its /metrics. */
export async function requestsCounted(
  apiUrl: string,
  method: string,
  route: string,
  status: number,
): Promise<number> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const series = `wafgen_http_requests_total{method="${method}",route="${route}",status="${status}"}`;
  const line = text.split('\n').find((l) => l.startsWith(series));
  return Number(line?.split(' ').pop() ?? 0);
}
