// app/store-early.ts: a generate's embedded store started on a thread before its configuration is
// read (startStoreAhead), then kept when the configuration names that folder, or given back (closed,
// its lock freed) when it names another folder or store; nothing started where the environment or
// the command line points elsewhere.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

import { disposeStoreAhead, startStoreAhead, startStoreEarly } from '../../src/app/store-early.js';
import { loadConfig } from '../../src/config/index.js';
import { openStore } from '../../src/store/index.js';
import { PgliteThread, takePgliteEarly } from '../../src/store/pglite-thread.js';

const root = mkdtempSync(join(tmpdir(), 'wafgen-store-early-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(async () => {
  vi.restoreAllMocks();
  await disposeStoreAhead();
});

async function made(name: string): Promise<string> {
  const dataDir = join(root, name);
  const store = await openStore({ dataDir });
  await store.close();
  return dataDir;
}
const locked = (dataDir: string) => existsSync(join(dataDir, 'pglite.lock'));

describe('startStoreAhead / startStoreEarly', () => {
  it('kept when the configuration names the folder it started in: no second start', async () => {
    const dataDir = await made('same');
    const start = vi.spyOn(PgliteThread, 'start');
    const env = { WAFGEN_DATA_DIR: dataDir };
    await startStoreAhead(['CVE-2021-44228'], env);
    expect(start).toHaveBeenCalledTimes(1);
    expect(locked(dataDir)).toBe(true);
    const give = await startStoreEarly(loadConfig(env), env);
    expect(start).toHaveBeenCalledTimes(1);
    // The same thread, ready to be taken over by the store.
    const entry = takePgliteEarly(join(dataDir, 'pglite'));
    expect(entry).toBeDefined();
    await entry!.thread.close();
    await entry!.release();
    await give();
    expect(locked(dataDir)).toBe(false);
  }, 60_000);

  it('given back when the configuration names another folder, which then starts instead', async () => {
    const guessed = await made('guessed');
    const configured = await made('configured');
    await startStoreAhead(['CVE-2021-44228'], { WAFGEN_DATA_DIR: guessed });
    expect(locked(guessed)).toBe(true);
    const give = await startStoreEarly(loadConfig({ WAFGEN_DATA_DIR: configured }), {});
    expect(locked(guessed)).toBe(false);
    expect(locked(configured)).toBe(true);
    await give();
    expect(locked(configured)).toBe(false);
  }, 60_000);

  it('given back when the configuration names PostgreSQL', async () => {
    const dataDir = await made('postgres');
    await startStoreAhead(['CVE-2021-44228'], { WAFGEN_DATA_DIR: dataDir });
    expect(locked(dataDir)).toBe(true);
    const env = { WAFGEN_DATA_DIR: dataDir, DATABASE_URL: 'postgres://nowhere.invalid/db' };
    const give = await startStoreEarly(loadConfig(env), env);
    expect(locked(dataDir)).toBe(false);
    await give();
  }, 60_000);

  it('nothing started where the environment or the command line may point elsewhere; given back unused', async () => {
    const dataDir = await made('elsewhere');
    const start = vi.spyOn(PgliteThread, 'start');
    const env = { WAFGEN_DATA_DIR: dataDir };
    for (const [args, extra] of [
      [['CVE-2021-44228'], { DATABASE_URL: 'postgres://x/y' }],
      [['CVE-2021-44228'], { WAFGEN_STORE: 'dynamodb' }],
      [['CVE-2021-44228'], { WAFGEN_SECRETS_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' }],
      [['CVE-2021-44228', '--data-dir', '/elsewhere'], {}],
      [['CVE-2021-44228', '--config=other.json'], {}],
      [['CVE-2021-44228', '--vuln', 'r.json', '--no-save'], {}],
    ] as const)
      await startStoreAhead(args, { ...env, ...extra });
    expect(start).not.toHaveBeenCalled();
    // A folder without a database yet: nothing either (the first run makes it in process).
    await startStoreAhead(['CVE-2021-44228'], { WAFGEN_DATA_DIR: join(root, 'none') });
    expect(start).not.toHaveBeenCalled();
    // Started, and no command took it: given back.
    await startStoreAhead(['CVE-2021-44228'], env);
    expect(locked(dataDir)).toBe(true);
    await disposeStoreAhead();
    expect(locked(dataDir)).toBe(false);
  }, 60_000);
});
