/**
 * @module Where the CLI's settings come from: a flag, then the environment, then the config file
 * (src/config/file.ts), then the default; `wafgen config show` prints each with its source. The
 * file's `commands` section gives command options their defaults (a flag given wins). Loaded before
 * a command runs, never for `--help`.
 */
import type { Command } from 'commander';

import { ConfigError } from '../config/errors.js';
import { FILE_SETTINGS, settingText, type FileSetting, type LoadedFile } from '../config/file.js';

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  offline?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

type Source = 'flag' | 'env' | 'file' | 'default';

export interface Setting {
  key: FileSetting | `commands.${string}`;
  variable?: string;
  /** The value as the command sees it (the environment variable's text), absent when unset. */
  value?: string;
  source: Source;
  /** The flag or file that gave it. */
  from?: string;
}

export interface Resolution {
  file?: LoadedFile;
  settings: Setting[];
}

/** Settings the global flags set (a flag wins over the environment). */
const FLAGS: Partial<Record<FileSetting, { flag: string; value: (o: GlobalOptions) => string | undefined }>> =
  {
    dataDir: { flag: '--data-dir', value: (o) => o.dataDir },
    offline: { flag: '--offline', value: (o) => (o.offline ? '1' : undefined) },
  };

/**
 * Resolve every file setting (flag > env > file > default) and write the result into `env` (the
 * process environment, which every subsystem reads): a flag overrides the variable, the file only
 * fills a variable that is unset or empty.
 */
export function resolveSettings(
  opts: GlobalOptions,
  file: LoadedFile | undefined,
  env: NodeJS.ProcessEnv,
): Resolution {
  const settings: Setting[] = [];
  for (const [key, variable] of Object.entries(FILE_SETTINGS) as [FileSetting, string][]) {
    const flag = FLAGS[key];
    const flagged = flag?.value(opts);
    const fromFile = file?.config[key];
    if (flagged !== undefined) {
      env[variable] = flagged;
      settings.push({ key, variable, value: flagged, source: 'flag', from: flag!.flag });
    } else if (env[variable] !== undefined && env[variable] !== '') {
      settings.push({ key, variable, value: env[variable], source: 'env', from: variable });
    } else if (fromFile !== undefined && typeof fromFile !== 'object') {
      const text = settingText(fromFile);
      env[variable] = text;
      settings.push({ key, variable, value: text, source: 'file', from: file!.path });
    } else {
      settings.push({ key, variable, source: 'default' });
    }
  }
  return { ...(file ? { file } : {}), settings };
}

const camel = (key: string): string => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The command's name as the file's `commands` section writes it: `test`, `backup run`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Give the command's options the file's defaults where no flag was given, each checked against the
 * option (its name, whether it takes a value, its choices). Returns what it set, for `config show`.
 */
export function applyCommandDefaults(command: Command, file: LoadedFile | undefined): Setting[] {
  const name = commandPath(command);
  const section = file?.config.commands?.[name];
  if (!file || !section) return [];
  const applied: Setting[] = [];
  for (const [rawKey, value] of Object.entries(section)) {
    const key = camel(rawKey);
    const option = command.options.find((o) => o.attributeName() === key && !o.hidden);
    if (!option)
      throw new ConfigError([
        `${file.path}: commands.${name}.${rawKey} is not an option of wafgen ${name}; see wafgen ${name} --help`,
      ]);
    const takesValue = option.required || option.optional;
    const wrong = (what: string) => new ConfigError([`${file.path}: commands.${name}.${rawKey} ${what}`]);
    if (!takesValue && typeof value !== 'boolean') throw wrong('is a flag: give true or false');
    if (takesValue && typeof value === 'boolean') throw wrong(`takes a value (${option.flags})`);
    if (Array.isArray(value) && !option.variadic && !Array.isArray(option.defaultValue))
      throw wrong('takes one value, not a list');
    const values = Array.isArray(value) ? value : [value];
    if (option.argChoices)
      for (const v of values)
        if (!option.argChoices.includes(String(v)))
          throw wrong(`must be one of ${option.argChoices.join(', ')}`);
    // The negated form (`--no-fetch`) stores `fetch`; true/false mean the attribute's own value.
    const shaped =
      typeof value === 'boolean'
        ? value
        : Array.isArray(value)
          ? value
          : Array.isArray(option.defaultValue)
            ? [String(value)]
            : String(value);
    const source = command.getOptionValueSource(key);
    if (source === undefined || source === 'default') {
      command.setOptionValueWithSource(key, shaped, 'config');
      applied.push({
        key: `commands.${name}.${key}`,
        value: Array.isArray(shaped) ? shaped.join(',') : String(shaped),
        source: 'file',
        from: file.path,
      });
    }
  }
  return applied;
}
