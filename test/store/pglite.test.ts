// The repository suite on embedded PGlite in a temporary data folder, then what only the embedded
// store does, on the same folder once the suite has closed it (a fresh PGlite folder costs seconds of
// initdb): persisting in <dataDir>/pglite and refusing a second opener of the folder.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { KNOWN_MIGRATIONS, openStore, StoreBusyError } from '../../src/store/index.js';
import { buildPgliteTemplate, pgliteTemplateUsable } from '../../src/store/template.js';
import { findBundled, loadBundled } from '../../src/vulns/bundled.js';
import { defineStoreSuite } from './suite.js';

const root = mkdtempSync(join(tmpdir(), 'wafgen-store-'));
// Not there yet: openStore creates it.
const dataDir = join(root, 'data', 'wafgen');

defineStoreSuite('pglite', {
  // initdb and every migration on a fresh folder (the template path is tested below).
  open: () => openStore({ dataDir, pgliteTemplate: false }),
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

describe('a new PGlite folder from the template', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wafgen-template-'));
  const template = join(dir, 'template');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts migrated from the template (seeded when asked), or runs initdb and migrates without one', async () => {
    await buildPgliteTemplate(template);
    const fromTemplate = await openStore({ dataDir: join(dir, 'a'), pgliteTemplate: template });
    try {
      // Nothing left to migrate: the schema came with the template, and it works; a new store is empty.
      expect(fromTemplate.migrated).toEqual([]);
      expect(await fromTemplate.vulns.count()).toBe(0);
      expect(await fromTemplate.rules.versions('CVE-2021-44228')).toEqual([]);
    } finally {
      await fromTemplate.close();
    }
    const seeded = await openStore({ dataDir: join(dir, 's'), pgliteTemplate: template, seeded: true });
    try {
      // The seeded template holds the bundled records, with their exploit facts as evidence.
      expect(seeded.migrated).toEqual([]);
      expect(await seeded.vulns.count()).toBe(loadBundled().length);
      expect((await seeded.vulns.get('CVE-2021-44228'))?.title).toBe(findBundled('CVE-2021-44228')?.title);
      expect((await seeded.evidence.forCve('CVE-2021-44228')).map((e) => e.extractor)).toEqual(['bundled']);
      await seeded.rules.saveVersion('CVE-2021-44228', {
        rule: { Name: 'r' },
        inputsHash: 'h',
        engine: 'builtin',
        report: {},
      });
    } finally {
      await seeded.close();
    }
    // What was written there stays there: the folder is a database of its own, not the template.
    const reopened = await openStore({ dataDir: join(dir, 's'), pgliteTemplate: template, seeded: true });
    try {
      expect((await reopened.rules.versions('CVE-2021-44228')).length).toBe(1);
    } finally {
      await reopened.close();
    }
    const withoutTemplate = await openStore({ dataDir: join(dir, 'b'), pgliteTemplate: false });
    try {
      expect(withoutTemplate.migrated).toEqual([...KNOWN_MIGRATIONS]);
      expect(await withoutTemplate.vulns.count()).toBe(0);
    } finally {
      await withoutTemplate.close();
    }
    // A template made for another PGlite, schema or bundled data is not used.
    expect(await pgliteTemplateUsable(template)).toBe(true);
    const key = JSON.parse(readFileSync(`${template}.json`, 'utf8')) as Record<string, unknown>;
    writeFileSync(`${template}.json`, JSON.stringify({ ...key, bundled: 'another dataset' }));
    expect(await pgliteTemplateUsable(template)).toBe(false);
    writeFileSync(`${template}.json`, JSON.stringify({ ...key, pglite: '0.0.0' }));
    expect(await pgliteTemplateUsable(template)).toBe(false);
    const fallback = await openStore({ dataDir: join(dir, 'c'), pgliteTemplate: template });
    try {
      expect(fallback.migrated).toEqual([...KNOWN_MIGRATIONS]);
    } finally {
      await fallback.close();
    }
  }, 120_000);
});
