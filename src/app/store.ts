// Opening the store for a command: PGlite in the data directory, or PostgreSQL with DATABASE_URL;
// on first use the bundled vulnerability records are loaded, so `wafgen list` works offline on a
// fresh clone.
import type { Config } from '../config/index.js';
import { openStore, type Store } from '../store/index.js';
import { loadBundled } from '../vulns/bundled.js';

export async function openSeededStore(config: Config): Promise<Store> {
  const store = await openStore({
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    dataDir: config.dataDir,
  });
  try {
    if ((await store.vulns.count()) === 0) await store.vulns.upsertMany(loadBundled());
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}
