/**
 * @module The `wafgen` command: parse, call a use case in src/app, print. Every failure ends with one
 * line on stderr and the exit code of its kind (io.ts, EXIT): 2 for what the user can fix, 5 for a
 * backend that cannot be reached; never a stack trace.
 */
import { Command, CommanderError } from 'commander';

import { InputError } from '../core/errors.js';
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/errors.js';
import { registerBackup } from './commands/backup.js';
import { registerBatch } from './commands/batch.js';
import { registerDeploy } from './commands/deploy.js';
import { registerGenerate } from './commands/generate.js';
import { registerStats } from './commands/stats.js';
import { registerServe } from './commands/serve.js';
import { registerTest } from './commands/test.js';
import { registerValidate } from './commands/validate.js';
import { registerVulnCommands } from './commands/vulns.js';
import { registerWorker } from './commands/worker.js';
import { endQuietlyOnClosedPipes, EXIT, EXIT_HELP, printable, processIo, type Io } from './io.js';
import { VERSION } from '../core/version.js';

/** The configuration, once a command has read it (the error handler names the backends it sets). */
interface Loaded {
  config?: Config;
}

export function buildProgram(io: Io, setExit: (code: number) => void, loaded: Loaded = {}): Command {
  // Commands import what they need when they run, so `--help`, `--version` and a small `validate`
  // load no database, queue or LLM SDK; the environment check is loaded before any command runs.
  let loadEnvironment: ((env?: NodeJS.ProcessEnv) => Config) | undefined;
  const getConfig = (): Config => {
    if (!loadEnvironment) throw new Error('the environment is read before the command runs');
    return (loaded.config ??= loadEnvironment());
  };
  const program = new Command('wafgen')
    .description('Generate, validate and test AWS WAFv2 rules that virtually patch CVEs.')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    // Usage errors quote the arguments given: shown escaped, like everything that came from input.
    .configureOutput({
      writeOut: (s) => io.out(printable(s, { lines: true })),
      writeErr: (s) => io.err(printable(s, { lines: true })),
    })
    .exitOverride();
  // API keys from Secrets Manager (WAFGEN_SECRETS_ARN) fill unset variables before any command reads them.
  program.hook('preAction', async () => {
    const secrets = await import('../secrets/index.js');
    await secrets.applySecretsToEnv().catch((e: unknown) => {
      throw new InputError(`secrets: ${e instanceof Error ? e.message : String(e)}`);
    });
    ({ loadEnvironment } = await import('../app/environment.js'));
  });
  program.addHelpText(
    'after',
    `
Environment: WAFGEN_DATA_DIR, WAFGEN_OFFLINE=1, DATABASE_URL, REDIS_URL, PORT (see README).

${EXIT_HELP}`,
  );
  registerGenerate(program, io, getConfig, setExit);
  registerBatch(program, io, getConfig, setExit);
  registerValidate(program, io, getConfig, setExit);
  registerTest(program, io, getConfig, setExit);
  registerVulnCommands(program, io, getConfig, setExit);
  registerStats(program, io, getConfig);
  registerServe(program, io, getConfig, setExit);
  registerWorker(program, io, getConfig, setExit);
  registerDeploy(program, io, getConfig, setExit);
  registerBackup(program, io, getConfig, setExit);
  return program;
}

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  if (io === processIo) {
    endQuietlyOnClosedPipes();
    // The AWS SDK prints a multi-line notice on Node 20 (its releases after January 2027 will need
    // Node 22) before the first AWS call of archive, deploy or Secrets Manager: nothing a wafgen user
    // can act on in that command (package.json says Node >= 20.11, the lockfile pins the SDK). The
    // SDK's own switch; a user who sets it keeps their value.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  }
  let exit: number = EXIT.ok;
  const loaded: Loaded = {};
  const program = buildProgram(
    io,
    (code) => {
      exit = code;
    },
    loaded,
  );
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exit;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    // One line for stderr: input shown escaped, secret-shaped parts (a URL's password) redacted.
    // Loaded on this path only (--help ends above without it), like the backend errors below.
    const { redactText } = await import('../observability/redact.js');
    const oneLine = (text: string): string => printable(redactText(text));
    if (e instanceof InputError || e instanceof ConfigError) {
      io.err(`wafgen: ${oneLine(e.message)}\n`);
      return EXIT.badInput;
    }
    // PostgreSQL or Redis away (or the embedded store open elsewhere): host:port and a code, exit 5.
    // Loaded only on this path; the backends are the configured ones (the environment when the
    // failure came before the configuration was read).
    const { backendUnavailable } = await import('../app/backends.js');
    const backends = loaded.config ?? {
      DATABASE_URL: process.env.DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL,
    };
    const unavailable = backendUnavailable(e, backends);
    if (unavailable) {
      io.err(`wafgen: ${oneLine(unavailable.message)}\n`);
      return EXIT.unavailable;
    }
    io.err(`wafgen: internal error: ${oneLine(e instanceof Error ? e.message : String(e))}\n`);
    if (process.env.WAFGEN_DEBUG) io.err(`${e instanceof Error ? redactText(e.stack ?? '') : ''}\n`);
    return EXIT.failed;
  }
}
