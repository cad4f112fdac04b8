// The webhook replay guard (issue 14, item 3) against the real server on a loopback socket, on both
// backends: the embedded one (the guard's own bounded memory) and Redis (SET NX PX). A delivery is
// the signed payload: the same one again is a replay whatever the header looked like (hex case,
// base64, the signature repeated in one header or in two header lines, extra tokens, another
// accepted secret) and, for GitHub, whatever delivery id it claims. Replays answer 200 with
// `duplicate: true`, queue nothing and are counted in wafgen_webhook_replays_total.
import { createHmac } from 'node:crypto';
import { request } from 'node:http';

import { Redis } from 'ioredis';
import type { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ApiError } from '../../src/api/errors.js';
import { signGitHub, signWebhook, verifyWebhookSignature } from '../../src/api/webhook.js';
import { claimDelivery, MEMORY_REPLAY_MAX_ENTRIES } from '../../src/api/webhook-replay.js';
import { MemoryKeyValueStore } from '../../src/kv/kv.js';
import type { Store } from '../../src/store/index.js';
import {
  baseEnv,
  openTestStore,
  REDIS_URL,
  redisAvailable,
  redisPrefix,
  sleep,
  startApi,
  WEBHOOK_SECRET,
  type TestApi,
} from '../service/support.js';

const OLD_SECRET = 'old-secret-0123456789';
const SECRETS = `${WEBHOOK_SECRET},${OLD_SECRET}`;

type Result = {
  queued: boolean;
  format: string;
  jobs: { jobId: string; cveId: string }[];
  skipped: { reason: string }[];
  duplicate?: boolean;
};

const hex = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest('hex');
const b64 = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest('base64');

