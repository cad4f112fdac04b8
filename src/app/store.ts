// Opening the store for a command: PGlite in the data directory, or PostgreSQL with DATABASE_URL;
// on first use the bundled vulnerability records are loaded, with their exploit facts as evidence,
// so `wafgen list` and `wafgen info` work offline on a fresh clone.
import type { Config } from '../config/index.js';
import { openStore, seedIfEmpty, type Store } from '../store/index.js';

export async function openSeededStore(config: Config): Promise<Store> {
  const store = await openStore({
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    dataDir: config.dataDir,
    // A new embedded store starts with the bundled records (the seeded template): no seeding then.
    seeded: true,
  });
  try {
    await seedIfEmpty(store);
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}
