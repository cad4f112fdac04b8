// Generated rules, versioned per CVE: version n+1 is written only when the rule or the inputs that
// produced it differ from version n. A save reads the latest version and inserts the next in one
// statement; one that races another save of the same CVE loses on the unique (cve_id, version) key
// and is done again under a transaction-level advisory lock on that CVE (serialised, and retried
// should two ever slip past it), so version numbers stay consecutive and unique across processes.
import { createHash } from 'node:crypto';

import { sql, type Kysely, type Selectable } from '../kysely.js';

import { isUniqueViolation, withRetry } from '../errors.js';
import { fromJson, toJsonText } from '../json.js';
import type { Database, RulesTable } from '../schema.js';
import { compact, iso, normalizeId, num } from './common.js';

export interface RuleVersionInput {
  /** The WAFv2 Rule (any JSON value; callers validate it). */
  rule: unknown;
  /** Hash of what produced the rule (record, evidence, engine settings). */
  inputsHash: string;
  engine: string;
  provider?: string;
  model?: string;
  /** The generation report. */
  report: unknown;
}

export interface StoredRule {
  cveId: string;
  version: number;
  rule: unknown;
  inputsHash: string;
  engine: string;
  provider?: string;
  model?: string;
  report: unknown;
  createdAt: string;
}

export interface SavedRule extends StoredRule {
  /** False when nothing changed and this is the latest version as it was. */
  created: boolean;
}

/** Advisory lock namespace ("rule") for the two-key form pg_advisory_xact_lock(int, int). */
const RULES_LOCK_NS = 0x72756c65;

/** The CVE's half of the lock key: 32 bits of its SHA-256. */
function lockKey(cveId: string): number {
  return createHash('sha256').update(cveId).digest().readInt32BE(0);
}

/** A rules row as the store hands it out (also what `wafgen export` writes, with its type). */
export function toStored(row: Selectable<RulesTable>): StoredRule {
  return compact({
    cveId: row.cve_id,
    version: num(row.version),
    rule: fromJson(row.rule),
    inputsHash: row.inputs_hash,
    engine: row.engine,
    provider: row.provider ?? undefined,
    model: row.model ?? undefined,
    report: fromJson(row.report),
    createdAt: iso(row.created_at),
  });
}

export class RuleRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async saveVersion(cveId: string, input: RuleVersionInput): Promise<SavedRule> {
    const id = normalizeId(cveId);
    if (id === '') throw new TypeError('saveVersion needs a CVE id');
    const ruleText = toJsonText(input.rule);
    const reportText = toJsonText(input.report ?? {});
    // One statement: it reads the latest version and inserts the next unless the rule (jsonb
    // equality: key order aside) and its inputs are unchanged, handing back the new row's own
    // columns or the latest row. The new row's rule and report are the JSON just sent, read as a
    // read of the row would (not sent back: the report is the row's largest part).
    const save = async (db: Kysely<Database>): Promise<SavedRule> => {
      const { rows } = await sql<Selectable<RulesTable> & { created: boolean }>`
        with latest as (
          select * from rules where cve_id = ${id} order by version desc limit 1
        ), ins as (
          insert into rules (cve_id, version, rule, inputs_hash, engine, provider, model, report)
          select ${id}, coalesce((select version from latest), 0) + 1, ${ruleText}::jsonb,
            ${input.inputsHash}, ${input.engine}, ${input.provider ?? null}, ${input.model ?? null},
            ${reportText}::jsonb
          where not exists (
            select 1 from latest where inputs_hash = ${input.inputsHash} and rule = ${ruleText}::jsonb
          )
          returning id, cve_id, version, inputs_hash, engine, provider, model, created_at
        )
        select id, cve_id, version, inputs_hash, engine, provider, model, created_at,
          null::jsonb as rule, null::jsonb as report, true as created from ins
        union all
        select id, cve_id, version, inputs_hash, engine, provider, model, created_at,
          rule, report, false as created from latest where not exists (select 1 from ins)
      `.execute(db);
      const row = rows[0];
      if (!row) throw new Error(`saving a rule for ${id} returned no row`);
      const { created, ...stored } = row;
      return created
        ? { ...toStored({ ...stored, rule: JSON.parse(ruleText), report: JSON.parse(reportText) }), created }
        : { ...toStored(stored), created };
    };
    // Without a concurrent save for the CVE (the common case: generation is single-flight per
    // CVE), the statement alone: one round trip. A save that raced another loses on the unique
    // (cve_id, version) key and runs it again under the CVE's advisory lock.
    try {
      return await save(this.db);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    return withRetry(() =>
      this.db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${RULES_LOCK_NS}::int4, ${lockKey(id)}::int4)`.execute(trx);
        return save(trx);
      }),
    );
  }

  async latest(cveId: string): Promise<StoredRule | undefined> {
    const row = await this.db
      .selectFrom('rules')
      .selectAll()
      .where('cve_id', '=', normalizeId(cveId))
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : toStored(row);
  }

  async get(cveId: string, version: number): Promise<StoredRule | undefined> {
    const row = await this.db
      .selectFrom('rules')
      .selectAll()
      .where('cve_id', '=', normalizeId(cveId))
      .where('version', '=', version)
      .executeTakeFirst();
    return row === undefined ? undefined : toStored(row);
  }

  /** Every version of the CVE's rule, oldest first. */
  async versions(cveId: string): Promise<StoredRule[]> {
    const rows = await this.db
      .selectFrom('rules')
      .selectAll()
      .where('cve_id', '=', normalizeId(cveId))
      .orderBy('version')
      .execute();
    return rows.map(toStored);
  }
}
