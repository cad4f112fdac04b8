// Local HTTP servers and clocks for the live look-up tests. Nothing here reaches the internet: every
// server listens on 127.0.0.1 on a port the OS picks.
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Clock } from '../../../src/vulns/live/clock.js';

const HERE = resolve(fileURLToPath(import.meta.url), '..');
export const VULN_FIXTURES = resolve(HERE, '../../fixtures/vulns');

function liveFixture(name: string): string {
  return readFileSync(join(HERE, 'fixtures', name), 'utf8');
}

function vulnFixtureText(name: string): string {
  return readFileSync(join(VULN_FIXTURES, name), 'utf8');
}

export const NVD_LOG4J = (): string => vulnFixtureText('nvd-cve-2021-44228.json');
export const NVD_CONFLUENCE = (): string => liveFixture('nvd-cve-2023-22527.json');
export const NVD_EMPTY = (): string => liveFixture('nvd-empty.json');
export const KEV_CATALOG = (): string => vulnFixtureText('kev-excerpt.json');
export const NUCLEI_CONFLUENCE = (): string => vulnFixtureText('nuclei-cve-2023-22527.yaml');

interface Hit {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

export interface TestServer {
  url: string;
  hits: Hit[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

/** An HTTP server on 127.0.0.1:0; `handler` gets the 1-based number of the request. */
export async function serve(handler: Handler): Promise<TestServer> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res, hits.length);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export function sendJson(
  res: ServerResponse,
  body: string,
  status = 200,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

/** Routes by path (without the query string); anything else is a 404. */
export function routes(table: Record<string, Handler>): Handler {
  return (req, res, n) => {
    const path = (req.url ?? '').split('?')[0]!;
    const h = table[path];
    if (h) h(req, res, n);
    else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404: Not Found');
    }
  };
}

/** A clock whose sleeps return at once, advancing it; it remembers each sleep. */
export class InstantClock implements Clock {
  t = Date.parse('2025-06-15T12:00:00.000Z');
  readonly sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
  }
}

/** A clock that only moves when the test says so. */
export class FakeClock implements Clock {
  t = Date.parse('2025-06-15T12:00:00.000Z');
  readonly sleeps: number[] = [];
  #timers: { at: number; resolve: () => void }[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      const timer = { at: this.t + ms, resolve };
      this.#timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.#timers = this.#timers.filter((x) => x !== timer);
        reject(signal.reason);
      });
    });
  }

  /** Timers waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Move time on, wake the sleepers that are due, and let them run. */
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.#timers.filter((x) => x.at <= this.t);
    this.#timers = this.#timers.filter((x) => x.at > this.t);
    for (const x of due) x.resolve();
    await flush();
  }
}

/** Let pending promise callbacks and I/O callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
