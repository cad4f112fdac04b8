// Named prepared statements on the local PostgreSQL (src/store/prepared.ts): the store's queries run
// as named statements, read back the same values, survive a column added under a running process,
// and stay unnamed when turned off or past the bound.
import { tmpdir } from 'node:os';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config/index.js';
import { openStore, sqlStoreOptions, type Store } from '../../src/store/index.js';
import { sql } from '../../src/store/kysely.js';
import { isStalePlan } from '../../src/store/errors.js';
import { StatementNames } from '../../src/store/prepared.js';
import { vuln } from './fixtures.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from './support.js';

const adminUrl = await postgresAdminUrl();
const dataDir = tmpdir(); // unused with a DATABASE_URL, required by the options

const rule = (n: number) => ({
  Name: `prepared-${n}`,
  Priority: 1,
  Action: { Block: {} },
  Statement: { ByteMatchStatement: { SearchString: `tok${n}`, PositionalConstraint: 'CONTAINS' } },
  VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'm' },
});

/** The named statements the store's (single) connection holds. */
async function preparedOnConnection(store: Store): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(
    store.db,
  );
  return rows.map((r) => r.name);
}

describe('StatementNames', () => {
  it('names each text by its hash, once, up to its bound, and renews a name', () => {
    const names = new StatementNames(2);
    const a = names.of('select $1');
    expect(a).toMatch(/^wafgen_[0-9a-f]{24}$/);
    expect(names.of('select $1')).toBe(a);
    // Another process (another instance) names the same text the same way.
    expect(new StatementNames(2).of('select $1')).toBe(a);
    const b = names.of('select $1, $2');
    expect(b).toBeDefined();
    expect(b).not.toBe(a);
    expect(names.of('select $1, $2, $3')).toBeUndefined();
    expect(names.size).toBe(2);
    const renewed = names.renew('select $1');
    expect(renewed).toBe(`${a}_1`);
    expect(names.of('select $1')).toBe(renewed);
    expect(names.renew('select $1')).toBe(`${a}_2`);
    expect(names.size).toBe(2);
  });

  it('tells a stale plan from other errors', () => {
    expect(isStalePlan({ code: '0A000', message: 'cached plan must not change result type' })).toBe(true);
    // A server that answers in German: the routine tells it.
    expect(
      isStalePlan({
        code: '0A000',
        routine: 'RevalidateCachedQuery',
        message: 'gecachter Plan darf den Ergebnistyp nicht ändern',
      }),
    ).toBe(true);
    expect(isStalePlan({ code: '0A000', message: 'something else' })).toBe(false);
    expect(isStalePlan({ code: '23505', message: 'cached plan must not change result type' })).toBe(false);
    expect(isStalePlan(undefined)).toBe(false);
  });
});

describe('WAFGEN_PG_PREPARE', () => {
  const url = 'postgres://u@db.example:5432/wafgen';
  it('prepares by default and not with 0; PGlite takes neither', () => {
    expect(sqlStoreOptions(loadConfig({ DATABASE_URL: url, WAFGEN_DATA_DIR: '/d' }))).toEqual({
      databaseUrl: url,
      preparedStatements: true,
      dataDir: '/d',
    });
    expect(
      sqlStoreOptions(loadConfig({ DATABASE_URL: url, WAFGEN_PG_PREPARE: '0', WAFGEN_DATA_DIR: '/d' })),
    ).toMatchObject({ preparedStatements: false });
    expect(sqlStoreOptions(loadConfig({ WAFGEN_DATA_DIR: '/d' }))).toEqual({ dataDir: '/d' });
    expect(() => loadConfig({ WAFGEN_PG_PREPARE: 'maybe' })).toThrow(/WAFGEN_PG_PREPARE/);
  });
});

