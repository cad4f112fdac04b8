// The attack suite (issue 14, item 9): hostile requests against the real server (the app `wafgen
// serve` builds, on a loopback socket) on both backends, the embedded one (PGlite, in-process cache
// and queue) and PostgreSQL + Redis. Classes: oversized and endless chunked bodies, deep JSON,
// malformed JSON and content types, forged and ill-timed JWTs, webhook replays and bad signatures,
// the rate limit on failed authentication, what /metrics and /readyz give away, and backends that
// die under the server. Every answer must be the documented status with the JSON error shape, and
// no answer may carry a stack, a driver message or a backend address. No timing is asserted.
import { request } from 'node:http';
import { createServer, Socket as NetSocket, type Server, type Socket } from 'node:net';

import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signWebhook } from '../../src/api/webhook.js';
import type { Store } from '../../src/store/index.js';
import {
  baseEnv,
  createTestDatabase,
  JWT_AUDIENCE,
  JWT_ISSUER,
  openPostgresStore,
  openTestStore,
  postgresAdminUrl,
  REDIS_URL,
  redisAvailable,
  redisPrefix,
  startApi,
  token,
  WEBHOOK_SECRET,
  type TestApi,
} from '../service/support.js';

const METRICS_TOKEN = 'metrics-token-attack-0123456789';
const JWT_SECRET = 'test-secret-for-wafgen-jwt-hs256-0123456789';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: { error?: { code: string; message: string; details?: Record<string, unknown> } } & Record<
    string,
    unknown
  >;
}

/** Text no answer may hold: stacks, driver and runtime internals, backend addresses. */
const LEAKS =
  /\bat [\w.<>]+ \(|node:internal|node_modules|ECONNREFUSED|ECONNRESET|Stream isn't writeable|Connection is closed|SQLSTATE|syntax error at|Maximum call stack|127\.0\.0\.1:\d{3,5}|postgres(ql)?:\/\/|redis:\/\//i;

function expectClean(a: Answer, status: number, code?: string): void {
  expect(a.status, a.text.slice(0, 300)).toBe(status);
  expect(a.text).not.toMatch(LEAKS);
  if (code !== undefined) {
    expect(a.headers.get('content-type')).toMatch(/^application\/json/);
    expect(a.json.error?.code, a.text.slice(0, 300)).toBe(code);
    expect(typeof a.json.error?.message).toBe('string');
  }
}

async function send(
  api: TestApi,
  path: string,
  init: { method?: string; raw?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  let body = init.raw;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${api.url}${path}`, {
    method: init.method ?? (body !== undefined ? 'POST' : 'GET'),
    headers,
    body,
  });
  const text = await res.text();
  let json: Answer['json'] = {};
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    // not JSON: the assertions on `json` say so
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A chunked POST of `total` bytes (no Content-Length) through node:http: the status, or the socket error. */
function chunked(
  api: TestApi,
  path: string,
  total: number,
  auth: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${api.url}${path}`);
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      method: 'POST',
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
    });
    let answered = false;
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        answered = true;
        resolve({ status: res.statusCode ?? 0, text });
      });
      res.on('error', () => {});
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const write = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    req.write('{"document":"');
    write();
  });
}

/** A TCP relay to a backend that the test can cut, as if the server died. */
async function relay(target: URL, defaultPort: number): Promise<{ port: number; kill(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new NetSocket();
    sockets.add(client).add(upstream);
    upstream.connect(Number(target.port || defaultPort), target.hostname);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    kill: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      }),
  };
}

async function jwt(
  opts: {
    alg?: string;
    secret?: string;
    aud?: string;
    iat?: number;
    nbf?: number;
    exp?: number;
    none?: boolean;
  } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  if (opts.none) {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', iss: JWT_ISSUER, aud: JWT_AUDIENCE, scope: 'rules:read', exp: now + 600 })}.`;
  }
  const t = new SignJWT({ scope: 'rules:read rules:generate' })
    .setProtectedHeader({ alg: opts.alg ?? 'HS256' })
    .setSubject('attacker')
    .setIssuer(JWT_ISSUER)
    .setAudience(opts.aud ?? JWT_AUDIENCE)
    .setIssuedAt(opts.iat ?? now)
    .setExpirationTime(opts.exp ?? now + 600);
  if (opts.nbf !== undefined) t.setNotBefore(opts.nbf);
  return t.sign(new TextEncoder().encode(opts.secret ?? JWT_SECRET));
}

interface Backend {
  env: Record<string, string>;
  store?: Store;
  /** Cuts PostgreSQL and Redis (backends that can die); undefined for the embedded one. */
  kill?: () => Promise<void>;
  close(): Promise<void>;
}

