import { spawn } from 'node:child_process';
import { constants } from 'node:os';

import type { Command } from 'commander';

import { InputError } from '../../core/errors.js';
import type { Config } from '../../config/index.js';
import { EXIT, printable, type Io } from '../io.js';

/**
 * The node flags `wafgen serve` runs under (WAFGEN_SERVE_NODE_ARGS replaces them; empty: none).
 * Why: V8's defaults size the heap for throughput, not for a long-running server's footprint. Under
 * the load of `npm run bench:api` the server held 251-258 MB (peak RSS) with them: up to 16 MB
 * semi-spaces, and an old generation allowed to grow by up to 4x between collections because its
 * limit is in gigabytes. With a 2 MB semi-space and a 384 MB old-generation limit (V8 then grows the
 * heap by ~1.35x at a time) it held 197 MB, and 189 MB with glibc's malloc kept to 2 arenas (a
 * node process has ~10 threads; {@link serveChildEnv}). BENCH_SERVER_NODE_ARGS compares other
 * values. V8 reads these only at start-up, so `wafgen serve` starts node again with them
 * (relaunchServe).
 */
const SERVE_NODE_ARGS = ['--max-semi-space-size=2', '--max-old-space-size=384'];
const NODE_ARG = /^--[a-z][a-z0-9_-]*(?:=[A-Za-z0-9._-]+)?$/;
/** Set in the relaunched server's environment: it runs the command itself. */
const RELAUNCHED = 'WAFGEN_SERVE_RELAUNCHED';

/** The node flags for the server: WAFGEN_SERVE_NODE_ARGS (validated) when set, else the defaults. */
export function serveNodeArgs(env: NodeJS.ProcessEnv): string[] {
  const given = env.WAFGEN_SERVE_NODE_ARGS;
  if (given === undefined) return [...SERVE_NODE_ARGS];
  const args = given.split(/\s+/).filter((a) => a !== '');
  if (given.length > 1024 || args.length > 16 || !args.every((a) => NODE_ARG.test(a)))
    throw new InputError(
      'WAFGEN_SERVE_NODE_ARGS must be up to 16 node flags (--name or --name=value) separated by spaces',
    );
  return args;
}

/** What the relaunched server's environment adds: MALLOC_ARENA_MAX=2 unless it is set. */
export function serveChildEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return { MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2' };
}

/**
 * For `wafgen serve` (argv as given to the CLI), starts the server in a new node process with
 * {@link serveNodeArgs} and resolves with its exit code, forwarding SIGTERM, SIGINT and SIGHUP to
 * it; resolves undefined when this process should run the command itself (another command, help,
 * no flags, already relaunched, flags it cannot read: the command then reports them). The server
 * runs in a process group of its own, so a terminal's Ctrl-C reaches it once (through this
 * process), and shuts down if this process dies (its IPC channel closes).
 * @public bin/wafgen.js calls it (from dist/, which knip does not map to this file).
 */
export async function relaunchServe(argv: readonly string[], script: string): Promise<number | undefined> {
  const env = process.env;
  if (argv[0] !== 'serve' || argv.includes('--help') || argv.includes('-h') || env[RELAUNCHED] === '1')
    return undefined;
  let args: string[];
  try {
    args = serveNodeArgs(env);
  } catch {
    return undefined;
  }
  if (args.length === 0) return undefined;
  const child = spawn(process.execPath, [...process.execArgv, ...args, script, ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...env, ...serveChildEnv(env), [RELAUNCHED]: '1' },
    detached: true,
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  for (const s of signals) process.on(s, forward);
  try {
    return await new Promise<number | undefined>((resolve) => {
      child.once('error', () => resolve(undefined));
      child.once('exit', (code, signal) =>
        resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
      );
    });
  } finally {
    for (const s of signals) process.off(s, forward);
  }
}

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
Memory: the server runs in a node started with ${SERVE_NODE_ARGS.join(' ')} and
MALLOC_ARENA_MAX=2 (WAFGEN_SERVE_NODE_ARGS replaces the flags; empty runs it in this process).

Examples:
  WAFGEN_AUTH_DISABLED=1 wafgen serve --port 8080
  DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379 WAFGEN_API_KEYS=... wafgen serve --host 0.0.0.0`,
    )
    .action(async (opts: { port?: string; host?: string }) => {
      serveNodeArgs(process.env);
      const cfg = config();
      const port = portOption(opts.port, cfg.PORT);
      // Relaunched by relaunchServe: its parent gone (killed), this server stops as on SIGTERM.
      if (process.env[RELAUNCHED] === '1' && process.channel) {
        process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
        // After the listener (which would hold the channel open): the channel keeps nothing alive.
        process.channel.unref();
      }
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
      // Signal handlers before the line that says the server listens: a supervisor that sends
      // SIGTERM as soon as it reads that line gets a graceful shutdown, not Node's default exit.
      const running = server;
      const stopped = new Promise<number>((resolve) => {
        onShutdownSignals(() => running.close(), runtime.log, resolve);
      });
      io.err(
        `wafgen API listening on ${server.url} (store ${service.store.kind}, cache ${service.kv.kind}, queue ${service.queue.kind}, engine ${service.engineVersion}); docs at ${server.url}/docs, review console at ${server.url}/console${server.metricsUrl ? `; metrics at ${server.metricsUrl}/metrics` : ''}\n`,
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
      const code = await stopped;
      io.err(`wafgen API stopped\n`);
      setExit(code === 0 ? EXIT.ok : EXIT.failed);
      // Whatever a library leaves open must not keep a stopped server alive.
      setTimeout(() => process.exit(code), 3000).unref();
    });
}
