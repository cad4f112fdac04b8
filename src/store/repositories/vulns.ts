// Vulnerability records. Imports from several sources meet here, so upsert merges instead of
// overwriting: KEV status, once known, stays; the record with the newer `modified` date supplies the
// descriptive fields (gaps filled from the other); exploit facts (bundled with wafgen) survive an
// import that has none. Re-importing the same record changes nothing but fetched_at.
import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from '../kysely.js';

import {
  CveIdSchema,
  VulnRecordSchema,
  type Severity,
  type VulnRecord,
  type VulnRecordInput,
} from '../../vulns/model.js';
import { withRetry } from '../errors.js';
import {
  canonicalJson,
  decodeNullableText,
  decodeText,
  encodeNullableText,
  encodeText,
  fromJson,
  toJsonText,
  toNullableJsonText,
} from '../json.js';
import type { Database, VulnerabilitiesTable } from '../schema.js';
import { chunks, compact, containsPattern, distinctCveIds, iso, num, page } from './common.js';

type UpsertStatus = 'inserted' | 'updated' | 'unchanged';

export interface UpsertResult {
  id: string;
  /** `unchanged` when only fetched_at moved (or nothing did). */
  status: UpsertStatus;
  /** The record as stored after the merge. */
  record: VulnRecord;
}

export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface VulnFilter {
  kev?: boolean;
  severity?: Severity | readonly Severity[];
  /** Case-insensitive substring of the id, title, description, vendor or product. */
  search?: string;
}

export interface VulnListOptions extends VulnFilter {
  limit?: number;
  offset?: number;
}

export interface MarkKevResult {
  /** Records that became KEV (or gained their date added). */
  updated: number;
  /** Ids the store has no record for. */
  missing: string[];
}

/** Records per transaction in upsertMany. */
const BATCH = 200;

type Row = Selectable<VulnerabilitiesTable>;

/** Epoch milliseconds of a source date; date-times without a zone (NVD writes them) are UTC. */
function instant(value: string): number | undefined {
  const zoned = /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(value) ? `${value}Z` : value;
  const t = Date.parse(zoned);
  return Number.isNaN(t) ? undefined : t;
}

/** Negative, zero or positive as `a` is older than, as old as, or newer than `b`; absent is oldest. */
function compareDates(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) return (a === undefined ? 0 : 1) - (b === undefined ? 0 : 1);
  const ta = instant(a);
  const tb = instant(b);
  if (ta !== undefined && tb !== undefined) return ta - tb;
  return a < b ? -1 : a > b ? 1 : 0;
}

const nonEmpty = <T>(a: T[], b: T[]): T[] => (a.length > 0 ? a : b);
const union = <T>(a: T[], b: T[]): T[] => [...a, ...b.filter((x) => !a.includes(x))];

/**
 * The record to keep when `incoming` arrives for an `existing` one. Deterministic and idempotent
 * (merging the same incoming record twice gives the same result), and, when the two `modified`
 * dates differ, independent of which of them arrived first.
 */
export function mergeVulnRecords(existing: VulnRecord, incoming: VulnRecord): VulnRecord {
  // The newer record wins; on a tie (or neither dated) the incoming one does.
  const incomingWins = compareDates(incoming.modified, existing.modified) >= 0;
  const [w, l] = incomingWins ? [incoming, existing] : [existing, incoming];
  const kevDates = [existing.kevDateAdded, incoming.kevDateAdded].filter((d) => d !== undefined);
  return compact<VulnRecord>({
    id: existing.id,
    title: w.title ?? l.title,
    description: w.description || l.description,
    cwes: nonEmpty(w.cwes, l.cwes),
    cvss: w.cvss ?? l.cvss,
    severity: w.severity !== 'unknown' ? w.severity : l.severity,
    vendor: w.vendor ?? l.vendor,
    product: w.product ?? l.product,
    cpes: nonEmpty(w.cpes, l.cpes),
    references: union(w.references, l.references),
    kev: existing.kev || incoming.kev,
    // The earliest date the catalog gives is when it was added.
    kevDateAdded: kevDates.sort((a, b) => compareDates(a, b))[0],
    published: w.published ?? l.published,
    modified: w.modified ?? l.modified,
    source: w.source,
    fetchedAt:
      compareDates(incoming.fetchedAt, existing.fetchedAt) > 0 ? incoming.fetchedAt : existing.fetchedAt,
    tags: union(w.tags, l.tags),
    exploit: incoming.exploit ?? existing.exploit,
  });
}

/** Everything but fetchedAt, for "did the content change". */
const contentKey = (r: VulnRecord): string => canonicalJson({ ...r, fetchedAt: undefined });

