// Exploit evidence, one copy per (CVE, content hash).
import type { Insertable, Kysely, Selectable } from '../kysely.js';
import type { z } from 'zod';

import { EvidenceSchema, type Evidence } from '../../vulns/evidence.js';
import {
  decodeNullableText,
  decodeText,
  encodeNullableText,
  encodeText,
  fromJson,
  toNullableJsonText,
} from '../json.js';
import type { Database, EvidenceTable } from '../schema.js';
import { compact, iso, normalizeId, num } from './common.js';

export type EvidenceInput = z.input<typeof EvidenceSchema>;

export interface AddEvidenceResult {
  /** False when the same content was already stored for this CVE. */
  added: boolean;
  id: number;
}

function toRow(e: Evidence): Insertable<EvidenceTable> {
  return {
    cve_id: e.cveId,
    kind: e.kind,
    source: encodeText(e.source),
    title: encodeNullableText(e.title),
    request: toNullableJsonText(e.request),
    text: encodeNullableText(e.text),
    signature: toNullableJsonText(e.signature),
    extractor: encodeNullableText(e.extractor),
    fetched_at: e.fetchedAt,
    content_hash: e.contentHash,
  };
}

/** An evidence row decoded, before validation (also what `wafgen export` writes, with its type). */
export function evidenceFields(row: Selectable<EvidenceTable>) {
  return compact({
    cveId: row.cve_id,
    kind: row.kind,
    source: decodeText(row.source),
    title: decodeNullableText(row.title),
    request: row.request === null ? undefined : fromJson(row.request),
    text: decodeNullableText(row.text),
    signature: row.signature === null ? undefined : fromJson(row.signature),
    extractor: decodeNullableText(row.extractor),
    fetchedAt: iso(row.fetched_at),
    contentHash: row.content_hash,
  });
}

function toEvidence(row: Selectable<EvidenceTable>): Evidence {
  return compact(EvidenceSchema.parse(evidenceFields(row)));
}

export class EvidenceRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Stores the evidence unless the same content hash is already stored for its CVE. */
  async add(input: EvidenceInput): Promise<AddEvidenceResult> {
    const parsed = EvidenceSchema.parse(input);
    const e = { ...parsed, cveId: normalizeId(parsed.cveId) };
    if (Number.isNaN(Date.parse(e.fetchedAt))) throw new TypeError(`evidence fetchedAt is not a date`);
    const inserted = await this.db
      .insertInto('evidence')
      .values(toRow(e))
      .onConflict((oc) => oc.columns(['cve_id', 'content_hash']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted !== undefined) return { added: true, id: num(inserted.id) };
    const existing = await this.db
      .selectFrom('evidence')
      .select('id')
      .where('cve_id', '=', e.cveId)
      .where('content_hash', '=', e.contentHash)
      .executeTakeFirstOrThrow();
    return { added: false, id: num(existing.id) };
  }

  /** The CVE's evidence in the order it was added, optionally of one kind. */
  async forCve(cveId: string, opts: { kind?: Evidence['kind'] } = {}): Promise<Evidence[]> {
    let q = this.db.selectFrom('evidence').selectAll().where('cve_id', '=', normalizeId(cveId));
    if (opts.kind !== undefined) q = q.where('kind', '=', opts.kind);
    const rows = await q.orderBy('id').execute();
    return rows.map(toEvidence);
  }
}
