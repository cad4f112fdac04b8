/**
 * @module A short command's embedded store, started ahead of its open: PGlite on a thread of its own
 * (store/pglite-thread.ts) while the command loads its code, then taken over by the store the
 * command opens with `pgliteThread` (openSeededStore). Light on purpose: it loads neither the query
 * builder nor the repositories, so that the thread starts before they do.
 */
import type { Config } from '../config/index.js';
import { dynamoSettingsFromEnv } from '../store/dynamodb/settings.js';
import { startPgliteEarly } from '../store/pglite-thread.js';

/**
 * Starts the configured embedded store's PGlite on a thread when there is one to start (PGlite, its
 * folder already made). Returns what to call when the command ends: it closes the thread, and frees
 * the folder, if the store never took it over.
 */
export async function startStoreEarly(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): Promise<() => Promise<void>> {
  const none = async (): Promise<void> => {};
  if (config.DATABASE_URL || dynamoSettingsFromEnv(env)) return none;
  return (await startPgliteEarly(config.dataDir)) ?? none;
}
