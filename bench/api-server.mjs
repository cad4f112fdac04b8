// The server side of `npm run bench:api`, in its own process so the load generator does not share
// its event loop: the wafgen API built as `wafgen serve` builds it, and a bare Hono app on a second
// port as the baseline. Prints one JSON line with both URLs when ready; SIGTERM stops it. Plain
// JavaScript on the compiled code (dist/, built by `npm run bench:api`), as `wafgen serve` runs: a
// server started through tsx held ~60 MB more (its loader and transforms), which the RSS row counted.
//
// With BENCH_PROFILE_DIR set, the bare app also takes POST /profile/start and POST
// /profile/stop?name=N: a CPU profile (V8's, as `node --cpu-prof` takes) of just the load between
// them, written to BENCH_PROFILE_DIR/N.cpuprofile, so start-up and warm-up stay out of it.
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { pino } from 'pino';

import { startServer } from '../dist/api/adapters/node.js';
import { createRuntime } from '../dist/api/runtime.js';

const runtime = await createRuntime(process.env, { logger: pino({ level: 'silent' }) });
const api = await startServer(runtime, { port: 0, host: '127.0.0.1' });

const bare = new Hono();
bare.get('/bare', (c) => c.json({ status: 'ok' }));

const profileDir = process.env.BENCH_PROFILE_DIR;
if (profileDir) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  bare.post('/profile/start', async (c) => {
    await session.post('Profiler.start');
    return c.json({ started: true });
  });
  bare.post('/profile/stop', async (c) => {
    const { profile } = await session.post('Profiler.stop');
    const name = (c.req.query('name') ?? 'profile').replace(/[^\w.-]/g, '_');
    writeFileSync(join(profileDir, `${name}.cpuprofile`), JSON.stringify(profile));
    return c.json({ written: name });
  });
}
// A "ceiling" for the cache-hit GET: plain node:http answering the bytes and headers that GET
// answers (sent by the bench through POST /ceiling on the bare app), a fresh request id each time,
// no routing, auth, limiter, cache or metrics. What Node's HTTP server and the kernel cost for a
// 4 KB answer with 15 headers, against bare Hono's 15-byte one.
let ceiling;
bare.post('/ceiling', async (c) => {
  const { headers, body } = await c.req.json();
  ceiling = { headers: headers.flat(), body: Buffer.from(body, 'utf8') };
  return c.json({ headers: headers.length, bytes: ceiling.body.byteLength });
});
const ceilingServer = createServer((req, res) => {
  if (!ceiling) return res.writeHead(503).end();
  const head = ceiling.headers.slice();
  head[head.indexOf('X-Request-Id') + 1] = randomUUID();
  res.writeHead(200, head);
  res.end(ceiling.body);
});
await new Promise((resolve) => ceilingServer.listen(0, '127.0.0.1', resolve));

const bareServer = await new Promise((resolve) => {
  const s = serve({ fetch: bare.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
});
const barePort = bareServer.address().port;

process.stdout.write(
  JSON.stringify({
    api: api.url,
    bare: `http://127.0.0.1:${barePort}`,
    ceiling: `http://127.0.0.1:${ceilingServer.address().port}`,
    store: runtime.service.store.kind,
    cache: runtime.service.kv.kind,
    engine: runtime.service.engineVersion,
  }) + '\n',
);

process.on('SIGTERM', () => {
  bareServer.close();
  ceilingServer.close();
  void api.close().then(() => process.exit(0));
});
