// The `wafgen` command: parse, call a use case in src/app, print. Every failure the user can cause
// ends with one line on stderr and exit code 2, never a stack trace.
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
import { EXIT, processIo, type Io } from './io.js';
import { VERSION } from '../core/version.js';

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  // Commands import what they need when they run, so `--help`, `--version` and a small `validate`
  // load no database, queue or LLM SDK; the environment check is loaded before any command runs.
  let config: Config | undefined;
  let loadEnvironment: ((env?: NodeJS.ProcessEnv) => Config) | undefined;
  const getConfig = (): Config => {
    if (!loadEnvironment) throw new Error('the environment is read before the command runs');
    return (config ??= loadEnvironment());
  };
  const program = new Command('wafgen')
    .description('Generate, validate and test AWS WAFv2 rules that virtually patch CVEs.')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
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
Exit status: 0 success (generate, batch: every rule proven), 1 the rule failed its checks, 2 bad input;
generate and batch also: 3 no rule could be written, 4 a rule was written but is untested against any exploit.`,
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
  let exit: number = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exit = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exit;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (e instanceof InputError || e instanceof ConfigError) {
      io.err(`wafgen: ${e.message}\n`);
      return EXIT.badInput;
    }
    io.err(`wafgen: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.WAFGEN_DEBUG) io.err(`${e instanceof Error ? e.stack : ''}\n`);
    return EXIT.failed;
  }
}
