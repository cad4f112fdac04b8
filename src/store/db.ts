// Opening the store: embedded PGlite in <dataDir>/pglite by default, PostgreSQL when a DATABASE_URL
// is given. Both speak the same SQL (PGlite is PostgreSQL compiled to WASM); the repositories write
// only SQL that both accept. Migrations run at open.
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import v8 from 'node:v8';

import type { PGlite as PGliteClient } from '@electric-sql/pglite';
import type { Config } from '../config/index.js';
import { Kysely, PGliteDialect, PostgresDialect, sql } from './kysely.js';

import { lockDataDir } from './lock.js';
import { prepareStatements, StatementNames } from './prepared.js';
import { PGLITE_START_PARAMS, startPgliteEarly, takePgliteEarly } from './pglite-thread.js';
import { migrateToLatest } from './migrator.js';
import { copyPgliteTemplate, seededTemplate } from './template.js';
import { AuditRepository as SqlAuditRepository } from './repositories/audit.js';
import { EvidenceRepository as SqlEvidenceRepository } from './repositories/evidence.js';
import { JobRepository as SqlJobRepository } from './repositories/jobs.js';
import { RuleRepository as SqlRuleRepository } from './repositories/rules.js';
import { VulnRepository as SqlVulnRepository } from './repositories/vulns.js';
import type { Database } from './schema.js';
import type {
  AuditRepository,
  EvidenceRepository,
  JobRepository,
  RuleRepository,
  VulnRepository,
} from './types.js';
import type { DynamoStoreOptions } from './dynamodb/settings.js';

export interface StoreOptions {
  /** A postgres:// URL: use that PostgreSQL database. Without one, PGlite in `<dataDir>/pglite`. */
  databaseUrl?: string;
  /** Use DynamoDB (the serverless stack's store) instead of SQL; databaseUrl and the PGlite options are then ignored. */
  dynamodb?: DynamoStoreOptions;
  /** wafgen's data folder (config `dataDir`); created when missing. */
  dataDir: string;
  /** Apply pending migrations at open (default true). */
  migrate?: boolean;
  /** PostgreSQL connection pool size (default 10). */
  poolSize?: number;
  /** How long a PostgreSQL connection may take to open, in ms (default 10,000). */
  connectTimeoutMs?: number;
  /** Run PostgreSQL queries as named prepared statements (default true; prepared.ts says why). */
  preparedStatements?: boolean;
  /** The template folder a new PGlite folder starts from (default: the installed one); false: run initdb. */
  pgliteTemplate?: string | false;
  /**
   * A new PGlite folder may start with the bundled records in it (the seeded template beside
   * `pgliteTemplate`), sparing the caller the seeding; default false: a new store is empty.
   */
  seeded?: boolean;
  /**
   * Run PGlite on a thread of its own when its folder exists (pglite-thread.ts), taking over the one
   * `startPgliteEarly` started for it. For short commands with work to overlap; default false.
   */
  pgliteThread?: boolean;
}

export interface Store {
  readonly kind: 'pglite' | 'postgres' | 'dynamodb';
  /**
   * The typed query builder, for what the repositories do not cover (stats, coverage, backup).
   * SQL stores only: on a DynamoDB store reading it throws {@link StoreUnsupportedError}.
   */
  readonly db: Kysely<Database>;
  readonly vulns: VulnRepository;
  readonly evidence: EvidenceRepository;
  readonly rules: RuleRepository;
  readonly jobs: JobRepository;
  readonly audit: AuditRepository;
  /** Migrations this open applied (empty when the schema was current). */
  readonly migrated: readonly string[];
  /** One cheap round trip to the backend (the readiness check); rejects when it cannot answer. */
  ping(): Promise<void>;
  /** Closes the connections (and, for PGlite, the database). Safe to call twice. */
  close(): Promise<void>;
}

export { StoreBusyError } from './lock.js';

/** A feature that needs SQL (Store.db) was used on a DynamoDB store. */
export class StoreUnsupportedError extends Error {
  override name = 'StoreUnsupportedError';
  constructor(what: string) {
    super(`${what} needs a SQL store (PGlite or PostgreSQL); the DynamoDB store does not offer it`);
  }
}