function toRow(r: VulnRecord): Insertable<VulnerabilitiesTable> {
  return {
    id: r.id,
    title: encodeNullableText(r.title),
    description: encodeText(r.description),
    cwes: toJsonText(r.cwes),
    cvss: toNullableJsonText(r.cvss),
    severity: r.severity,
    vendor: encodeNullableText(r.vendor),
    product: encodeNullableText(r.product),
    cpes: toJsonText(r.cpes),
    references: toJsonText(r.references),
    kev: r.kev,
    kev_date_added: encodeNullableText(r.kevDateAdded),
    published: encodeNullableText(r.published),
    modified: encodeNullableText(r.modified),
    source: encodeText(r.source),
    fetched_at: r.fetchedAt,
    tags: toJsonText(r.tags),
    exploit: toNullableJsonText(r.exploit),
  };
}

/** A row's columns as record fields, decoded but not validated (shared with the store export). */
export function rowFields(row: Selectable<VulnerabilitiesTable>) {
  return compact({
    id: row.id,
    title: decodeNullableText(row.title),
    description: decodeText(row.description),
    cwes: fromJson(row.cwes),
    cvss: row.cvss === null ? undefined : fromJson(row.cvss),
    severity: row.severity,
    vendor: decodeNullableText(row.vendor),
    product: decodeNullableText(row.product),
    cpes: fromJson(row.cpes),
    references: fromJson(row.references),
    kev: row.kev,
    kevDateAdded: decodeNullableText(row.kev_date_added),
    published: decodeNullableText(row.published),
    modified: decodeNullableText(row.modified),
    source: decodeText(row.source),
    fetchedAt: iso(row.fetched_at),
    tags: fromJson(row.tags),
    exploit: row.exploit === null ? undefined : fromJson(row.exploit),
  });
}

function toRecord(row: Row): VulnRecord {
  return vulnFromFields(rowFields(row));
}

/** A stored record's fields validated (shared with the DynamoDB store). */
export function vulnFromFields(fields: unknown): VulnRecord {
  return compact(VulnRecordSchema.parse(fields));
}

/** Parses an incoming record as it will read back (fetchedAt as ISO, no undefined keys). */
/** Inputs normalised, one record per id: duplicates merge in order (as upserting them one by one would). */
export function mergedById(inputs: readonly VulnRecordInput[]): VulnRecord[] {
  const byId = new Map<string, VulnRecord>();
  for (const input of inputs) {
    const r = normalizeVulnInput(input);
    const prev = byId.get(r.id);
    byId.set(r.id, prev === undefined ? r : mergeVulnRecords(prev, r));
  }
  return [...byId.values()];
}

export function normalizeVulnInput(input: VulnRecordInput): VulnRecord {
  const r = VulnRecordSchema.parse(input);
  const t = instant(r.fetchedAt);
  if (t === undefined) throw new TypeError(`${r.id}: fetchedAt ${JSON.stringify(r.fetchedAt)} is not a date`);
  return compact({
    ...r,
    fetchedAt: new Date(t).toISOString(),
    exploit: r.exploit === undefined ? undefined : compact(r.exploit),
  });
}