/** Sends raw bytes with headers as given; an array value is sent as repeated header lines. */
function rawPost(
  url: string,
  body: string,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; body: Result }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/webhook/vulnerability`,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Result }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function replays(api: TestApi, scheme: string): Promise<number> {
  const counter = api.runtime.service.metrics.registry.getSingleMetric('wafgen_webhook_replays_total') as
    Counter<'scheme'> | undefined;
  const values = (await counter?.get())?.values ?? [];
  return values.find((v) => v.labels.scheme === scheme)?.value ?? 0;
}

/** A body no other test sends: each delivery below is new until it is replayed. */
let n = 0;
const freshBody = (severity = 'critical') =>
  JSON.stringify({
    source: `replay-test-${++n}-${Date.now()}`,
    findings: [{ cveId: 'CVE-2021-44228', severity }],
  });

const hasRedis = await redisAvailable();

const backends: { name: string; redis: boolean }[] = [
  { name: 'embedded', redis: false },
  ...(hasRedis ? [{ name: 'Redis', redis: true }] : []),
];

describe.each(backends)('webhook replays on the $name backend', ({ redis }) => {
  let store: Store;
  let api: TestApi;
  const keys = redisPrefix();

  beforeAll(async () => {
    ({ store } = await openTestStore());
    api = await startApi(
      baseEnv({
        WAFGEN_WEBHOOK_SECRET: SECRETS,
        WAFGEN_RATE_LIMIT: '100000',
        ...(redis ? { REDIS_URL, WAFGEN_REDIS_PREFIX: keys.prefix } : {}),
      }),
      // Jobs only need to be queued here, not run; in process they need a worker to be taken at all
      // (a queue nobody runs answers 503), so the embedded backend keeps its in-process worker.
      { store, ...(redis ? { inProcessWorker: false } : {}) },
    );
  }, 60_000);

  afterAll(async () => {
    await api?.close();
    await store?.close();
    if (redis) await keys.cleanup();
  });

  it('the same wafgen delivery in any spelling of its signature is processed once', async () => {
    const body = freshBody();
    const ts = String(Math.floor(Date.now() / 1000));
    const mac = hex(WEBHOOK_SECRET, `${ts}.${body}`);
    const first = await rawPost(api.url, body, {
      'x-wafgen-timestamp': ts,
      'x-wafgen-signature': `sha256=${mac}`,
    });
    expect(first.status).toBe(202);
    expect(first.body.queued).toBe(true);

    const before = await replays(api, 'wafgen');
    const spellings: Record<string, string | string[]> = {
      'the same header': `sha256=${mac}`,
      'upper-case hex': `sha256=${mac.toUpperCase()}`,
      'upper-case prefix': `SHA256=${mac}`,
      'no prefix': mac,
      'v1= prefix': `v1=${mac}`,
      base64: `sha256=${b64(WEBHOOK_SECRET, `${ts}.${body}`)}`,
      'repeated in one header': `sha256=${mac}, sha256=${mac}`,
      'repeated header lines': [`sha256=${mac}`, `sha256=${mac.toUpperCase()}`],
      'an extra token before it': `v0=deadbeef sha256=${mac}`,
      'an extra bogus signature after it': `sha256=${mac},sha256=${'0'.repeat(64)}`,
      'the signature under the other accepted secret': `sha256=${hex(OLD_SECRET, `${ts}.${body}`)}`,
      'both secrets, reordered': `sha256=${hex(OLD_SECRET, `${ts}.${body}`)} sha256=${mac}`,
    };
    for (const [what, signature] of Object.entries(spellings)) {
      const r = await rawPost(api.url, body, { 'x-wafgen-timestamp': ts, 'x-wafgen-signature': signature });
      expect({ what, status: r.status, duplicate: r.body.duplicate, queued: r.body.queued }).toEqual({
        what,
        status: 200,
        duplicate: true,
        queued: false,
      });
      expect(r.body.jobs).toEqual([]);
      expect(r.body.skipped[0]?.reason).toMatch(/^replay: /);
    }
    expect((await replays(api, 'wafgen')) - before).toBe(Object.keys(spellings).length);
  });

  it('the same body signed at another time is another delivery', async () => {
    const body = freshBody();
    const now = Date.now();
    const a = await rawPost(api.url, body, signWebhook(body, WEBHOOK_SECRET, now));
    const b = await rawPost(api.url, body, signWebhook(body, WEBHOOK_SECRET, now - 60_000));
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.duplicate).toBeUndefined();
  });

  it('a replay still needs a valid signature: a forged one is 401, not a duplicate', async () => {
    const body = freshBody();
    const h = signWebhook(body, WEBHOOK_SECRET);
    expect((await rawPost(api.url, body, h)).status).toBe(202);
    const forged = await rawPost(api.url, body, { ...h, 'X-Wafgen-Signature': `sha256=${'a'.repeat(64)}` });
    expect(forged.status).toBe(401);
  });

  it('a GitHub delivery is processed once, whatever delivery id or signature spelling it comes back with', async () => {
    const body = JSON.stringify({
      action: 'created',
      alert: {
        number: ++n,
        state: 'open',
        security_advisory: {
          ghsa_id: 'GHSA-jfh8-c2jp-5v3q',
          cve_id: 'CVE-2021-44228',
          summary: `Remote code injection in Log4j (${Date.now()})`,
          severity: 'critical',
          identifiers: [{ value: 'CVE-2021-44228', type: 'CVE' }],
          withdrawn_at: null,
        },
        security_vulnerability: { severity: 'critical' },
      },
    });
    const sig = signGitHub(body, WEBHOOK_SECRET);
    const headers = (delivery: string, signature: string | string[] = sig) => ({
      'x-github-event': 'dependabot_alert',
      'x-github-delivery': delivery,
      'x-hub-signature-256': signature,
    });
    const first = await rawPost(api.url, body, headers('72d3162e-cc78-11e3-81ab-4c9367dc0958'));
    expect(first.status).toBe(202);
    const before = await replays(api, 'github');
    const again = [
      headers('72d3162e-cc78-11e3-81ab-4c9367dc0958'),
      headers('11111111-2222-3333-4444-555555555555'),
      headers('another-delivery-id', sig.toUpperCase().replace('SHA256=', 'sha256=')),
      headers('yet-another-delivery', [sig, sig]),
      headers('and-one-more-delivery', `sha256=${b64(OLD_SECRET, body)}`),
    ];
    for (const h of again) {
      const r = await rawPost(api.url, body, h);
      expect({ status: r.status, duplicate: r.body.duplicate, queued: r.body.queued }).toEqual({
        status: 200,
        duplicate: true,
        queued: false,
      });
    }
    expect((await replays(api, 'github')) - before).toBe(again.length);
  });

  it('of ten identical deliveries sent at once, exactly one is processed', async () => {
    const body = freshBody();
    const h = signWebhook(body, WEBHOOK_SECRET);
    const results = await Promise.all(Array.from({ length: 10 }, () => rawPost(api.url, body, h)));
    expect(results.map((r) => r.status).sort()).toEqual([...Array(9).fill(200), 202]);
    expect(results.filter((r) => r.body.duplicate === true)).toHaveLength(9);
  });

  it.runIf(redis)('keeps the marker in Redis with a TTL of the window, holding no signature', async () => {
    const body = freshBody();
    const h = signWebhook(body, WEBHOOK_SECRET);
    expect((await rawPost(api.url, body, h)).status).toBe(202);
    const { replayKey, replayTtlMs } = verifyWebhookSignature(
      body,
      { timestamp: h['X-Wafgen-Timestamp'], signature: h['X-Wafgen-Signature'] },
      [WEBHOOK_SECRET, OLD_SECRET],
      300,
    );
    const client = new Redis(REDIS_URL);
    try {
      const key = `${keys.prefix}${replayKey}`;
      const ttl = await client.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(replayTtlMs);
      const value = (await client.get(key))!;
      const mac = h['X-Wafgen-Signature']!.slice('sha256='.length);
      expect(key).not.toContain(mac);
      expect(value).not.toContain(mac);
    } finally {
      client.disconnect();
    }
  });
});

describe('the replay key', () => {
  const body = '{"cveId":"CVE-2021-44228","severity":"critical"}';
  const ts = String(Math.floor(Date.now() / 1000));
  const key = (signature: string, secrets = [WEBHOOK_SECRET, OLD_SECRET]) =>
    verifyWebhookSignature(body, { timestamp: ts, signature }, secrets, 300).replayKey;

  it('is one per signed payload, canonical, and binds the timestamp', () => {
    const mac = hex(WEBHOOK_SECRET, `${ts}.${body}`);
    const k = key(`sha256=${mac}`);
    expect(k).toMatch(/^webhook-seen:wafgen:[0-9a-f]{64}$/);
    expect(k).not.toContain(mac);
    expect(key(`sha256=${mac.toUpperCase()}`)).toBe(k);
    expect(key(`sha256=${b64(OLD_SECRET, `${ts}.${body}`)}`)).toBe(k);
    expect(key(`junk sha256=${mac} sha256=${mac}`)).toBe(k);
    const later = String(Number(ts) - 1);
    const other = verifyWebhookSignature(
      body,
      { timestamp: later, signature: `sha256=${hex(WEBHOOK_SECRET, `${later}.${body}`)}` },
      [WEBHOOK_SECRET],
      300,
    ).replayKey;
    expect(other).not.toBe(k);
  });

  it('for GitHub ignores the delivery id and lives a day', () => {
    const check = (delivery: string) =>
      verifyWebhookSignature(
        body,
        { githubSignature: signGitHub(body, WEBHOOK_SECRET), githubDelivery: delivery },
        [WEBHOOK_SECRET],
        300,
      );
    expect(check('delivery-aaaaaaaa').replayKey).toBe(check('delivery-bbbbbbbb').replayKey);
    expect(check('delivery-aaaaaaaa').replayKey).toMatch(/^webhook-seen:github:[0-9a-f]{64}$/);
    expect(check('delivery-aaaaaaaa').replayTtlMs).toBe(24 * 3600 * 1000);
  });

  it('refuses signatures that do not decode to 32 bytes, and more than a few values per header', () => {
    const mac = hex(WEBHOOK_SECRET, `${ts}.${body}`);
    for (const bad of [`sha256=${mac.slice(2)}`, `sha256=${mac}00`, 'sha256=', `sha256=${'z'.repeat(64)}`])
      expect(() => key(bad)).toThrow(ApiError);
    // The valid value after eight decodable decoys is not read.
    const decoys = Array.from({ length: 8 }, () => `sha256=${'0'.repeat(64)}`).join(',');
    expect(() => key(`${decoys},sha256=${mac}`)).toThrow(/does not match/);
  });
});

describe('the replay store', () => {
  const deps = () => {
    const counted: string[] = [];
    return {
      counted,
      deps: {
        metrics: { webhookReplays: { inc: (l: { scheme: string }) => counted.push(l.scheme) } } as never,
        log: { info: () => {}, warn: () => {} },
      },
    };
  };
  const check = (i: number, ttl = 60_000) => ({
    scheme: 'wafgen' as const,
    replayKey: `webhook-seen:wafgen:${String(i).padStart(64, '0')}`,
    replayTtlMs: ttl,
  });

  it('in memory: bounded; full of live markers it refuses (503) rather than forget one', async () => {
    expect(MEMORY_REPLAY_MAX_ENTRIES).toBe(100_000);
    const kv = new MemoryKeyValueStore();
    const { deps: d, counted } = deps();
    const opts = { ...d, maxEntries: 3 };
    for (let i = 0; i < 3; i++) expect(await claimDelivery(kv, check(i), opts)).toBeDefined();
    expect(await claimDelivery(kv, check(0), opts)).toBeUndefined();
    expect(counted).toEqual(['wafgen']);
    const full = await claimDelivery(kv, check(3), opts).catch((e: unknown) => e);
    expect(full).toBeInstanceOf(ApiError);
    expect((full as ApiError).status).toBe(503);
    expect((full as ApiError).code).toBe('replay_guard_unavailable');
    // The markers live apart from the shared cache: filling the cache evicts none of them.
    for (let i = 0; i < 10_001; i++) await kv.set(`waf-rule:${i}`, 'x', 60_000);
    expect(await claimDelivery(kv, check(1), opts)).toBeUndefined();
  });

  it('in memory: markers past their window make room again', async () => {
    const kv = new MemoryKeyValueStore();
    const { deps: d } = deps();
    const opts = { ...d, maxEntries: 2 };
    expect(await claimDelivery(kv, check(0, 1), opts)).toBeDefined();
    expect(await claimDelivery(kv, check(1, 1), opts)).toBeDefined();
    await sleep(30);
    expect(await claimDelivery(kv, check(2), opts)).toBeDefined();
    // Expired: the same payload is no longer remembered (its timestamp is refused by then).
    expect(await claimDelivery(kv, check(0), opts)).toBeDefined();
  });

  it('a released claim (processing failed) lets the retry through', async () => {
    const kv = new MemoryKeyValueStore();
    const { deps: d } = deps();
    const claim = await claimDelivery(kv, check(7), d);
    await claim!.release();
    expect(await claimDelivery(kv, check(7), d)).toBeDefined();
  });

  it('a store that does not answer: 503, never let through', async () => {
    const kv = {
      kind: 'redis' as const,
      setIfAbsent: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
    } as unknown as MemoryKeyValueStore;
    const { deps: d } = deps();
    const e = await claimDelivery(kv, check(1), d).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).status).toBe(503);
    expect((e as ApiError).message).not.toContain('ECONNREFUSED');
  });
});
