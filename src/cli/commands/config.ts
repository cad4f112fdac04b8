/**
 * @module `wafgen config show`: the effective settings and where each came from (a flag, the
 * environment, the config file, or the default), and the option defaults the config file gives
 * each command.
 */
import type { Command } from 'commander';

import type { Config } from '../../config/index.js';
import type { Resolution } from '../config.js';
import { colors, EXIT, printable, printableJson, type Io } from '../io.js';

/** The loaded configuration's value of a setting left at its default (as the command sees it). */
const CORE_VALUES: Partial<Record<string, (c: Config) => unknown>> = {
  dataDir: (c) => c.dataDir,
  offline: (c) => c.WAFGEN_OFFLINE,
  maxInputBytes: (c) => c.WAFGEN_MAX_INPUT_BYTES,
  host: (c) => c.HOST,
  port: (c) => c.PORT,
  logLevel: (c) => c.LOG_LEVEL,
};

export function registerConfig(
  program: Command,
  io: Io,
  config: () => Config,
  resolution: () => Resolution | undefined,
  setExit: (code: number) => void,
): void {
  const group = program
    .command('config')
    .description('the configuration: `wafgen config show` prints each setting and where it came from');
  group
    .command('show')
    .description('print the effective settings and the source of each: flag, env, config file or default')
    .option('--json', 'print [{key, variable, value, source, from}] and the config file')
    .addHelpText(
      'after',
      `
Precedence: a flag (--data-dir, --offline) > the environment variable > the config file > the default.
Config file: wafgen.config.json, .yaml, .yml, .js, .mjs or .cjs, or a "wafgen" key in package.json,
searched from the working directory up to the home directory; --config FILE names one. Its keys:
dataDir, offline, databaseUrl, redisUrl, maxInputBytes, host, port, logLevel, llmProviders,
llmOutput, auditSinks, and "commands": option defaults per command, e.g.
  {"offline": true, "commands": {"test": {"resource": "CLOUDFRONT", "format": "sarif"}}}
Credentials (API keys) stay in the environment or Secrets Manager (WAFGEN_SECRETS_ARN).`,
    )
    .action(async (opts: { json?: boolean }) => {
      const { redactText } = await import('../../observability/redact.js');
      const r = resolution() ?? { settings: [] };
      // Values are shown redacted (a database URL's password), like every line the CLI prints.
      const cfg = config();
      const rows = r.settings.map((s) => {
        const core = CORE_VALUES[s.key]?.(cfg);
        const value = s.value !== undefined ? s.value : core !== undefined ? String(core) : undefined;
        return { ...s, ...(value !== undefined ? { value: redactText(value) } : {}) };
      });
      if (opts.json) {
        io.out(
          printableJson({
            file: r.file?.path ?? null,
            settings: rows,
            commands: r.file?.config.commands ?? {},
          }) + '\n',
        );
        setExit(EXIT.ok);
        return;
      }
      const c = colors(io);
      const lines = [
        `config file: ${r.file ? printable(r.file.path) : 'none found (wafgen.config.{json,yaml,yml,js,mjs,cjs} or a "wafgen" key in package.json)'}`,
      ];
      const width = Math.max(...rows.map((s) => s.key.length));
      for (const s of rows) {
        const from =
          s.source === 'default'
            ? c.dim('default')
            : s.source === 'file'
              ? `file ${printable(s.from ?? '')}`
              : `${s.source} ${s.from ?? ''}`;
        lines.push(
          `  ${s.key.padEnd(width)}  ${s.value === undefined ? c.dim('(unset)') : printable(s.value)}  ${c.dim('from')} ${from}`,
        );
      }
      const commands = r.file?.config.commands ?? {};
      for (const [name, section] of Object.entries(commands))
        for (const [key, value] of Object.entries(section))
          lines.push(
            `  commands.${printable(name)}.${printable(key)}  ${printable(Array.isArray(value) ? value.join(',') : String(value))}  ${c.dim('from')} file ${printable(r.file!.path)}`,
          );
      io.out(lines.join('\n') + '\n');
      setExit(EXIT.ok);
    });
}