async function pgliteKysely(
  dataDir: string,
  templateFile: string | false | undefined,
  seeded: boolean,
  thread: boolean,
): Promise<{ db: Kysely<Database>; release: () => Promise<void> }> {
  const dir = join(dataDir, 'pglite');
  if (thread) {
    // The thread started ahead of this open (app/store-early.ts), else one started now; none for a
    // folder without a database (made in process below) or one that is busy (refused below).
    const started =
      takePgliteEarly(dir) ?? ((await startPgliteEarly(dataDir)) ? takePgliteEarly(dir) : undefined);
    if (started) {
      try {
        const dialect = new PGliteDialect(started.thread as unknown as PGliteClient);
        return { db: new Kysely<Database>({ dialect }), release: started.release };
      } catch (error) {
        await started.thread.close().catch(() => {});
        await started.release();
        throw error;
      }
    }
  }
  await mkdir(dataDir, { recursive: true });
  const release = await lockDataDir(dir);
  try {
    // PostgreSQL in WASM is compiled by V8 twice: at once by Liftoff, then again by TurboFan in the
    // background. For wafgen's few small queries the second compile is pure cost: with Liftoff only,
    // opening the store took 1.0 s instead of 1.6 s of CPU and 132 MB instead of 176 MB of RSS
    // (PGlite.create + one query on a seeded folder, 2-core machine). The flag only concerns
    // WebAssembly, and PGlite is the only WebAssembly wafgen runs.
    v8.setFlagsFromString('--liftoff-only');
    const { PGlite } = await import('@electric-sql/pglite');
    // A new folder starts from the installed template (migrated, and seeded when asked; seconds
    // faster than initdb) when there is one. A folder without PG_VERSION holds no database: it is
    // made anew.
    if (!(await stat(join(dir, 'PG_VERSION')).catch(() => undefined))) {
      await rm(dir, { recursive: true, force: true });
      const copied =
        templateFile !== false &&
        ((seeded && (await copyPgliteTemplate(dir, seededTemplate(templateFile)))) ||
          (await copyPgliteTemplate(dir, templateFile)));
      if (!copied) await mkdir(dir, { recursive: true });
    }
    const pglite = await PGlite.create(dir, {
      // PostgreSQL's default shared_buffers (128 MB) is zeroed at start inside the WASM heap: 130 MB
      // of RSS and ~0.6 s for a store that holds a few MB. 16 MB: open 1,316 -> 905 ms, RSS after
      // open 292 -> 181 MB (PGlite.create + one query); 8 MB: peak RSS of a first `wafgen generate`
      // 220 -> 190 MB (/usr/bin/time, 2-core machine). Reads that miss are served by the OS cache.
      startParams: [...PGlite.defaultStartParams, ...PGLITE_START_PARAMS],
    });
    return { db: new Kysely<Database>({ dialect: new PGliteDialect(pglite) }), release };
  } catch (error) {
    await release();
    throw error;
  }
}

async function postgresKysely(
  url: string,
  poolSize: number,
  connectTimeoutMs: number,
  prepared: boolean,
): Promise<Kysely<Database>> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // Without it a port that accepts connections but is not PostgreSQL (or a host that drops
    // packets) holds a command for ever; the timeout is reported as "cannot reach PostgreSQL".
    connectionTimeoutMillis: connectTimeoutMs,
    // bigint/bigserial as numbers, as PGlite reads them (ids and counts stay far below 2^53).
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 && format !== 'binary'
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // A connection dropped by the server must not crash the process; the query on it (or the next one)
  // reports it. The pool's 'error' covers idle connections only: one in use when PostgreSQL dies
  // (a restart, a fail-over) emits on its client, which had no listener (an uncaught exception that
  // stopped `wafgen serve`; test/security/attack.test.ts cuts PostgreSQL under a running server).
  pool.on('error', () => {});
  const names = prepared ? new StatementNames() : undefined;
  pool.on('connect', (client) => {
    client.on('error', () => {});
    if (names) prepareStatements(client, names);
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** The options the configuration gives a SQL store: PostgreSQL with DATABASE_URL, else PGlite in the data folder. */
export function sqlStoreOptions(
  config: Pick<Config, 'DATABASE_URL' | 'WAFGEN_PG_PREPARE' | 'dataDir'>,
): Pick<StoreOptions, 'databaseUrl' | 'preparedStatements' | 'dataDir'> {
  return {
    ...(config.DATABASE_URL
      ? { databaseUrl: config.DATABASE_URL, preparedStatements: config.WAFGEN_PG_PREPARE }
      : {}),
    dataDir: config.dataDir,
  };
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  if (opts.dynamodb) {
    const { openDynamoStore } = await import('./dynamodb/index.js');
    return openDynamoStore(opts.dynamodb);
  }
  const kind = opts.databaseUrl ? 'postgres' : 'pglite';
  let db: Kysely<Database>;
  let release = async (): Promise<void> => {};
  if (opts.databaseUrl) {
    db = await postgresKysely(
      opts.databaseUrl,
      opts.poolSize ?? 10,
      opts.connectTimeoutMs ?? 10_000,
      opts.preparedStatements !== false,
    );
  } else {
    ({ db, release } = await pgliteKysely(
      opts.dataDir,
      opts.pgliteTemplate,
      opts.seeded === true,
      opts.pgliteThread === true,
    ));
  }
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      try {
        await db.destroy();
      } finally {
        await release();
      }
    })());
  try {
    const migrated = opts.migrate === false ? [] : await migrateToLatest(db);
    return {
      kind,
      db,
      vulns: new SqlVulnRepository(db) satisfies VulnRepository,
      evidence: new SqlEvidenceRepository(db) satisfies EvidenceRepository,
      rules: new SqlRuleRepository(db) satisfies RuleRepository,
      jobs: new SqlJobRepository(db) satisfies JobRepository,
      audit: new SqlAuditRepository(db) satisfies AuditRepository,
      migrated,
      ping: async () => {
        await sql`select 1`.execute(db);
      },
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}
