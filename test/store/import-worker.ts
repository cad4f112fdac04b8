// A child process for postgres.test.ts: opens the store named by DATABASE_URL and imports one
// version of the contested CVE together with a fleet of others, then prints what it did as JSON.
// Usage: node --import tsx test/store/import-worker.ts <bundled|nvd> <start-at epoch ms>
import { tmpdir } from 'node:os';

import { openStore } from '../../src/store/index.js';
import { contestedBundled, contestedNvd, fleet } from './fixtures.js';

const [variant, startAt] = process.argv.slice(2);
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl || (variant !== 'bundled' && variant !== 'nvd')) {
  console.error('usage: DATABASE_URL=... import-worker.ts <bundled|nvd> <start-at>');
  process.exit(2);
}
const wait = Number(startAt) - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));

const store = await openStore({ databaseUrl, dataDir: tmpdir(), poolSize: 4 });
try {
  const mine = variant === 'bundled' ? contestedBundled : contestedNvd;
  // Opposite orders over the same ids: the importers meet on the same rows from both ends.
  const batch = variant === 'bundled' ? [...fleet, mine] : [mine, ...[...fleet].reverse()];
  const counts = await store.vulns.upsertMany(batch);
  for (let i = 0; i < 5; i++) await store.vulns.upsert(mine);
  process.stdout.write(JSON.stringify({ migrated: store.migrated, counts }));
} finally {
  await store.close();
}
