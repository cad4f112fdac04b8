/**
 * @module A short command's embedded store, started ahead of its open: PGlite on a thread of its own
 * (store/pglite-thread.ts) while the command reads its configuration and loads its code, then taken
 * over by the store the command opens with `pgliteThread` (openSeededStore). Light on purpose: it
 * loads neither Zod, the query builder nor the repositories, so that the thread starts before they
 * do.
 */
import { resolve } from 'node:path';

import type { Config } from '../config/index.js';
import { defaultDataDir } from '../config/data-dir.js';
import { startPgliteEarly } from '../store/pglite-thread.js';

/** A thread started before the configuration was read, for the folder it most likely names. */
let ahead: { dataDir: string; dispose: () => Promise<void> } | undefined;

/** Command-line options that may name another data folder or store than the environment does. */
const ELSEWHERE = ['--data-dir', '--config'];

/**
 * Before the configuration is read (cli/main.ts, for `generate`, ~0.2 s before its action runs):
 * starts PGlite on a thread in the folder the configuration most likely names, WAFGEN_DATA_DIR or
 * else the default, when its database exists and nothing in the environment or on the command line
 * points elsewhere (DATABASE_URL, WAFGEN_STORE, a Secrets Manager secret, --data-dir, --config,
 * --no-save). A config file can still name another folder or store: startStoreEarly then gives
 * this one back (closed, its lock freed) before anything used it.
 */
export async function startStoreAhead(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  if (ahead || env.DATABASE_URL || env.WAFGEN_STORE || env.WAFGEN_SECRETS_ARN) return;
  if (args.some((a) => a === '--no-save' || ELSEWHERE.some((o) => a === o || a.startsWith(`${o}=`)))) return;
  const dataDir = env.WAFGEN_DATA_DIR || defaultDataDir(env);
  const dispose = await startPgliteEarly(dataDir);
  if (dispose) ahead = { dataDir, dispose };
}

/** Gives back a thread startStoreAhead started that no command took (cli/main.ts, as it returns). */
export async function disposeStoreAhead(): Promise<void> {
  const a = ahead;
  ahead = undefined;
  await a?.dispose();
}

/**
 * Starts the configured embedded store's PGlite on a thread when there is one to start (PGlite, its
 * folder already made), or keeps the one startStoreAhead started when the configuration names its
 * folder. Returns what to call when the command ends: it closes the thread, and frees the folder,
 * if the store never took it over.
 */
export async function startStoreEarly(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): Promise<() => Promise<void>> {
  const none = async (): Promise<void> => {};
  const { dynamoSettingsFromEnv } = await import('../store/dynamodb/settings.js');
  const embedded = !config.DATABASE_URL && !dynamoSettingsFromEnv(env);
  const a = ahead;
  ahead = undefined;
  if (a) {
    if (embedded && resolve(a.dataDir) === resolve(config.dataDir)) return a.dispose;
    // The configuration names another folder or store after all: this one is given back unused.
    await a.dispose();
  }
  if (!embedded) return none;
  return (await startPgliteEarly(config.dataDir)) ?? none;
}