export class VulnRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async upsert(input: VulnRecordInput): Promise<UpsertResult> {
    const record = normalizeVulnInput(input);
    const [result] = await this.#upsertBatch([record]);
    if (result === undefined) throw new Error(`upsert of ${record.id} returned nothing`);
    return result;
  }

  /** Upserts in batches, one transaction each; duplicates within `inputs` merge in order. */
  async upsertMany(inputs: readonly VulnRecordInput[]): Promise<UpsertCounts> {
    const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
    for (const batch of chunks(mergedById(inputs), BATCH)) {
      for (const r of await this.#upsertBatch(batch)) counts[r.status]++;
    }
    return counts;
  }

  /**
   * One transaction: insert the records that are new, lock the rows of the others (in id order, so
   * two importers cannot deadlock each other), merge and write what changed. A record a concurrent
   * importer inserted meanwhile is found by ON CONFLICT (which waits for that importer to commit) and
   * merged like any existing one.
   */
  async #upsertBatch(records: VulnRecord[]): Promise<UpsertResult[]> {
    const sorted = [...records].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return withRetry(() => this.db.transaction().execute((trx) => upsertSorted(trx, sorted)));
  }

  async get(id: string): Promise<VulnRecord | undefined> {
    const parsed = CveIdSchema.safeParse(id);
    if (!parsed.success) return undefined;
    const row = await this.db
      .selectFrom('vulnerabilities')
      .selectAll()
      .where('id', '=', parsed.data)
      .executeTakeFirst();
    return row === undefined ? undefined : toRecord(row);
  }

  /** Newest CVE first (by year, then sequence number). */
  async list(opts: VulnListOptions = {}): Promise<VulnRecord[]> {
    const { limit, offset } = page(opts);
    const rows = await this.#filtered(opts)
      .selectAll()
      .orderBy('cve_year', 'desc')
      .orderBy('cve_seq', 'desc')
      .limit(limit)
      .offset(offset)
      .execute();
    return rows.map(toRecord);
  }

  /** How many records match the filter (all of them without one). */
  async count(filter: VulnFilter = {}): Promise<number> {
    const row = await this.#filtered(filter)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return num(row.n);
  }

  /** Marks known records as in CISA KEV; an existing date added is kept. */
  async markKev(ids: readonly string[], dateAdded: string): Promise<MarkKevResult> {
    const wanted = distinctCveIds(ids);
    let updated = 0;
    const found = new Set<string>();
    for (const batch of chunks(wanted, 1000)) {
      const rows = await this.db
        .updateTable('vulnerabilities')
        .set({
          kev: true,
          kev_date_added: sql<string>`coalesce(kev_date_added, ${encodeText(dateAdded)})`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', 'in', batch)
        .where((eb) => eb.or([eb('kev', '=', false), eb('kev_date_added', 'is', null)]))
        .returning('id')
        .execute();
      updated += rows.length;
      const present = await this.db
        .selectFrom('vulnerabilities')
        .select('id')
        .where('id', 'in', batch)
        .execute();
      for (const r of present) found.add(r.id);
    }
    return { updated, missing: wanted.filter((id) => !found.has(id)) };
  }

  #filtered(f: VulnFilter) {
    let q = this.db.selectFrom('vulnerabilities');
    if (f.kev !== undefined) q = q.where('kev', '=', f.kev);
    if (f.severity !== undefined) {
      const severities: readonly Severity[] = typeof f.severity === 'string' ? [f.severity] : f.severity;
      // An empty list matches nothing, as `in ()` would if SQL allowed it.
      q = severities.length > 0 ? q.where('severity', 'in', severities) : q.where(sql<boolean>`false`);
    }
    const search = f.search?.trim();
    if (search) {
      const p = containsPattern(search);
      q = q.where((eb) =>
        eb.or([
          eb('id', 'ilike', p),
          eb('title', 'ilike', p),
          eb('description', 'ilike', p),
          eb('vendor', 'ilike', p),
          eb('product', 'ilike', p),
        ]),
      );
    }
    return q;
  }
}

async function upsertSorted(trx: Transaction<Database>, records: VulnRecord[]): Promise<UpsertResult[]> {
  if (records.length === 0) return [];
  const inserted = new Set(
    (
      await trx
        .insertInto('vulnerabilities')
        .values(records.map(toRow))
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute()
    ).map((r) => r.id),
  );
  const results = new Map<string, UpsertResult>();
  for (const r of records)
    if (inserted.has(r.id)) results.set(r.id, { id: r.id, status: 'inserted', record: r });

  const rest = records.filter((r) => !inserted.has(r.id));
  if (rest.length > 0) {
    const rows = await trx
      .selectFrom('vulnerabilities')
      .selectAll()
      .where(
        'id',
        'in',
        rest.map((r) => r.id),
      )
      .orderBy('id')
      .forUpdate()
      .execute();
    const existing = new Map(rows.map((row) => [row.id, toRecord(row)]));
    const touched = new Map<string, string[]>(); // new fetched_at -> ids whose content is unchanged
    for (const incoming of rest) {
      const current = existing.get(incoming.id);
      // Cannot happen inside the transaction (the row conflicted, so it exists and is now locked).
      if (current === undefined) throw new Error(`${incoming.id} vanished during upsert`);
      const merged = mergeVulnRecords(current, incoming);
      if (contentKey(merged) !== contentKey(current)) {
        await trx
          .updateTable('vulnerabilities')
          .set({ ...toRow(merged), updated_at: sql<Date>`now()` })
          .where('id', '=', merged.id)
          .execute();
        results.set(merged.id, { id: merged.id, status: 'updated', record: merged });
      } else {
        if (merged.fetchedAt !== current.fetchedAt) {
          const ids = touched.get(merged.fetchedAt) ?? [];
          ids.push(merged.id);
          touched.set(merged.fetchedAt, ids);
        }
        results.set(merged.id, { id: merged.id, status: 'unchanged', record: merged });
      }
    }
    for (const [fetchedAt, ids] of touched) {
      await trx
        .updateTable('vulnerabilities')
        .set({ fetched_at: fetchedAt })
        .where('id', 'in', ids)
        .where('fetched_at', '<', new Date(fetchedAt))
        .execute();
    }
  }
  return records.map((r) => results.get(r.id)).filter((r) => r !== undefined);
}
