import type { Command } from 'commander';

import { InputError } from '../../core/errors.js';
import type { Config } from '../../config/index.js';
import { EXIT, printable, type Io } from '../io.js';

function portOption(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InputError('--port must be a whole number from 0 to 65535');
  return port;
}

export function registerServe(
  program: Command,
  io: Io,
  config: () => Config,
  setExit: (code: number) => void,
): void {
  program
    .command('serve')
    .description('run the HTTP API (rules, jobs, validate, test, webhook, health, metrics, OpenAPI)')
    .option('--port <n>', 'port to listen on (default: PORT, else 8080; 0 picks a free one)')
    .option('--host <address>', 'address to listen on (default: HOST, else 127.0.0.1)')
    .addHelpText(
      'after',
      `
Authentication: WAFGEN_JWT_SECRET or WAFGEN_JWT_JWKS_URL (with WAFGEN_JWT_ISSUER, WAFGEN_JWT_AUDIENCE),
and/or WAFGEN_API_KEYS; WAFGEN_AUTH_DISABLED=1 for local use only. With REDIS_URL the cache, rate
limits and job queue are shared by every replica and jobs run in \`wafgen worker\` processes; without
it, everything runs in this process. Logs are JSON lines on stdout; SIGTERM shuts down gracefully.

Examples:
  WAFGEN_AUTH_DISABLED=1 wafgen serve --port 8080
  DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379 WAFGEN_API_KEYS=... wafgen serve --host 0.0.0.0`,
    )
    .action(async (opts: { port?: string; host?: string }) => {
      const cfg = config();
      const port = portOption(opts.port, cfg.PORT);
      const { createRuntime, startServer } = await import('../../api/index.js');
      const { onShutdownSignals } = await import('../../worker/index.js');
      const runtime = await createRuntime(process.env);
      let server;
      try {
        server = await startServer(runtime, { port, host: opts.host ?? cfg.HOST });
      } catch (e) {
        await runtime.close().catch(() => {});
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
          throw new InputError(`cannot listen on ${opts.host ?? cfg.HOST}:${port}: ${code}`);
        throw e;
      }
      const { service } = runtime;
      io.err(
        `wafgen API listening on ${server.url} (store ${service.store.kind}, cache ${service.kv.kind}, queue ${service.queue.kind}, engine ${service.engineVersion}); docs at ${server.url}/docs${server.metricsUrl ? `; metrics at ${server.metricsUrl}/metrics` : ''}\n`,
      );
      // Redis away at start: the API serves (it reconnects by itself, /readyz says degraded), and
      // the operator reads why in one line, as every command says it (no URL, no password).
      if (service.kv.kind === 'redis' && cfg.REDIS_URL) {
        const redisUrl = cfg.REDIS_URL;
        const { probeRedis } = await import('../../app/backends.js');
        // The service's client only knows it is not connected; a probe of its own says why.
        const down = await service.kv.ping().then(
          () => undefined,
          () => probeRedis(redisUrl),
        );
        if (down)
          io.err(
            `wafgen: warning: ${printable(down.message)}; serving without the shared cache, rate limits and job queue until it answers\n`,
          );
      }
      const running = server;
      const code = await new Promise<number>((resolve) => {
        onShutdownSignals(() => running.close(), runtime.log, resolve);
      });
      io.err(`wafgen API stopped\n`);
      setExit(code === 0 ? EXIT.ok : EXIT.failed);
      // Whatever a library leaves open must not keep a stopped server alive.
      setTimeout(() => process.exit(code), 3000).unref();
    });
}
