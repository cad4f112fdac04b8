// `wafgen serve`: the API on Node's HTTP server. Closing stops accepting connections, lets the
// requests under way finish, then closes the service (queue, Redis, store).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { getRequestListener } from '@hono/node-server';

import { hotPathOf } from '../hot-path.js';
import type { Runtime } from '../runtime.js';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startServer(
  runtime: Runtime,
  opts: { port: number; host: string },
): Promise<RunningServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    // What @hono/node-server's serve() builds, with the cache-hit rule read answered before Hono
    // when it can be (../hot-path.ts).
    const listener = getRequestListener(runtime.app.fetch, { hostname: opts.host });
    const hot = hotPathOf(runtime.app);
    const s = createServer(
      hot
        ? (req, res) => {
            if (!hot(req, res)) void listener(req, res);
          }
        : listener,
    );
    s.listen(opts.port, opts.host, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      (closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Idle keep-alive connections would hold close() open.
          (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        });
        await runtime.close();
      })()),
  };
}
