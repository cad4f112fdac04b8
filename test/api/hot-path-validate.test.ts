// The repeated POST /v1/rules/validate the Node adapter answers before Hono (src/api/hot-path.ts),
// with Redis as `wafgen serve` runs in production: the app's bytes and headers for a body this
// caller validated before, one rate-limit count per request whichever path answered, and the body
// handed to the app intact when the hot path read it and cannot answer (a new body, another content
// type, a refusal); what the app must see from the start (no Content-Length, an over-limit body, a
// repeated header, a caller the app must authenticate) is never taken.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';

import { startServer, type RunningServer } from '../../src/api/adapters/node.js';
import { createRuntime, type Runtime } from '../../src/api/runtime.js';
import { createMetrics } from '../../src/observability/index.js';
import type { Store } from '../../src/store/index.js';
import {
  baseEnv,
  call,
  comparableHeaders,
  openTestStore,
  REDIS_URL,
  redisAvailable,
  redisPrefix,
  requestsCounted,
  token,
} from '../service/support.js';
import { REPO_ROOT } from '../support/shared.js';

const hasRedis = await redisAvailable();

const rule = JSON.parse(readFileSync(`${REPO_ROOT}/test/fixtures/rules/log4shell-rule.json`, 'utf8')) as {
  Name: string;
};
const MAX_BODY = 65_536;

/**
 * One raw HTTP/1.1 exchange (what fetch cannot send: repeated headers, a chunked body, a body in
 * pieces): the parts are written 50 ms apart; with `leave`, the socket is closed 50 ms after the last.
 */
