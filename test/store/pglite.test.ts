// The repository suite on embedded PGlite in a temporary data folder, then what only the embedded
// store does, on the same folder once the suite has closed it (a fresh PGlite folder costs seconds of
// initdb): persisting in <dataDir>/pglite and refusing a second opener of the folder.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { openStore, StoreBusyError } from '../../src/store/index.js';
import { defineStoreSuite } from './suite.js';

const root = mkdtempSync(join(tmpdir(), 'wafgen-store-'));
// Not there yet: openStore creates it.
const dataDir = join(root, 'data', 'wafgen');

defineStoreSuite('pglite', {
  open: () => openStore({ dataDir }),
  // Single-process: a peer is the same store (its operations still interleave).
  openPeer: async (store) => store,
  cleanup: async () => {},
});

describe('embedded store (PGlite)', () => {
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('persists in <dataDir>/pglite, has nothing to migrate on reopen, and admits one opener at a time', async () => {
    expect(existsSync(join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);

    const started = performance.now();
    const store = await openStore({ dataDir });
    console.log(`pglite: existing store reopened in ${Math.round(performance.now() - started)} ms`);
    try {
      expect(store.kind).toBe('pglite');
      expect(store.migrated).toEqual([]);
      // Written by the suite, read back after a close and a reopen.
      expect(await store.vulns.get('CVE-2021-0301')).toMatchObject({ kev: true, description: 'newer' });
      expect(await store.rules.versions('CVE-2021-1001')).toHaveLength(3);
      await expect(openStore({ dataDir })).rejects.toThrow(StoreBusyError);
    } finally {
      await store.close();
      await store.close();
    }
    expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);

    // A lock left by a process that died does not keep the store closed.
    writeFileSync(join(dataDir, 'pglite.lock'), '999999999\n');
    const again = await openStore({ dataDir });
    expect(await again.vulns.count({ kev: true })).toBeGreaterThan(0);
    await again.close();
    expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
  }, 60_000);
});
