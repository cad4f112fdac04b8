// The repository suite on the local PostgreSQL server, in a fresh database, plus what only a shared
// server allows: several processes migrating and importing at once.
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { appliedMigrations, KNOWN_MIGRATIONS, openStore } from '../../src/store/index.js';
import { postgresUnavailable } from '../../src/store/errors.js';
import { REPO_ROOT } from '../support/shared.js';
import { contestedMerged, fleet } from './fixtures.js';
import { defineStoreSuite } from './suite.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from './support.js';

const adminUrl = await postgresAdminUrl();
const dataDir = tmpdir(); // unused with a DATABASE_URL, required by the options

let suiteDb: TestDatabase | undefined;
defineStoreSuite(
  'postgres',
  adminUrl === undefined
    ? undefined
    : {
        open: async () => {
          suiteDb = await createTestDatabase(adminUrl);
          return openStore({ databaseUrl: suiteDb.url, dataDir });
        },
        openPeer: () => openStore({ databaseUrl: (suiteDb as TestDatabase).url, dataDir }),
        cleanup: async () => suiteDb?.drop(),
      },
);

const WORKER = fileURLToPath(new URL('./import-worker.ts', import.meta.url));

interface WorkerOutput {
  migrated: string[];
  counts: { inserted: number; updated: number; unchanged: number };
}

function runWorker(databaseUrl: string, variant: 'bundled' | 'nvd', startAt: number): Promise<WorkerOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, variant, String(startAt)], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`import worker (${variant}) exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out) as WorkerOutput);
      } catch {
        reject(new Error(`import worker (${variant}) printed ${JSON.stringify(out)}; stderr: ${err}`));
      }
    });
  });
}

describe.skipIf(adminUrl === undefined)('PostgreSQL store shared by processes', () => {
  const dbs: TestDatabase[] = [];
  const fresh = async () => {
    const db = await createTestDatabase(adminUrl as string);
    dbs.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  }, 60_000);

  it('two stores opening a fresh database at once migrate it exactly once', async () => {
    const db = await fresh();
    const stores = await Promise.all([
      openStore({ databaseUrl: db.url, dataDir }),
      openStore({ databaseUrl: db.url, dataDir }),
      openStore({ databaseUrl: db.url, dataDir }),
    ]);
    try {
      const applied = stores.map((s) => s.migrated);
      expect(applied.filter((m) => m.length > 0)).toEqual([KNOWN_MIGRATIONS]);
      expect(applied.filter((m) => m.length === 0)).toHaveLength(2);
      expect(await appliedMigrations(stores[0]!.db)).toEqual(KNOWN_MIGRATIONS);
      expect(stores.every((s) => s.kind === 'postgres')).toBe(true);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('two processes importing the same CVE at once leave exactly one consistent record', async () => {
    const db = await fresh();
    // Both start importing at the same moment (after their start-up), on a database neither has migrated.
    const startAt = Date.now() + 4000;
    const [bundled, nvd] = await Promise.all([
      runWorker(db.url, 'bundled', startAt),
      runWorker(db.url, 'nvd', startAt),
    ]);
    expect([bundled.migrated, nvd.migrated].filter((m) => m.length > 0)).toEqual([KNOWN_MIGRATIONS]);
    // Every fleet record was inserted by exactly one of them.
    expect(bundled.counts.inserted + nvd.counts.inserted).toBe(fleet.length + 1);

    const store = await openStore({ databaseUrl: db.url, dataDir });
    try {
      expect(await store.vulns.count()).toBe(fleet.length + 1);
      const rows = await store.db
        .selectFrom('vulnerabilities')
        .select('id')
        .where('id', 'ilike', 'cve-2023-46604')
        .execute();
      expect(rows).toHaveLength(1);
      expect(await store.vulns.get('CVE-2023-46604')).toMatchObject(contestedMerged);
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe('opening a PostgreSQL store', () => {
  it('fails with the connection error, and leaves nothing open, when the server is unreachable', async () => {
    await expect(
      openStore({ databaseUrl: 'postgres://postgres@127.0.0.1:1/wafgen', dataDir }),
    ).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});

describe('a DATABASE_URL that accepts connections but never answers', () => {
  it('gives up after the connect timeout, reported as PostgreSQL that cannot be reached', async () => {
    // A port that takes the connection and says nothing (a firewall that drops packets, another
    // service): without a connect timeout the command waited for ever.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const url = `postgres://wafgen:s3cret@127.0.0.1:${port}/wafgen`;
    try {
      const error = await openStore({ databaseUrl: url, dataDir, connectTimeoutMs: 300 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      const mapped = postgresUnavailable(error, url);
      expect(mapped?.message).toMatch(
        new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port} \\(connection timed out\\)`),
      );
      expect(mapped?.message).not.toContain('s3cret');
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});
