// A local HTTP server for the evidence tests: node:http on 127.0.0.1, port 0, routes by path, and a log of
// every request it received (so a test can prove that a refused URL was never connected to).
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface TestServer {
  port: number;
  /** http://127.0.0.1:<port> */
  origin: string;
  /** Paths requested, in order, with the Host header that came with them. */
  hits: Array<{ path: string; host: string | undefined }>;
  /** Sockets opened (a refused fetch must open none). */
  connections: () => number;
  route: (path: string, handler: Handler) => void;
  close: () => Promise<void>;
}

export async function startServer(routes: Record<string, Handler> = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const hits: TestServer['hits'] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.push({ path: req.url ?? '/', host: req.headers.host });
    const handler = table.get(path);
    if (handler) handler(req, res);
    else {
      res.statusCode = 404;
      res.setHeader('content-type', 'text/plain');
      res.end('not found');
    }
  });
  server.on('connection', (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    hits,
    connections: () => connections,
    route: (path, handler) => table.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function html(body: string, status = 200): Handler {
  return (_req, res) => {
    res.statusCode = status;
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(body);
  };
}

export function redirect(location: string, status = 302): Handler {
  return (_req, res) => {
    res.statusCode = status;
    res.setHeader('location', location);
    res.end();
  };
}