function attackSuite(name: string, open: () => Promise<Backend | undefined>): void {
  describe(name, () => {
    let backend: Backend | undefined;
    let api: TestApi | undefined;
    let auth = '';
    beforeAll(async () => {
      backend = await open();
      if (!backend) return;
      api = await startApi(
        baseEnv({
          WAFGEN_MAX_BODY_BYTES: '65536',
          WAFGEN_RATE_LIMIT_UNAUTH: '20',
          WAFGEN_METRICS_TOKEN: METRICS_TOKEN,
          ...backend.env,
        }),
        backend.store ? { store: backend.store } : {},
      );
      auth = await token();
    }, 60_000);
    afterAll(async () => {
      await api?.close();
      await backend?.close();
    });
    const live = (ctx: { skip(): void }): TestApi => {
      if (!api) ctx.skip();
      return api!;
    };
    const authed = (h: Record<string, string> = {}) => ({ authorization: `Bearer ${auth}`, ...h });

    it('oversized bodies: 413 naming the limit, by Content-Length or while reading a chunked body', async (ctx) => {
      const a = live(ctx);
      const big = await send(a, '/v1/rules/validate', {
        headers: authed(),
        body: { document: { Name: 'x'.repeat(70_000) } },
      });
      expectClean(big, 413, 'payload_too_large');
      expect(big.json.error?.details).toEqual({ limit: 'body-bytes', max: 65536 });
      for (const path of ['/v1/rules/validate', '/v1/rules/generate']) {
        const r = await chunked(a, path, 100 * 1024 * 1024, auth);
        expect(r.status).toBe(413);
        expect(JSON.parse(r.text)).toMatchObject({
          error: { code: 'payload_too_large', details: { limit: 'body-bytes' } },
        });
      }
      // The webhook has its own limit (webhook-bytes), unsigned callers included.
      const hook = await chunked(a, '/webhook/vulnerability', 8 * 1024 * 1024, 'x');
      expect(hook.status).toBe(413);
      expect(hook.text).toContain('webhook-bytes');
    });

    it('deep JSON: 400 input_limit on every route that reads a body', async (ctx) => {
      const a = live(ctx);
      for (const depth of [300, 5_000, 10_000]) {
        const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        for (const path of [
          '/v1/rules/validate',
          '/v1/rules/test',
          '/v1/rules/generate',
          '/v1/jobs',
          '/webhook/vulnerability',
        ])
          for (const raw of [`{"document":${deep},"cveId":"CVE-2021-44228"}`, objects]) {
            const r = await send(a, path, { raw, headers: authed({ 'content-type': 'application/json' }) });
            expectClean(r, 400, 'input_limit');
            expect(r.json.error?.details).toEqual({ limit: 'json-depth', max: 256 });
          }
      }
    });

    it('malformed JSON and content types: 400 and 415, never 5xx', async (ctx) => {
      const a = live(ctx);
      const bodies = [
        '{',
        '{"cveId":',
        '\u0000',
        '{"cveId":"CVE-2021-44228"}}',
        '\uFFFF\uFFFE',
        'nul',
        '[1,2',
        '"\\ud800"',
        '{"a":1e999999}',
        '\xff\xfe{',
      ];
      for (const path of ['/v1/rules/validate', '/v1/rules/test', '/v1/rules/generate', '/v1/jobs'])
        for (const raw of bodies) {
          const r = await send(a, path, { raw, headers: authed({ 'content-type': 'application/json' }) });
          expect(r.status, `${path} ${JSON.stringify(raw)}`).toBeGreaterThanOrEqual(400);
          expect(r.status).toBeLessThan(500);
          expectClean(r, r.status, r.json.error?.code);
        }
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
      ]) {
        const r = await send(a, '/v1/rules/generate', {
          raw: '{"cveId":"CVE-2021-44228"}',
          headers: authed({ 'content-type': type }),
        });
        expectClean(r, 415, 'unsupported_media_type');
      }
    });

    it('forged and ill-timed JWTs: 401 with the JSON error', async (ctx) => {
      const a = live(ctx);
      const now = Math.floor(Date.now() / 1000);
      const tokens = [
        await jwt({ none: true }),
        await jwt({ secret: 'another-secret-another-secret-0123456789' }),
        await jwt({ exp: now - 3600, iat: now - 7200 }),
        await jwt({ iat: now + 3600 }),
        await jwt({ nbf: now + 3600 }),
        await jwt({ aud: 'someone-else' }),
        await jwt({ alg: 'HS512' }),
        'a.b.c',
        'x'.repeat(10_000),
      ];
      for (const t of tokens) {
        const r = await send(a, '/v1/rules/CVE-2021-44228', {
          headers: { authorization: `Bearer ${t}`, 'x-forwarded-for': '192.0.2.1' },
        });
        expectClean(r, 401, 'unauthorized');
      }
      expectClean(
        await send(a, '/v1/rules/CVE-2021-44228', { headers: { 'x-api-key': 'guess' } }),
        401,
        'unauthorized',
      );
    });

    it('webhook: bad signatures refused 401, replays answered as duplicates and never queued twice', async (ctx) => {
      const a = live(ctx);
      const raw = JSON.stringify({ cveId: 'CVE-2021-44228', severity: 'critical' });
      const signed = signWebhook(raw, WEBHOOK_SECRET);
      const post = (headers: Record<string, string>) =>
        send(a, '/webhook/vulnerability', {
          raw,
          headers: { 'content-type': 'application/json', ...headers },
        });
      expectClean(await post(signWebhook(raw, 'another-secret-entirely-000')), 401, 'invalid_signature');
      expectClean(await post({}), 401, 'invalid_signature');
      expectClean(
        await post(signWebhook(raw, WEBHOOK_SECRET, Date.now() - 3_600_000)),
        401,
        'invalid_signature',
      );
      const first = await post(signed);
      expect(first.status).toBe(202);
      const sig = signed['X-Wafgen-Signature']!;
      for (const variant of [sig, `sha256=${sig.slice(7).toUpperCase()}`, `${sig}, ${sig}`]) {
        const again = await post({ ...signed, 'X-Wafgen-Signature': variant });
        expect([200, 401, 409]).toContain(again.status);
        expectClean(again, again.status);
        if (again.status === 200) expect(again.json.duplicate).toBe(true);
        expect(again.json.jobs ?? []).toEqual([]);
      }
    });

    it('failed authentication is rate limited per IP: 429 with Retry-After', async (ctx) => {
      const a = live(ctx);
      let last: Answer | undefined;
      for (let i = 0; i < 25; i++) {
        last = await send(a, '/v1/rules/CVE-2021-44228', {
          headers: { authorization: 'Bearer nope', 'x-forwarded-for': '192.0.2.77' },
        });
        if (last.status === 429) break;
      }
      // WAFGEN_TRUST_PROXY is off: the socket's address counts, so earlier failures in this file count too.
      expectClean(last!, 429, 'rate_limited');
      expect(last!.headers.get('retry-after')).toMatch(/^\d+$/);
      // A valid token is its own budget.
      const ok = await send(a, '/v1/rules/CVE-2021-44228', { headers: authed() });
      expect([200, 404]).toContain(ok.status);
    });

    it('/metrics asks for its token; /readyz gives no internals', async (ctx) => {
      const a = live(ctx);
      expectClean(await send(a, '/metrics'), 401, 'unauthorized');
      expectClean(
        await send(a, '/metrics', { headers: { authorization: 'Bearer wrong-token-0123456789' } }),
        401,
        'unauthorized',
      );
      const scrape = await send(a, '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(scrape.status).toBe(200);
      const ready = await send(a, '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.text).not.toMatch(LEAKS);
      expect(ready.text).not.toMatch(/error/);
    });

    it('backends down: 503 with a generic JSON error and Retry-After, /readyz names the dependency', async (ctx) => {
      const a = live(ctx);
      if (!backend?.kill) return ctx.skip();
      await backend.kill();
      const ready = await send(a, '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.text).not.toMatch(LEAKS);
      expect(ready.json).toMatchObject({
        status: 'down',
        checks: { store: { status: 'down', error: 'store unavailable' } },
      });
      const tries: [string, { body?: unknown }][] = [
        ['/v1/rules/CVE-2019-0001', {}],
        ['/v1/rules/CVE-2021-44228/versions', {}],
        ['/v1/jobs', { body: { cveId: 'CVE-2021-44228' } }],
        ['/v1/jobs/abc', {}],
        ['/v1/rules/generate', { body: { cveId: 'CVE-2021-44228', options: { force: true } } }],
      ];
      for (const [path, init] of tries) {
        const r = await send(a, path, { ...init, headers: authed() });
        expect(r.status, `${path}: ${r.text.slice(0, 200)}`).toBe(503);
        expectClean(r, 503, r.json.error?.code);
        expect([
          'store_unavailable',
          'cache_unavailable',
          'queue_unavailable',
          'generation_failed',
        ]).toContain(r.json.error?.code);
        expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      }
    });
  });
}

attackSuite('embedded backend (PGlite, in-process cache and queue)', async () => {
  const { store } = await openTestStore();
  return { env: {}, store, close: () => store.close() };
});

attackSuite('PostgreSQL + Redis', async () => {
  const adminUrl = await postgresAdminUrl();
  if (!adminUrl || !(await redisAvailable())) return undefined;
  const db = await createTestDatabase(adminUrl);
  const seed = await openPostgresStore(db.url);
  await seed.close();
  const { prefix, cleanup } = redisPrefix();
  const pg = await relay(new URL(db.url), 5432);
  const redis = await relay(new URL(REDIS_URL), 6379);
  const dbUrl = new URL(db.url);
  dbUrl.hostname = '127.0.0.1';
  dbUrl.port = String(pg.port);
  return {
    env: {
      DATABASE_URL: dbUrl.toString(),
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      WAFGEN_REDIS_PREFIX: prefix,
    },
    kill: async () => {
      await pg.kill();
      await redis.kill();
    },
    close: async () => {
      await pg.kill();
      await redis.kill();
      await cleanup();
      await db.drop();
    },
  };
});
