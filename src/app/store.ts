// Opening the store for a command: PGlite in the data directory, or PostgreSQL with DATABASE_URL;
// on first use the bundled vulnerability records are loaded, with their exploit facts as evidence,
// so `wafgen list` and `wafgen info` work offline on a fresh clone.
import { createHash } from 'node:crypto';

import type { Config } from '../config/index.js';
import { openStore, type Store } from '../store/index.js';
import { loadBundled } from '../vulns/bundled.js';

const BUNDLED_SOURCE = 'wafgen bundled dataset (data/vulns.bundled.jsonl)';

async function seed(store: Store): Promise<void> {
  const records = loadBundled();
  await store.vulns.upsertMany(records);
  for (const r of records) {
    if (!r.exploit) continue;
    await store.evidence.add({
      cveId: r.id,
      kind: 'signature',
      source: BUNDLED_SOURCE,
      title: 'Exploit facts from the bundled dataset',
      signature: r.exploit,
      extractor: 'bundled',
      fetchedAt: r.fetchedAt,
      contentHash: createHash('sha256').update(JSON.stringify(r.exploit)).digest('hex'),
    });
  }
}

export async function openSeededStore(config: Config): Promise<Store> {
  const store = await openStore({
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    dataDir: config.dataDir,
  });
  try {
    if ((await store.vulns.count()) === 0) await seed(store);
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}
