// Opening the store for a command: PGlite in the data directory, PostgreSQL with DATABASE_URL, or
// DynamoDB with WAFGEN_STORE=dynamodb (the serverless stack; see docs/dynamodb.md); on first use the
// bundled vulnerability records are loaded, with their exploit facts as evidence, so `wafgen list`
// and `wafgen info` work offline on a fresh clone.
import type { Config } from '../config/index.js';
import {
  dynamoSettingsFromEnv,
  openStore,
  seedIfEmpty,
  sqlStoreOptions,
  type Store,
} from '../store/index.js';

export async function openSeededStore(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
  options: { pgliteThread?: boolean } = {},
): Promise<Store> {
  const dynamodb = dynamoSettingsFromEnv(env);
  const store = await openStore({
    ...(dynamodb ? { dynamodb } : {}),
    ...sqlStoreOptions(config),
    // A new embedded store starts with the bundled records (the seeded template): no seeding then.
    seeded: true,
    // PGlite on a thread (a short command that started it early: app/store-early.ts).
    ...(options.pgliteThread ? { pgliteThread: true } : {}),
  });
  try {
    await seedIfEmpty(store);
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}
