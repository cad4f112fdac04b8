// Versioned migrations, run when a store opens. Safe to run again (applied ones are recorded in
// wafgen_migrations) and from several processes at once: the whole run, including creating the
// bookkeeping tables, happens under one session advisory lock on one connection, so a second process
// waits and then finds nothing left to do. PGlite has a single connection, so the lock is free there.
import { Migrator, sql, type Kysely } from './kysely.js';

import { MIGRATIONS } from './migrations/index.js';

const MIGRATION_TABLE = 'wafgen_migrations';
const MIGRATION_LOCK_TABLE = 'wafgen_migrations_lock';
/** Advisory lock key ("wafg"), distinct from the per-CVE keys the repositories take. */
const MIGRATION_LOCK_KEY = 0x77616667;

class MigrationError extends Error {
  constructor(
    readonly migration: string | undefined,
    cause: unknown,
  ) {
    const what = migration === undefined ? 'store migrations' : `store migration ${migration}`;
    super(`${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Whether every known migration is recorded: one query, no lock (a store that is current needs no more). */
async function upToDate<DB>(db: Kysely<DB>): Promise<boolean> {
  try {
    const applied = new Set(await appliedMigrations(db));
    return KNOWN_MIGRATIONS.every((m) => applied.has(m));
  } catch {
    return false; // no bookkeeping table yet: a new database
  }
}

/** Applies pending migrations; returns the names of those this call applied. */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<string[]> {
  // Every command opens the store, and Kysely's migrator costs several statements and a lock even
  // when nothing is pending (about 0.3 s of a PGlite open on a 2-core machine): ask first.
  if (await upToDate(db)) return [];
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(conn);
    let failed = true;
    try {
      const migrator = new Migrator({
        db: conn,
        provider: { getMigrations: async () => ({ ...MIGRATIONS }) },
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: MIGRATION_LOCK_TABLE,
      });
      const { error, results = [] } = await migrator.migrateToLatest();
      if (error !== undefined) {
        throw new MigrationError(results.find((r) => r.status === 'Error')?.migrationName, error);
      }
      failed = false;
      return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
    } finally {
      // A failed unlock must not hide the error that brought us here; the lock ends with the session.
      await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_KEY)})`
        .execute(conn)
        .catch((e: unknown) => {
          if (!failed) throw e;
        });
    }
  });
}

/** Names of the migrations the database has applied, in order. */
export async function appliedMigrations<DB>(db: Kysely<DB>): Promise<string[]> {
  const { rows } = await sql<{
    name: string;
  }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(db);
  return rows.map((r) => r.name);
}

export const KNOWN_MIGRATIONS: readonly string[] = Object.keys(MIGRATIONS).sort();
