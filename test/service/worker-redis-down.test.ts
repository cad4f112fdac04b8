// `wafgen worker` with Redis away, as an operator meets it: the real binary, a REDIS_URL on a port
// where nothing listens (or a Redis that goes away once the worker runs), and one SIGTERM. The worker
// takes no job before Redis answers, says so in one line, and the first signal stops it: one line
// naming host:port and the code, exit 5, never a hang until a second signal, never the password.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../support/shared.js';
import { REDIS_URL, redisAvailable } from './support.js';

const PASSWORD = 'redis-pw-4e2a';
const work = mkdtempSync(join(tmpdir(), 'wafgen-worker-redis-'));

const redisUp = await redisAvailable();
const redisTarget = new URL(REDIS_URL);

interface Worker {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  /** Resolves when stderr matches (or the process ended first: the assertions then say why). */
  waitFor(pattern: RegExp): Promise<void>;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function startWorker(redisUrl: string, name: string): Worker {
  const child = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/wafgen.js'), 'worker'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      // The embedded store: the worker then generates on its main thread.
      WAFGEN_DATA_DIR: join(work, name),
      WAFGEN_OFFLINE: '1',
      REDIS_URL: redisUrl,
      WAFGEN_REDIS_PREFIX: `wafgen-test-${randomBytes(4).toString('hex')}:`,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; done: () => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiters) if (w.pattern.test(stderr)) w.done();
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return {
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    waitFor: (pattern) =>
      Promise.race([
        new Promise<void>((done) => {
          if (pattern.test(stderr)) done();
          else waiters.push({ pattern, done });
        }),
        exited.then(() => {}),
      ]),
  };
}

describe('wafgen worker with Redis away', () => {
  it('waits for Redis without taking jobs, and the first SIGTERM stops it with one line and exit 5', async () => {
    const w = startWorker(`redis://:${PASSWORD}@127.0.0.1:1`, 'dead-port');
    await w.waitFor(/waiting for it before taking jobs/);
    expect(w.stderr()).toBe(
      'wafgen: warning: cannot reach Redis at 127.0.0.1:1 (ECONNREFUSED); waiting for it before taking jobs\n',
    );
    w.child.kill('SIGTERM');
    const code = await w.exited;
    expect(w.stderr()).toBe(
      'wafgen: warning: cannot reach Redis at 127.0.0.1:1 (ECONNREFUSED); waiting for it before taking jobs\n' +
        'wafgen: cannot reach Redis at 127.0.0.1:1 (ECONNREFUSED)\n',
    );
    expect(code).toBe(5);
    expect(w.stdout()).not.toMatch(/second signal/);
    expect(w.stdout() + w.stderr()).not.toContain(PASSWORD);
  }, 60_000);

  it.skipIf(!redisUp)(
    'a Redis that goes away once the worker runs: the first SIGTERM stops it with one line and exit 5',
    async () => {
      // A TCP relay to the machine's Redis that can be taken away: closed, it refuses new
      // connections and drops the worker's.
      const sockets = new Set<Socket>();
      const relay: Server = createServer((client) => {
        const upstream = connect({ host: redisTarget.hostname, port: Number(redisTarget.port || 6379) });
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => {});
          s.on('close', () => sockets.delete(s));
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((done) => relay.listen(0, '127.0.0.1', done));
      const { port } = relay.address() as { port: number };
      const w = startWorker(`redis://127.0.0.1:${port}`, 'redis-goes-away');
      await w.waitFor(/wafgen worker ready/);
      expect(w.stderr()).toMatch(/^wafgen worker ready: .*generating on the main thread/);
      await new Promise<void>((done) => {
        relay.close(() => done());
        for (const s of sockets) s.destroy();
      });
      w.child.kill('SIGTERM');
      const code = await w.exited;
      const lines = w.stderr().trimEnd().split('\n');
      // The reason is the last connection error when there was one by then (a refused reconnect).
      expect(lines.at(-1)).toMatch(
        new RegExp(
          `^wafgen: cannot reach Redis at 127\\.0\\.0\\.1:${port} \\((ECONNREFUSED|ECONNRESET|not connected|connection closed)\\); worker stopped$`,
        ),
      );
      expect(code).toBe(5);
      expect(w.stdout()).not.toMatch(/second signal/);
    },
    60_000,
  );
});
