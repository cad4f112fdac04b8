// `wafgen export`: the whole store as JSON Lines — a header (format version, wafgen version, counts),
// then every vulnerability record, evidence item, rule version and audit event, in a stable order
// (so exporting an imported export gives the same lines). Read in one repeatable-read transaction,
// so the counts match the lines even while other processes write.
import { once } from 'node:events';

import type { Kysely, Selectable } from '../kysely.js';

import { VERSION } from '../../core/version.js';
import { dynamoTables } from '../dynamodb/registry.js';
import type { Database, Store } from '../index.js';
import { decodeNullableText, fromJson } from '../json.js';
import { compact, iso, num } from '../repositories/common.js';
import { evidenceFields } from '../repositories/evidence.js';
import { toStored } from '../repositories/rules.js';
import { rowFields } from '../repositories/vulns.js';
import type { AuditEventsTable, EvidenceTable, RulesTable, VulnerabilitiesTable } from '../schema.js';
import {
  FORMAT,
  FORMAT_VERSION,
  type AuditLine,
  type EvidenceLine,
  type HeaderLine,
  type RuleLine,
  type VulnerabilityLine,
} from './format.js';

/** Rows read per query. */
const PAGE = 500;

export function vulnerabilityLine(row: Selectable<VulnerabilitiesTable>): VulnerabilityLine {
  return compact({
    type: 'vulnerability',
    ...rowFields(row),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }) as VulnerabilityLine;
}

function evidenceLine(row: Selectable<EvidenceTable>): EvidenceLine {
  return compact({
    type: 'evidence',
    ...evidenceFields(row),
    createdAt: iso(row.created_at),
  }) as EvidenceLine;
}

export function ruleLine(row: Selectable<RulesTable>): RuleLine {
  return { type: 'rule' as const, ...toStored(row) };
}

function auditLine(row: Selectable<AuditEventsTable>): AuditLine {
  return compact({
    type: 'audit' as const,
    at: iso(row.at),
    eventType: row.type,
    requestId: decodeNullableText(row.request_id),
    cveId: row.cve_id ?? undefined,
    principal: decodeNullableText(row.principal),
    data: fromJson(row.data),
  });
}

async function count(db: Kysely<Database>, table: keyof Database): Promise<number> {
  const r = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return num(r.n);
}

export interface ExportOptions {
  /** Header timestamp; default now. */
  now?: () => Date;
}

export interface ExportSummary {
  counts: HeaderLine['counts'];
}

/** Writes the store to `out` as JSON Lines (does not end the stream). */
export async function exportStore(
  store: Pick<Store, 'db'>,
  out: NodeJS.WritableStream,
  opts: ExportOptions = {},
): Promise<ExportSummary> {
  const header = (counts: HeaderLine['counts']): HeaderLine => ({
    type: 'header',
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    wafgenVersion: VERSION,
    exportedAt: (opts.now?.() ?? new Date()).toISOString(),
    counts,
  });
  // A DynamoDB store has no SQL: its export is a scan of its table (src/store/dynamodb/backup.ts).
  const dynamo = dynamoTables.get(store);
  if (dynamo) {
    const { exportDynamo } = await import('../dynamodb/backup.js');
    return { counts: await exportDynamo(dynamo, out, header) };
  }
  let buffer = '';
  const flush = async () => {
    if (buffer === '') return;
    const chunk = buffer;
    buffer = '';
    if (!out.write(chunk)) await once(out, 'drain');
  };
  const emit = async (line: object) => {
    buffer += JSON.stringify(line) + '\n';
    if (buffer.length >= 64 * 1024) await flush();
  };

  const counts = await store.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const counts = {
        vulnerability: await count(trx, 'vulnerabilities'),
        evidence: await count(trx, 'evidence'),
        rule: await count(trx, 'rules'),
        audit: await count(trx, 'audit_events'),
      };
      await emit(header(counts));
      for (let offset = 0; ; offset += PAGE) {
        const rows = await trx
          .selectFrom('vulnerabilities')
          .selectAll()
          .orderBy('id')
          .limit(PAGE)
          .offset(offset)
          .execute();
        for (const r of rows) await emit(vulnerabilityLine(r));
        if (rows.length < PAGE) break;
      }
      for (let offset = 0; ; offset += PAGE) {
        const rows = await trx
          .selectFrom('evidence')
          .selectAll()
          .orderBy('cve_id')
          .orderBy('id')
          .limit(PAGE)
          .offset(offset)
          .execute();
        for (const r of rows) await emit(evidenceLine(r));
        if (rows.length < PAGE) break;
      }
      for (let offset = 0; ; offset += PAGE) {
        const rows = await trx
          .selectFrom('rules')
          .selectAll()
          .orderBy('cve_id')
          .orderBy('version')
          .limit(PAGE)
          .offset(offset)
          .execute();
        for (const r of rows) await emit(ruleLine(r));
        if (rows.length < PAGE) break;
      }
      for (let offset = 0; ; offset += PAGE) {
        const rows = await trx
          .selectFrom('audit_events')
          .selectAll()
          .orderBy('at')
          .orderBy('id')
          .limit(PAGE)
          .offset(offset)
          .execute();
        for (const r of rows) await emit(auditLine(r));
        if (rows.length < PAGE) break;
      }
      return counts;
    });
  await flush();
  return { counts };
}
