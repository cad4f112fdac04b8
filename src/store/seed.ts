// The bundled vulnerability records, with their exploit facts as evidence, loaded into a new store
// so `wafgen list` and `wafgen info` work offline on a fresh clone. The installed template (see
// template.ts) is built seeded, so a new data directory usually starts with them already there.
import { createHash } from 'node:crypto';

import { loadBundled } from '../vulns/bundled.js';
import type { Store } from './db.js';

const BUNDLED_SOURCE = 'wafgen bundled dataset (data/vulns.bundled.jsonl)';

export async function seedBundled(store: Store): Promise<void> {
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

/** Seeds a store that holds no vulnerability record yet. */
export async function seedIfEmpty(store: Store): Promise<void> {
  // One record read, not a count: a count reads every record on DynamoDB.
  if ((await store.vulns.list({ limit: 1 })).length === 0) await seedBundled(store);
}
