// fetchText's own retry loop (kept rather than cockatiel's retry, whose wait is a bare setTimeout):
// the back-off waits on the injected clock with its exponential shape and cap, and an abort during
// that wait ends the call at once with the caller's reason, without another request.
import { afterEach, describe, expect, it } from 'vitest';

import { fetchText, HttpError } from '../../../src/vulns/live/http.js';
import { type TestServer, FakeClock, flush, InstantClock, sendJson, serve } from './helpers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('fetchText retries', () => {
  it('backs off on the injected clock: base·2^n, half of it jitter, capped at maxDelayMs', async () => {
    server = await serve((_q, res) => sendJson(res, '{}', 503));
    const clock = new InstantClock();
    const err = await fetchText(`${server.url}/x`, {
      what: 'Test',
      maxBytes: 1024,
      retries: 4,
      baseDelayMs: 1000,
      maxDelayMs: 3000,
      clock,
      random: () => 1,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).message).toMatch(/^Test answered HTTP 503 .* \(after 5 attempts\)$/);
    // random() = 1: the full ceiling, 1000, 2000, then 3000 (the cap) twice.
    expect(clock.sleeps).toEqual([1000, 2000, 3000, 3000]);
    expect(server.hits).toHaveLength(5);
  });

  it('an abort during a back-off wait rejects at once with its reason and sends nothing more', async () => {
    server = await serve((_q, res) => sendJson(res, '{}', 503, { 'retry-after': '60' }));
    const clock = new FakeClock();
    const ac = new AbortController();
    const pending = fetchText(`${server.url}/x`, {
      what: 'Test',
      maxBytes: 1024,
      clock,
      signal: ac.signal,
    }).catch((e: unknown) => e);
    for (let i = 0; i < 50 && clock.pending === 0; i++) await flush();
    expect(clock.sleeps).toEqual([60_000]);
    const reason = new Error('stop');
    ac.abort(reason);
    expect(await pending).toBe(reason);
    expect(clock.pending).toBe(0);
    expect(server.hits).toHaveLength(1);
  });
});
