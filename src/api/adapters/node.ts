// `wafgen serve`: the API on Node's HTTP server, and /metrics on a listener of its own when
// WAFGEN_METRICS_PORT says so (same host). Closing stops accepting connections, lets the requests
// under way finish, then closes the service (queue, Redis, store).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { getRequestListener } from '@hono/node-server';

import { metricsAppOf } from '../app.js';
import { hotPathOf } from '../hot-path.js';
import type { Runtime } from '../runtime.js';

export interface RunningServer {
  url: string;
  port: number;
  /** Where /metrics is served when it has a port of its own (WAFGEN_METRICS_PORT). */
  metricsUrl?: string;
  close(): Promise<void>;
}

export async function startServer(
  runtime: Runtime,
  opts: { port: number; host: string },
): Promise<RunningServer> {
  const listen = (s: Server, port: number) =>
    new Promise<Server>((resolve, reject) => {
      s.listen(port, opts.host, () => resolve(s));
      s.once('error', reject);
    });
  // What @hono/node-server's serve() builds, with a cache-hit rule read and a repeated validate
  // answered before Hono when they can be (../hot-path.ts).
  const listener = getRequestListener(runtime.app.fetch, { hostname: opts.host });
  const toApp = (req: IncomingMessage, res: ServerResponse): void => void listener(req, res);
  const hot = hotPathOf(runtime.app);
  const server = await listen(
    createServer(
      hot
        ? (req, res) => {
            if (!hot(req, res, toApp)) toApp(req, res);
          }
        : listener,
    ),
    opts.port,
  );
  const metricsApp = metricsAppOf(runtime.app);
  const metricsPort = runtime.serviceConfig.metrics.port;
  let metricsServer: Server | undefined;
  if (metricsApp && metricsPort !== undefined) {
    try {
      metricsServer = await listen(
        createServer(getRequestListener(metricsApp.fetch, { hostname: opts.host })),
        metricsPort,
      );
    } catch (e) {
      server.close();
      throw e;
    }
  }
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closed: Promise<void> | undefined;
  const stop = (s: Server) =>
    new Promise<void>((resolve) => {
      s.close(() => resolve());
      // Idle keep-alive connections would hold close() open.
      s.closeIdleConnections();
    });
  return {
    url: `http://${host}:${port}`,
    port,
    ...(metricsServer
      ? { metricsUrl: `http://${host}:${(metricsServer.address() as AddressInfo).port}` }
      : {}),
    close: () =>
      (closed ??= (async () => {
        await Promise.all([stop(server), ...(metricsServer ? [stop(metricsServer)] : [])]);
        await runtime.close();
      })()),
  };
}
