/**
 * @module The config file: `wafgen.config.{json,yaml,yml,js,mjs,cjs}` or a `wafgen` key in
 * package.json, found by lilconfig from the working directory up (to the home directory), or the
 * file `--config` names. A strict schema: an unknown key, a wrong type or a credential is a
 * one-line error naming the file, the key and the fix. Its settings fill environment variables
 * that are unset (a variable set in the environment wins, a flag wins over both); its `commands`
 * section gives command options their defaults (a flag given wins).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

import { z } from 'zod';

import { ConfigError } from './errors.js';

/** File key → the environment variable it stands for (README, Configuration). */
export const FILE_SETTINGS = {
  dataDir: 'WAFGEN_DATA_DIR',
  offline: 'WAFGEN_OFFLINE',
  fetchReferences: 'WAFGEN_FETCH_REFERENCES',
  databaseUrl: 'DATABASE_URL',
  pgPrepare: 'WAFGEN_PG_PREPARE',
  redisUrl: 'REDIS_URL',
  maxInputBytes: 'WAFGEN_MAX_INPUT_BYTES',
  host: 'HOST',
  port: 'PORT',
  logLevel: 'LOG_LEVEL',
  llmProviders: 'WAFGEN_LLM_PROVIDERS',
  llmOutput: 'WAFGEN_LLM_OUTPUT',
  auditSinks: 'WAFGEN_AUDIT_SINKS',
} as const;
export type FileSetting = keyof typeof FILE_SETTINGS;

const SEARCH_PLACES = [
  'package.json',
  'wafgen.config.json',
  'wafgen.config.yaml',
  'wafgen.config.yml',
  'wafgen.config.js',
  'wafgen.config.mjs',
  'wafgen.config.cjs',
];

/** A value a command option can take from the file: a flag, a value, or a repeatable value. */
const OptionValue = z.union([
  z.boolean(),
  z.string().max(4096),
  z.number(),
  z.array(z.string().max(4096)).max(100),
]);

const FileSchema = z
  .object({
    dataDir: z.string().min(1).max(4096),
    offline: z.boolean(),
    fetchReferences: z.boolean(),
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a URL starting with postgres:// or postgresql://'),
    pgPrepare: z.boolean(),
    redisUrl: z.string().regex(/^rediss?:\/\//, 'must be a URL starting with redis:// or rediss://'),
    maxInputBytes: z.number().int().min(1024),
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65535),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    llmProviders: z.string().min(1).max(1024),
    llmOutput: z.enum(['native', 'digest']),
    auditSinks: z.string().min(1).max(1024),
    /** Option defaults per command: `{"test": {"resource": "CLOUDFRONT", "variants": true}}`. */
    commands: z.record(z.string().max(64), z.record(z.string().max(64), OptionValue)),
  })
  .partial()
  .strict();

type FileConfig = z.infer<typeof FileSchema>;

export interface LoadedFile {
  /** Absolute path of the file read. */
  path: string;
  config: FileConfig;
}

/** Keys that hold credentials: refused with their fix (a config file is often committed). */
const CREDENTIAL = /key|secret|token|password|credential/i;

function problemsOf(error: z.ZodError, file: string): string[] {
  return error.issues.slice(0, 10).map((i) => {
    if (i.code === 'unrecognized_keys') {
      const secret = i.keys.find((k) => CREDENTIAL.test(k));
      if (secret)
        return `${file}: ${secret} looks like a credential; keep credentials out of config files (set the environment variable or WAFGEN_SECRETS_ARN)`;
      return `${file}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')} at ${i.path.length ? i.path.join('.') : 'the top level'}; allowed: ${[...Object.keys(FILE_SETTINGS), 'commands'].join(', ')}`;
    }
    const where = i.path.join('.') || 'the file';
    if (i.code === 'invalid_type')
      return `${file}: ${where} must be ${i.expected === 'object' ? 'an object' : `a ${i.expected}`}`;
    return `${file}: ${where} ${i.message}`;
  });
}

function parseYaml(path: string, text: string): Promise<unknown> {
  return import('yaml').then(({ parse }) => {
    try {
      // Plain data only: no custom tags, a bounded alias count (a "billion laughs" file stops).
      return parse(text, { maxAliasCount: 100, customTags: [] }) as unknown;
    } catch (e) {
      throw new ConfigError([
        `${basename(path)}: invalid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
      ]);
    }
  });
}

function parseJsonConfig(path: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ConfigError([`${basename(path)}: invalid JSON: ${e instanceof Error ? e.message : String(e)}`]);
  }
}

/** The largest config file read: a config file is a few lines. */
const MAX_FILE_BYTES = 1 << 20;

/**
 * The config file, searched from `cwd` up (or the one `explicit` names), validated; undefined when
 * there is none. Throws a ConfigError (one line per problem, each naming the file) when it is bad.
 */
export async function loadConfigFile(cwd: string, explicit?: string): Promise<LoadedFile | undefined> {
  const { lilconfig, defaultLoaders } = await import('lilconfig');
  const readText = async (path: string, content: string): Promise<string> => {
    if (Buffer.byteLength(content) > MAX_FILE_BYTES)
      throw new ConfigError([`${basename(path)}: larger than 1 MiB; a config file holds a few settings`]);
    return content;
  };
  const explorer = lilconfig('wafgen', {
    searchPlaces: SEARCH_PLACES,
    loaders: {
      '.json': async (path, content) => parseJsonConfig(path, await readText(path, content)),
      '.yaml': async (path, content) => parseYaml(path, await readText(path, content)),
      '.yml': async (path, content) => parseYaml(path, await readText(path, content)),
      '.js': defaultLoaders['.js']!,
      '.mjs': defaultLoaders['.mjs']!,
      '.cjs': defaultLoaders['.cjs']!,
    },
  });
  let result;
  try {
    if (explicit) {
      await readFile(explicit).catch((e: NodeJS.ErrnoException) => {
        throw new ConfigError([
          `--config ${explicit}: ${e.code === 'ENOENT' ? 'no such file' : (e.code ?? 'cannot read it')}; give the path of a wafgen.config.json, .yaml or .js`,
        ]);
      });
      result = await explorer.load(explicit);
    } else {
      result = await explorer.search(cwd);
    }
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const where = explicit ?? 'the config file';
    throw new ConfigError([
      `${where}: cannot be loaded (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
    ]);
  }
  if (!result || result.isEmpty === true || result.config === undefined || result.config === null)
    return undefined;
  // A JavaScript config may export a function or a promise; it must give plain data.
  const value: unknown = await Promise.resolve(
    typeof result.config === 'object' && 'default' in (result.config as object)
      ? (result.config as { default: unknown }).default
      : result.config,
  );
  const shown =
    basename(result.filepath) === 'package.json' ? `${result.filepath} (key "wafgen")` : result.filepath;
  const parsed = FileSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(problemsOf(parsed.error, shown));
  return { path: shown, config: parsed.data };
}

/** A file setting as the environment variable's text. */
export const settingText = (value: string | number | boolean): string =>
  typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
