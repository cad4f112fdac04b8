/**
 * @module The `wafgen` command: parse, call a use case in src/app, print. Every failure ends with one
 * line on stderr and the exit code of its kind (io.ts, EXIT): 2 for what the user can fix, 5 for a
 * backend that cannot be reached; never a stack trace.
 */
import { Command, CommanderError } from 'commander';

import { InputError } from '../core/errors.js';
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/errors.js';
import type { GlobalOptions, Resolution } from './config.js';
import { registerBackup } from './commands/backup.js';
import { registerBatch } from './commands/batch.js';
import { registerCompletion } from './commands/completion.js';
import { registerConfig } from './commands/config.js';
import { registerDeploy } from './commands/deploy.js';
import { CVE_SHAPE, registerGenerate } from './commands/generate.js';
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
  /** Where each setting came from (`wafgen config show`). */
  resolution?: Resolution;
}

/** Commands that run without the configuration: the completion script and its candidates. */
const WITHOUT_CONFIG = new Set(['completion', 'complete']);

export function buildProgram(
  io: Io,
  setExit: (code: number) => void,
  loaded: Loaded = {},
  opts: { completion?: boolean } = {},
): Command {
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
    .exitOverride()
    .option(
      '--config <file>',
      'read this config file instead of searching for wafgen.config.* (see: wafgen config show --help)',
    )
    .option('--data-dir <dir>', 'where the embedded store, audit log and caches live (WAFGEN_DATA_DIR)')
    .option('--offline', 'never touch the network (WAFGEN_OFFLINE=1)')
    .option('-q, --quiet', 'print only the result and errors: no reports, notes or progress on stderr')
    .option(
      '--verbose',
      "also print where the configuration came from, each step, and an internal error's stack",
    );
  // Before a command runs: --quiet/--verbose; the config file and the flags fill the environment
  // (flag > env > file > default) and give the command's options their file defaults; then API keys
  // from Secrets Manager (WAFGEN_SECRETS_ARN) fill unset variables before any command reads them.
  program.hook('preAction', async (_program, command) => {
    if (WITHOUT_CONFIG.has(command.name()) && command.parent === program) return;
    const global = program.opts<GlobalOptions>();
    if (global.quiet && global.verbose)
      throw new InputError('--quiet and --verbose disagree; pass one of them');
    io.quiet = Boolean(global.quiet);
    io.verbose = Boolean(global.verbose);
    const [{ loadConfigFile }, { resolveSettings, applyCommandDefaults }] = await Promise.all([
      import('../config/file.js'),
      import('./config.js'),
    ]);
    const file = await loadConfigFile(process.cwd(), global.config);
    loaded.resolution = resolveSettings(global, file, process.env);
    loaded.resolution.settings.push(...applyCommandDefaults(command, file));
    if (io.verbose) io.err(`wafgen: config file: ${file ? printable(file.path) : 'none'}\n`);
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
Config file: wafgen.config.{json,yaml,js} or a "wafgen" key in package.json; \`wafgen config show\`
prints every setting and where it came from (flag > env > config file > default).
Shell completion: source <(wafgen completion bash)   (zsh, fish, powershell too)
A file argument of - reads standard input.

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
  registerConfig(program, io, getConfig, () => loaded.resolution, setExit);
  if (opts.completion !== false)
    registerCompletion(program, io, () => buildProgram(io, setExit, {}, { completion: false }));
  return program;
}

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  if (io === processIo) {
    endQuietlyOnClosedPipes();
    // The AWS SDK prints a multi-line notice on Node 20 (its releases after January 2027 will need
    // Node 22) before the first AWS call of archive, deploy or Secrets Manager: nothing a wafgen user
    // can act on in that command (package.json says Node ^20.19 || >=22, the lockfile pins the SDK). The
    // SDK's own switch; a user who sets it keeps their value.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  }
  // `generate CVE-…`: the embedded store's PGlite starts now, on a thread, while the configuration
  // is read and the command loads (app/store-early.ts); the command takes it over or gives it back.
  const ahead =
    argv[0] === 'generate' && argv[1] !== undefined && CVE_SHAPE.test(argv[1])
      ? await import('../app/store-early.js')
      : undefined;
  await ahead?.startStoreAhead(argv.slice(1));
  try {
    return await run(argv, io);
  } finally {
    await ahead?.disposeStoreAhead().catch(() => {});
  }
}

async function run(argv: readonly string[], io: Io): Promise<number> {
  let exit: number = EXIT.ok;
  const loaded: Loaded = {};
  // The commands' own view of the streams: --quiet and --verbose are set on it before they run.
  const cliIo: Io = { ...io };
  const program = buildProgram(
    cliIo,
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
    const [{ redactText }, { unmaskStdin }] = await Promise.all([
      import('../observability/redact.js'),
      import('./stdin.js'),
    ]);
    const oneLine = (text: string): string => printable(redactText(unmaskStdin(text)));
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
    // Still one line with its cause and what to do: never a bare "Error" (an error without a
    // message names its class).
    const cause = e instanceof Error ? e.message.trim() || `${e.name} without a message` : String(e);
    io.err(
      `wafgen: internal error: ${oneLine(cause)}; ${cliIo.verbose ? 'the stack follows' : 'rerun with --verbose for the stack'} and report it\n`,
    );
    if (process.env.WAFGEN_DEBUG || cliIo.verbose)
      io.err(`${e instanceof Error ? redactText(e.stack ?? '') : ''}\n`);
    return EXIT.failed;
  }
}