function rawExchange(
  port: number,
  request: string | (string | Uint8Array)[],
  opts: { leave?: boolean } = {},
): Promise<{ status: number; body: string }> {
  const parts = typeof request === 'string' ? [request] : request;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      const next = (i: number): void => {
        if (i === parts.length) {
          if (opts.leave) setTimeout(() => socket.destroy(), 50);
          return;
        }
        socket.write(parts[i]!, () => setTimeout(() => next(i + 1), i + 1 < parts.length ? 50 : 0));
      };
      next(0);
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? NaN);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe.skipIf(!hasRedis)('the hot path for a repeated validate (Redis)', () => {
  const keys = redisPrefix();
  let store: Store;
  let runtime: Runtime;
  let server: RunningServer;
  /** Requests that reached Hono (the app's fetch), counted from before the server listened. */
  let viaApp: MockInstance;
  const validateUrl = () => `${server.url}/v1/rules/validate`;
  const port = () => Number(new URL(server.url).port);
  const body = JSON.stringify({ document: rule, cveId: 'CVE-2021-44228' });
  const headersOf = (auth: string, extra: Record<string, string> = {}) => ({
    authorization: `Bearer ${auth}`,
    'content-type': 'application/json',
    ...extra,
  });

  beforeAll(async () => {
    ({ store } = await openTestStore());
    // A limit of 1000 lets the limiter decide locally (a batch of 10), as the hot path needs.
    runtime = await createRuntime(
      baseEnv({
        REDIS_URL,
        WAFGEN_REDIS_PREFIX: keys.prefix,
        WAFGEN_RATE_LIMIT: '1000',
        WAFGEN_MAX_BODY_BYTES: String(MAX_BODY),
      }),
      { store, logger: pino({ level: 'silent' }), metrics: createMetrics() },
    );
    viaApp = vi.spyOn(runtime.app, 'fetch');
    server = await startServer(runtime, { port: 0, host: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    vi.restoreAllMocks();
    await server?.close();
    await store?.close();
    await keys.cleanup();
  });

  /** What the Node adapter handed to the app with the last request that reached it. */
  const incomingOfLastAppCall = () =>
    (viaApp.mock.calls.at(-1)![1] as { incoming: { rawBody?: Buffer } }).incoming;

  /** Validates `body` as `auth` until the hot path answers it (the first asks go through the app). */
  async function warm(auth: string): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const before = viaApp.mock.calls.length;
      const res = await fetch(validateUrl(), { method: 'POST', headers: headersOf(auth), body });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      if (viaApp.mock.calls.length === before) return;
    }
    throw new Error('the hot path never answered');
  }

  it('answers a body this caller validated before with the bytes and headers the app answers, counting each request once', async () => {
    const auth = await token({ sub: 'hot-validate-same' });
    await warm(auth);
    const before = viaApp.mock.calls.length;
    const remaining: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await fetch(validateUrl(), {
        method: 'POST',
        headers: headersOf(auth, { 'x-request-id': 'val-same' }),
        body,
      });
      expect(last.status).toBe(200);
      remaining.push(Number(last.headers.get('ratelimit-remaining')));
      if (i < 3) await last.arrayBuffer();
    }
    // None of the four reached Hono, and each was counted once.
    expect(viaApp.mock.calls.length).toBe(before);
    expect(remaining).toEqual([remaining[0]!, remaining[0]! - 1, remaining[0]! - 2, remaining[0]! - 3]);

    const fromApp = await runtime.app.request('/v1/rules/validate', {
      method: 'POST',
      headers: headersOf(auth, { 'x-request-id': 'val-same' }),
      body,
    });
    expect(fromApp.status).toBe(200);
    const hotBytes = Buffer.from(await last!.arrayBuffer());
    const appBytes = Buffer.from(await fromApp.arrayBuffer());
    expect(hotBytes.equals(appBytes)).toBe(true);
    expect(JSON.parse(hotBytes.toString())).toMatchObject({ valid: true, kind: 'rule', rules: 1 });
    expect(comparableHeaders(last!.headers)).toEqual(comparableHeaders(fromApp.headers));
    expect(last!.headers.get('content-length')).toBe(String(appBytes.length));
    expect(last!.headers.get('x-request-id')).toBe('val-same');
    expect(last!.headers.get('ratelimit-policy')).toBe('1000;w=60');
    expect(last!.headers.get('x-cache')).toBeNull();
  });

  it('hands a body it read to the app intact when it cannot answer it', async () => {
    const auth = await token({ sub: 'hot-validate-others' });
    await warm(auth);
    // A new body: the hot path read it, the app validates it (a finding names the CVE mismatch).
    const other = JSON.stringify({ document: rule, cveId: 'CVE-2022-22965' });
    let before = viaApp.mock.calls.length;
    const fresh = await call<{ valid: boolean; findings: { code: string }[] }>(validateUrl(), {
      token: auth,
      raw: other,
      headers: { 'content-type': 'application/json' },
    });
    expect(fresh.status).toBe(200);
    expect(viaApp.mock.calls.length).toBe(before + 1);
    // Handed over with the body the hot path read.
    expect(Buffer.isBuffer(incomingOfLastAppCall().rawBody)).toBe(true);
    expect(String(incomingOfLastAppCall().rawBody)).toBe(other);
    const fromApp = await runtime.app.request('/v1/rules/validate', {
      method: 'POST',
      headers: headersOf(auth),
      body: other,
    });
    expect(fresh.body).toEqual(await fromApp.json());
    expect(fresh.body.findings.length).toBeGreaterThan(0);

    // The same bytes under another content type: not the kept report's key; the app's media gate.
    before = viaApp.mock.calls.length;
    const text = await call<{ error: { code: string } }>(validateUrl(), {
      token: auth,
      raw: body,
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
    expect(viaApp.mock.calls.length).toBe(before + 1);
    expect(String(incomingOfLastAppCall().rawBody)).toBe(body);

    // A body that breaks the schema, then malformed JSON: the app's 400s, from the body handed over.
    const extra = await call(validateUrl(), {
      token: auth,
      raw: JSON.stringify({ document: rule, colour: 'red' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(extra.status).toBe(400);
    const malformed = await call<{ error: { code: string } }>(validateUrl(), {
      token: auth,
      raw: '{"document": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
  });

  it('leaves to the app what it must see from the start', async () => {
    const auth = await token({ sub: 'hot-validate-start' });
    await warm(auth);
    // The same principal without the scope, twice: the second time its token is one verified before.
    const noScope = await token({ sub: 'hot-validate-start', scope: 'rules:deploy' });
    for (let i = 0; i < 2; i++)
      expect(
        (await call(validateUrl(), { token: noScope, raw: body, headers: headersOf(noScope) })).status,
      ).toBe(403);
    const stranger = await token(
      { sub: 'hot-validate-start' },
      { secret: 'another-secret-0123456789abcdef0123' },
    );
    expect(
      (await call(validateUrl(), { token: stranger, raw: body, headers: headersOf(stranger) })).status,
    ).toBe(401);

    const before = viaApp.mock.calls.length;
    // Over the body limit: the app's 413 (the hot path never reads it).
    const big = JSON.stringify({ document: { ...rule, Name: 'x'.repeat(MAX_BODY) } });
    const tooLarge = await call<{ error: { code: string } }>(validateUrl(), {
      token: auth,
      raw: big,
      headers: { 'content-type': 'application/json' },
    });
    expect(tooLarge.status).toBe(413);
    expect(incomingOfLastAppCall().rawBody).toBeUndefined();

    // The kept body, chunked (no Content-Length): the app reads it, and answers the same report.
    const chunked = await rawExchange(
      port(),
      `POST /v1/rules/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${auth}\r\n` +
        `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
        `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    );
    expect(chunked.status).toBe(200);
    expect(chunked.body).toContain('"valid":true');
    expect(incomingOfLastAppCall().rawBody).toBeUndefined();

    // A second Authorization header: the app reads "Bearer <good>, Bearer <other>" and refuses it,
    // where Node's parsed headers keep only the first. The same for a rule read.
    const twice = (method: string, path: string, extra: string) =>
      rawExchange(
        port(),
        `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${auth}\r\n` +
          `Authorization: Bearer ${stranger}\r\nConnection: close\r\n${extra}`,
      );
    const validateTwice = await twice(
      'POST',
      '/v1/rules/validate',
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    expect(validateTwice.status).toBe(401);
    expect(viaApp.mock.calls.length).toBe(before + 3);
  });

  it('reads a body sent in pieces or with a BOM as the app does, and drops a client that leaves mid-body', async () => {
    const auth = await token({ sub: 'hot-validate-pieces' });
    await warm(auth);
    const fromApp = await runtime.app.request('/v1/rules/validate', {
      method: 'POST',
      headers: headersOf(auth),
      body,
    });
    const expected = Buffer.from(await fromApp.arrayBuffer()).toString();
    const head = (length: number) =>
      `POST /v1/rules/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${auth}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
    const before = viaApp.mock.calls.length;
    const bytes = Buffer.from(body);
    const half = bytes.length >> 1;

    // The body in two writes, the second 50 ms after the first.
    const pieces = await rawExchange(port(), [
      head(bytes.length),
      bytes.subarray(0, half),
      bytes.subarray(half),
    ]);
    expect(pieces.status).toBe(200);
    expect(pieces.body).toBe(expected);

    // A byte-order mark before the same JSON: the app drops it before keying its reports, and so here.
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
    const withBom = await rawExchange(port(), [head(bom.length), bom]);
    expect(withBom.status).toBe(200);
    expect(withBom.body).toBe(expected);
    expect(viaApp.mock.calls.length).toBe(before);

    // Half a body, then the client is gone: nothing is answered, nothing reaches the app, and the
    // next request is served.
    const left = await rawExchange(port(), [head(bytes.length), bytes.subarray(0, half)], { leave: true });
    expect(left.status).toBeNaN();
    const after = await fetch(validateUrl(), { method: 'POST', headers: headersOf(auth), body });
    expect(after.status).toBe(200);
    expect(await after.text()).toBe(expected);
    expect(viaApp.mock.calls.length).toBe(before);
  });

  it('reads a rule twice-authorized the way the app does', async () => {
    const auth = await token({ sub: 'hot-validate-rule' });
    const made = await call(`${server.url}/v1/rules/generate`, {
      token: auth,
      body: { cveId: 'CVE-2021-44228' },
    });
    expect(made.status).toBe(200);
    const stranger = await token(
      { sub: 'hot-validate-rule' },
      { secret: 'another-secret-0123456789abcdef0123' },
    );
    for (let i = 0; i < 3; i++)
      expect((await call(`${server.url}/v1/rules/CVE-2021-44228`, { token: auth })).status).toBe(200);
    const before = viaApp.mock.calls.length;
    const twice = await rawExchange(
      port(),
      `GET /v1/rules/CVE-2021-44228 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${auth}\r\n` +
        `Authorization: Bearer ${stranger}\r\nConnection: close\r\n\r\n`,
    );
    expect(twice.status).toBe(401);
    expect(viaApp.mock.calls.length).toBe(before + 1);
  });

  it('counts its answers in /metrics like the app', async () => {
    const auth = await token({ sub: 'hot-validate-metrics' });
    await warm(auth);
    const scrape = () => requestsCounted(server.url, 'POST', '/v1/rules/validate', 200);
    const before = await scrape();
    const app = viaApp.mock.calls.length;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(validateUrl(), { method: 'POST', headers: headersOf(auth), body });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect(viaApp.mock.calls.length).toBe(app);
    expect((await scrape()) - before).toBe(5);
  });
});
