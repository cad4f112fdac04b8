// `wafgen serve`: the API on Node's HTTP server. Closing stops accepting connections, lets the
// requests under way finish, then closes the service (queue, Redis, store).
import type { AddressInfo } from 'node:net';

import { serve } from '@hono/node-server';

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
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: runtime.app.fetch, port: opts.port, hostname: opts.host }, () => resolve(s));
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
