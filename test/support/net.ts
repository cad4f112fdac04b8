// Loopback ports for tests of backends that cannot be reached.
import { createServer } from 'node:net';

/** A loopback port nothing listens on: bound by the OS, then released. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
