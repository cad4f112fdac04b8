// The embedded store with PGlite on a thread of its own (store/pglite-thread.ts), as a short command
// opens it: the whole repository suite through the thread (rows, dates, JSON, SQLSTATE errors,
// transactions), then what only the thread adds: a start ahead of the open that the open takes over
// with the folder's lock, a start nobody took over given back, a clean close that a later opener
// in process reads, and errors from the thread as the store's callers know them.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { sql } from 'kysely';
import { afterAll, describe, expect, it, vi } from 'vitest';

import { isUniqueViolation, openStore, StoreBusyError } from '../../src/store/index.js';
import { PgliteThread, startPgliteEarly, takePgliteEarly } from '../../src/store/pglite-thread.js';
import { defineStoreSuite } from './suite.js';

const root = mkdtempSync(join(tmpdir(), 'wafgen-pglite-thread-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A data folder whose PGlite folder exists (made in process from the template, then closed). */
async function madeDataDir(name: string): Promise<string> {
  const dataDir = join(root, name);
  const made = await openStore({ dataDir });
  await made.close();
  return dataDir;
}

const suiteDir = join(root, 'suite');
defineStoreSuite('pglite on a thread', {
  open: async () => {
    // A fresh database (initdb, nothing migrated): the thread's open applies every migration.
    const made = await openStore({ dataDir: suiteDir, pgliteTemplate: false, migrate: false });
    await made.close();
    const start = vi.spyOn(PgliteThread, 'start');
    try {
      const store = await openStore({ dataDir: suiteDir, pgliteThread: true });
      // On a thread: the store's queries go to the one it started.
      expect(start).toHaveBeenCalledTimes(1);
      expect(store.kind).toBe('pglite');
      return store;
    } finally {
      start.mockRestore();
    }
  },
  openPeer: async (store) => store,
  cleanup: async () => {},
});

describe('PGlite on a thread', () => {
  it('a new folder is made in process (the first run keeps its memory); an existing one opens on the thread', async () => {
    const dataDir = join(root, 'new');
    // No database there yet: nothing starts ahead, and the open makes it in process.
    const start = vi.spyOn(PgliteThread, 'start');
    expect(await startPgliteEarly(dataDir)).toBeUndefined();
    const first = await openStore({ dataDir, seeded: true, pgliteThread: true });
    expect(start).not.toHaveBeenCalled();
    start.mockRestore();
    expect(await first.vulns.count({})).toBeGreaterThan(50);
    await first.close();
    const give = await startPgliteEarly(dataDir);
    expect(give).toBeTypeOf('function');
    const entry = takePgliteEarly(join(dataDir, 'pglite'));
    expect(entry?.thread).toBeInstanceOf(PgliteThread);
    await entry!.thread.ready;
    await entry!.thread.close();
    await entry!.release();
    // Taken over, so the disposer has nothing left to do.
    await give!();
    expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
  }, 60_000);

  it('started ahead, the open takes it over with the lock; closed, an opener in process reads what it wrote', async () => {
    const dataDir = await madeDataDir('early');
    const give = await startPgliteEarly(dataDir);
    expect(give).toBeDefined();
    // The thread holds the folder's lock from the start: an opener in process is refused.
    await expect(openStore({ dataDir })).rejects.toThrow(StoreBusyError);
    const start = vi.spyOn(PgliteThread, 'start');
    const store = await openStore({ dataDir, pgliteThread: true });
    // The thread started ahead was taken over: none started anew, none left to take.
    expect(start).not.toHaveBeenCalled();
    start.mockRestore();
    expect(takePgliteEarly(join(dataDir, 'pglite'))).toBeUndefined();
    try {
      await store.rules.saveVersion('CVE-2099-7001', {
        rule: { Name: 'r', Priority: 0 },
        inputsHash: 'h1',
        report: { verdict: 'proven' },
        engine: 'builtin@test',
      });
      expect(await store.rules.versions('CVE-2099-7001')).toHaveLength(1);
      // A SQLSTATE crosses with its code: a duplicate key is known as one.
      const insert = () =>
        store.jobs.create({ id: 'thread-job', kind: 'generate', cveId: 'CVE-2099-7001', payload: {} });
      await insert();
      const duplicate = await insert().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(duplicate).toBeInstanceOf(Error);
      expect(isUniqueViolation(duplicate)).toBe(true);
      expect((duplicate as Error).message).toMatch(/duplicate key/);
      // A transaction that fails is rolled back on the thread's single connection.
      await expect(
        store.db.transaction().execute(async (tx) => {
          await sql`create table thread_tx (x int)`.execute(tx);
          throw new Error('abandon');
        }),
      ).rejects.toThrow('abandon');
      const rows = await sql<{ t: string | null }>`select to_regclass('thread_tx')::text as t`.execute(
        store.db,
      );
      expect(rows.rows[0]?.t).toBeNull();
    } finally {
      await store.close();
    }
    expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
    // The command's end: the store closed the thread already, so its disposer has nothing left.
    await give!();
    // Closed cleanly: an opener in process finds the rule the thread saved.
    const again = await openStore({ dataDir });
    try {
      const versions = await again.rules.versions('CVE-2099-7001');
      expect(versions).toHaveLength(1);
      expect(versions[0]).toMatchObject({ engine: 'builtin@test' });
    } finally {
      await again.close();
    }
  }, 60_000);

  it('a start nobody took over is given back: the thread closed, the folder free', async () => {
    const dataDir = await madeDataDir('unused');
    const give = await startPgliteEarly(dataDir);
    expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(true);
    // A second start for the same folder in this process starts nothing.
    expect(await startPgliteEarly(dataDir)).toBeUndefined();
    await give!();
    await give!();
    expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
    const store = await openStore({ dataDir });
    expect(store.migrated).toEqual([]);
    await store.close();
  }, 60_000);

  it('a folder PGlite cannot open fails the open with its error, and frees the folder', async () => {
    const dataDir = await madeDataDir('broken');
    rmSync(join(dataDir, 'pglite', 'global'), { recursive: true, force: true });
    const start = vi.spyOn(PgliteThread, 'start');
    try {
      await expect(openStore({ dataDir, pgliteThread: true })).rejects.toThrow(
        /Aborted|PGlite|initiali[sz]e/i,
      );
      expect(start).toHaveBeenCalledTimes(1);
    } finally {
      start.mockRestore();
    }
    expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
  }, 60_000);

  it('taken over and never closed (a command that failed with its store open), the disposer still ends the thread', async () => {
    const dataDir = await madeDataDir('abandoned');
    const give = await startPgliteEarly(dataDir);
    const store = await openStore({ dataDir, pgliteThread: true });
    await store.ping();
    await give!();
    // The thread is gone: the store's queries fail instead of waiting, and its close still works.
    await expect(store.vulns.count({})).rejects.toThrow(/closed|exited/);
    await store.close();
    expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
  }, 60_000);
});