describe.skipIf(adminUrl === undefined)('prepared statements on PostgreSQL', () => {
  let db: TestDatabase;
  const stores: Store[] = [];
  // One connection, so the session's pg_prepared_statements is the store's.
  const open = async (preparedStatements?: boolean) => {
    const store = await openStore({
      databaseUrl: db.url,
      dataDir,
      poolSize: 1,
      ...(preparedStatements === undefined ? {} : { preparedStatements }),
    });
    stores.push(store);
    return store;
  };

  /** Saves `rule(n)` as the first version of CVE-2021-200n and reads it back: the CVE's id. */
  const saveRule = async (store: Store, n: number): Promise<string> => {
    const cve = `CVE-2021-200${n}`;
    const saved = await store.rules.saveVersion(cve, {
      rule: rule(n),
      inputsHash: `in-${n}`,
      engine: 'builtin',
      report: {},
    });
    expect(saved).toMatchObject({ version: 1, created: true });
    expect(await store.rules.latest(cve)).toMatchObject({
      version: 1,
      rule: rule(n),
      inputsHash: `in-${n}`,
      engine: 'builtin',
    });
    return cve;
  };

  beforeAll(async () => {
    db = await createTestDatabase(adminUrl as string);
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await db?.drop();
  });

  it('runs the repositories as named statements that read back what was written', async () => {
    const store = await open();
    const cve = await saveRule(store, 1);
    const read = async () => {
      const latest = await store.rules.latest(cve);
      expect(latest).toMatchObject({ version: 1, rule: rule(1), inputsHash: 'in-1', engine: 'builtin' });
    };
    const names = await preparedOnConnection(store);
    expect(names.length).toBeGreaterThanOrEqual(2); // at least the read and the insert
    expect(names.every((n) => /^wafgen_[0-9a-f]{24}$/.test(n))).toBe(true);
    // Run again: the same statements, parsed once on this connection.
    for (let i = 0; i < 3; i++) await read();
    expect(await preparedOnConnection(store)).toEqual(names);
    // Values are parsed as without names: bigint as a number, as the pool's type parsers say.
    const { rows } = await sql<{ n: unknown }>`select ${41}::int8 + 1 as n`.execute(store.db);
    expect(rows).toEqual([{ n: 42 }]);
    expect((await preparedOnConnection(store)).length).toBe(names.length + 1);
    expect(await store.rules.latest('CVE-2021-9999')).toBeUndefined();
  });

  it('reads on after a migration adds a column to a table it reads with select *', async () => {
    const store = await open();
    const cve = await saveRule(store, 2);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query('alter table rules add column prepared_test_a text');
      // Outside a transaction: the statement runs again under a new name.
      expect(await store.rules.latest(cve)).toMatchObject({ version: 1, rule: rule(2) });
      // Inside a transaction the error stands (the transaction is aborted), and withRetry runs the
      // transaction again under the new name: an import's merge reads with select ... for update.
      expect((await store.vulns.upsert(vuln('CVE-2021-2102'))).status).toBe('inserted');
      expect((await store.vulns.upsert(vuln('CVE-2021-2102', { description: 'two' }))).status).toBe(
        'updated',
      );
      await admin.query('alter table vulnerabilities add column prepared_test_v text');
      expect((await store.vulns.upsert(vuln('CVE-2021-2102', { description: 'three' }))).status).toBe(
        'updated',
      );
      expect((await store.vulns.get('CVE-2021-2102'))?.description).toBe('three');
    } finally {
      await admin.query('alter table rules drop column if exists prepared_test_a');
      await admin.query('alter table vulnerabilities drop column if exists prepared_test_v');
      await admin.end();
    }
  });

  it('leaves long parameter lists unnamed', async () => {
    const store = await open();
    const before = await preparedOnConnection(store);
    const many = Array.from({ length: 65 }, (_, i) => i);
    const { rows } = await sql<{
      n: number;
    }>`select cardinality(array[${sql.join(many)}]::int[]) as n`.execute(store.db);
    expect(rows).toEqual([{ n: 65 }]);
    expect(await preparedOnConnection(store)).toEqual(before);
  });

  it('names the setting when a statement was lost under it, and parses it anew next time', async () => {
    const store = await open();
    const cve = await saveRule(store, 4);
    // What a pooler that does not keep named statements (or a DISCARD ALL) does to the connection.
    await sql`deallocate all`.execute(store.db);
    await expect(store.rules.latest(cve)).rejects.toThrow(/does not exist.*WAFGEN_PG_PREPARE=0/);
    expect((await store.rules.latest(cve))?.version).toBe(1);
  });

  it('runs every statement unnamed when turned off', async () => {
    const store = await open(false);
    await saveRule(store, 3);
    expect(await preparedOnConnection(store)).toEqual([]);
  });
});
