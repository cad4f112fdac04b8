// app/root.ts, openGenerationParts: while the store opens, the engine prepares the benign traffic it
// is handed (Engine.prepare); the store and the audit log are both opened, and when one of them
// fails, what the other opened is closed (the data directory's and the audit spool's locks are free
// again) and the store's failure is the one reported.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it, vi } from 'vitest';

import { openGenerationParts } from '../../src/app/root.js';
import { loadConfig } from '../../src/config/index.js';
import type { Engine } from '../../src/generation/types.js';
import { buildRequest, type HttpRequest } from '../../src/requests/model.js';
import { openStore, StoreBusyError } from '../../src/store/index.js';

const root = mkdtempSync(join(tmpdir(), 'wafgen-generation-parts-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const benign: HttpRequest[] = [
  buildRequest({ id: 'b1', method: 'GET', uri: '/home?q=hello', headers: [['Host', 'victim.example']] }),
];
function fakeEngine() {
  return {
    name: 'fake',
    propose: () => Promise.reject(new Error('not asked in these tests')),
    prepare: vi.fn<(benign: readonly HttpRequest[]) => void>(),
  } satisfies Engine;
}
const locked = (dataDir: string) => existsSync(join(dataDir, 'pglite.lock'));

describe('openGenerationParts', () => {
  it('has the engine prepare the benign traffic it is handed, the same array, once', async () => {
    const engine = fakeEngine();
    const parts = await openGenerationParts(loadConfig({}), {
      engine: { engine },
      store: false,
      audit: false,
      benign: Promise.resolve(benign),
    });
    expect(engine.prepare).toHaveBeenCalledTimes(1);
    expect(engine.prepare.mock.calls[0]![0]).toBe(benign);
    await parts.close();
  });

  it('prepares nothing without benign traffic, and leaves a failed load to its caller', async () => {
    const engine = fakeEngine();
    for (const loading of [undefined, Promise.resolve(undefined)]) {
      const parts = await openGenerationParts(loadConfig({}), {
        engine: { engine },
        store: false,
        audit: false,
        ...(loading ? { benign: loading } : {}),
      });
      await parts.close();
    }
    const failed = Promise.reject(new Error('corpus unreadable'));
    const parts = await openGenerationParts(loadConfig({}), {
      engine: { engine },
      store: false,
      audit: false,
      benign: failed,
    });
    // Opened all the same: the failed load is its caller's to report (the CLI does, from the same promise).
    expect(parts.deps.engine).toBe(engine);
    await parts.close();
    expect(engine.prepare).not.toHaveBeenCalled();
  });

  it('closes the store it opened when the audit log cannot open', async () => {
    const dataDir = join(root, 'audit-fails');
    const env = { WAFGEN_DATA_DIR: dataDir, WAFGEN_AUDIT_BATCH_SIZE: '0' };
    await expect(
      openGenerationParts(loadConfig(env), { env, engine: { engine: fakeEngine() } }),
    ).rejects.toThrow(/WAFGEN_AUDIT_BATCH_SIZE/);
    // The store was made and opened beside the failing audit log, then closed: its folder is free.
    expect(existsSync(join(dataDir, 'pglite'))).toBe(true);
    expect(locked(dataDir)).toBe(false);
    const again = await openStore({ dataDir });
    await again.close();
  }, 60_000);

  /**
   * openGenerationParts on a data directory whose store another holder keeps open: what it threw
   * (parts that opened after all are closed, and give undefined).
   */
  async function withBusyStore(name: string, extra: NodeJS.ProcessEnv = {}) {
    const dataDir = join(root, name);
    const holder = await openStore({ dataDir });
    try {
      const env = { WAFGEN_DATA_DIR: dataDir, ...extra };
      const failure = await openGenerationParts(loadConfig(env), {
        env,
        engine: { engine: fakeEngine() },
      }).then(
        async (parts) => {
          await parts.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      return { dataDir, failure };
    } finally {
      await holder.close();
    }
  }

  it('reports the store that cannot open, and closes the audit log opened beside it', async () => {
    const { dataDir, failure } = await withBusyStore('store-busy');
    expect(failure).toBeInstanceOf(StoreBusyError);
    // The audit log did open (its spool folder exists) and was closed: its lock is gone.
    expect(existsSync(join(dataDir, 'audit', 'spool', 'file'))).toBe(true);
    expect(existsSync(join(dataDir, 'audit', 'spool', 'file', 'lock'))).toBe(false);
  }, 60_000);

  it('reports the store, not the audit log, when both fail', async () => {
    const { failure } = await withBusyStore('both-fail', { WAFGEN_AUDIT_BATCH_SIZE: '0' });
    expect(failure).toBeInstanceOf(StoreBusyError);
  }, 60_000);
});
