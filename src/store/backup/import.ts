// `wafgen import --store FILE`: restores a store export, idempotently. Rows already present and
// identical are left alone; rule versions keep their numbers and creation times (a stored version
// with the same number but different content is kept and the line reported); a vulnerability record
// that differs from the stored one is merged the way any import merges it. A bad line is reported
// with its line number and skipped; the rest of the file still loads.
import { createInterface } from 'node:readline';

import { sql } from '../kysely.js';

import { dynamoTables } from '../dynamodb/registry.js';
import type { Store } from '../index.js';
import {
  canonicalJson,
  encodeNullableText,
  encodeText,
  fromJson,
  toJsonText,
  toNullableJsonText,
} from '../json.js';
import { normalizeId } from '../repositories/common.js';
import { vulnerabilityLine } from './export.js';
import {
  FORMAT,
  FORMAT_VERSION,
  HeaderLineSchema,
  ROW_TYPES,
  RowLineSchema,
  type AuditLine,
  type EvidenceLine,
  type HeaderLine,
  type RowLine,
  type RowType,
  type RuleLine,
  type VulnerabilityLine,
} from './format.js';

export class BackupFormatError extends Error {
  override name = 'BackupFormatError';
}

interface ImportCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

interface ImportLineError {
  line: number;
  message: string;
}

export interface ImportSummary {
  header: HeaderLine;
  /** Non-blank lines read, the header included. */
  lines: number;
  counts: Record<RowType, ImportCounts>;
  errors: ImportLineError[];
}

type Outcome = keyof ImportCounts;

class LineProblem extends Error {}

function describeIssues(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  if (!issue) return 'is not a valid line';
  const where = issue.path.map(String).join('.');
  return where ? `${where} ${issue.message}` : issue.message;
}

async function importVulnerability(store: Store, line: VulnerabilityLine): Promise<Outcome> {
  const { type: _t, createdAt, updatedAt, ...record } = line;
  const inserted = await store.db
    .insertInto('vulnerabilities')
    .values({
      id: record.id,
      title: encodeNullableText(record.title),
      description: encodeText(record.description),
      cwes: toJsonText(record.cwes),
      cvss: toNullableJsonText(record.cvss),
      severity: record.severity,
      vendor: encodeNullableText(record.vendor),
      product: encodeNullableText(record.product),
      cpes: toJsonText(record.cpes),
      references: toJsonText(record.references),
      kev: record.kev,
      kev_date_added: encodeNullableText(record.kevDateAdded),
      published: encodeNullableText(record.published),
      modified: encodeNullableText(record.modified),
      source: encodeText(record.source),
      fetched_at: record.fetchedAt,
      tags: toJsonText(record.tags),
      exploit: toNullableJsonText(record.exploit),
      created_at: createdAt,
      updated_at: updatedAt,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return 'inserted';
  const existing = await store.db
    .selectFrom('vulnerabilities')
    .selectAll()
    .where('id', '=', record.id)
    .executeTakeFirstOrThrow();
  const content = (l: VulnerabilityLine) =>
    canonicalJson({ ...l, createdAt: undefined, updatedAt: undefined, fetchedAt: undefined });
  if (content(vulnerabilityLine(existing)) === content(line)) return 'unchanged';
  const { status } = await store.vulns.upsert(record);
  return status;
}

async function importEvidence(store: Store, line: EvidenceLine): Promise<Outcome> {
  const inserted = await store.db
    .insertInto('evidence')
    .values({
      cve_id: line.cveId,
      kind: line.kind,
      source: encodeText(line.source),
      title: encodeNullableText(line.title),
      request: toNullableJsonText(line.request),
      text: encodeNullableText(line.text),
      signature: toNullableJsonText(line.signature),
      extractor: encodeNullableText(line.extractor),
      fetched_at: line.fetchedAt,
      content_hash: line.contentHash,
      created_at: line.createdAt,
    })
    .onConflict((oc) => oc.columns(['cve_id', 'content_hash']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted ? 'inserted' : 'unchanged';
}

async function importRule(store: Store, line: RuleLine): Promise<Outcome> {
  if (line.rule === undefined) throw new LineProblem('rule is required');
  const inserted = await store.db
    .insertInto('rules')
    .values({
      cve_id: line.cveId,
      version: line.version,
      rule: toJsonText(line.rule),
      inputs_hash: line.inputsHash,
      engine: line.engine,
      provider: line.provider ?? null,
      model: line.model ?? null,
      report: toJsonText(line.report ?? {}),
      created_at: line.createdAt,
    })
    .onConflict((oc) => oc.columns(['cve_id', 'version']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return 'inserted';
  const existing = await store.rules.get(line.cveId, line.version);
  const key = (r: { rule: unknown; inputsHash: string; engine: string; provider?: string; model?: string }) =>
    canonicalJson({
      rule: fromJson(JSON.parse(toJsonText(r.rule))),
      inputsHash: r.inputsHash,
      engine: r.engine,
      provider: r.provider,
      model: r.model,
    });
  if (existing && key(existing) === key(line)) return 'unchanged';
  throw new LineProblem(
    `rule ${line.cveId} v${line.version} differs from the stored version ${line.version}; the stored one is kept`,
  );
}

async function importAudit(store: Store, line: AuditLine): Promise<Outcome> {
  const requestId = encodeNullableText(line.requestId);
  const cveId = line.cveId === undefined ? null : normalizeId(line.cveId);
  const principal = encodeNullableText(line.principal);
  const data = toJsonText(line.data ?? {});
  // Exports keep milliseconds; the database may hold microseconds.
  const existing = await store.db
    .selectFrom('audit_events')
    .select('id')
    .where(sql<boolean>`date_trunc('milliseconds', at) = ${line.at}::timestamptz`)
    .where('type', '=', line.eventType)
    .where(sql<boolean>`request_id is not distinct from ${requestId}`)
    .where(sql<boolean>`cve_id is not distinct from ${cveId}`)
    .where(sql<boolean>`principal is not distinct from ${principal}`)
    .where(sql<boolean>`data = ${data}::jsonb`)
    .limit(1)
    .executeTakeFirst();
  if (existing) return 'unchanged';
  await store.db
    .insertInto('audit_events')
    .values({
      at: line.at,
      type: line.eventType,
      request_id: requestId,
      cve_id: cveId,
      principal,
      data,
    })
    .execute();
  return 'inserted';
}

async function importRow(store: Store, line: RowLine): Promise<Outcome> {
  // A DynamoDB store has no SQL: its rows are written as items (src/store/dynamodb/backup.ts).
  const dynamo = dynamoTables.get(store);
  if (dynamo) {
    const [{ DynamoLineProblem, importDynamoRow }, { StoreLimitError }] = await Promise.all([
      import('../dynamodb/backup.js'),
      import('../dynamodb/table.js'),
    ]);
    try {
      return await importDynamoRow(store, dynamo, line);
    } catch (e) {
      throw e instanceof DynamoLineProblem || e instanceof StoreLimitError ? new LineProblem(e.message) : e;
    }
  }
  switch (line.type) {
    case 'vulnerability':
      return importVulnerability(store, line);
    case 'evidence':
      return importEvidence(store, line);
    case 'rule':
      return importRule(store, line);
    case 'audit':
      return importAudit(store, line);
  }
}

export interface ImportOptions {
  /** Called after each line with the count of lines read so far. */
  progress?: (lines: number) => void;
}

/** Reads a store export from `input` into `store`. Throws BackupFormatError when it is not one. */
export async function importStore(
  store: Store,
  input: NodeJS.ReadableStream,
  opts: ImportOptions = {},
): Promise<ImportSummary> {
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const counts = Object.fromEntries(
    ROW_TYPES.map((t) => [t, { inserted: 0, updated: 0, unchanged: 0 }]),
  ) as Record<RowType, ImportCounts>;
  const errors: ImportLineError[] = [];
  let header: HeaderLine | undefined;
  let lineNo = 0;
  let lines = 0;
  try {
    for await (const raw of rl) {
      lineNo++;
      const text = raw.trim();
      if (text === '') continue;
      lines++;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!header) {
        const parsed = HeaderLineSchema.safeParse(json);
        if (!parsed.success)
          throw new BackupFormatError(
            `line ${lineNo}: not a wafgen store export (the first line must be its header: {"type":"header","format":"${FORMAT}",…})`,
          );
        if (parsed.data.formatVersion > FORMAT_VERSION)
          throw new BackupFormatError(
            `line ${lineNo}: export format version ${parsed.data.formatVersion} is newer than this wafgen reads (${FORMAT_VERSION}); upgrade wafgen`,
          );
        header = parsed.data;
        continue;
      }
      if (json === undefined) {
        errors.push({ line: lineNo, message: 'is not valid JSON' });
        continue;
      }
      const parsed = RowLineSchema.safeParse(json);
      if (!parsed.success) {
        const type = (json as { type?: unknown } | null)?.type;
        errors.push({
          line: lineNo,
          message:
            typeof type === 'string' && (ROW_TYPES as readonly string[]).includes(type)
              ? `${type}: ${describeIssues(parsed.error)}`
              : `type must be one of ${ROW_TYPES.join(', ')}`,
        });
        continue;
      }
      try {
        counts[parsed.data.type][await importRow(store, parsed.data)]++;
      } catch (e) {
        if (!(e instanceof LineProblem) && !isDataError(e)) throw e;
        errors.push({ line: lineNo, message: `${parsed.data.type}: ${(e as Error).message}` });
      }
      opts.progress?.(lines);
    }
  } finally {
    rl.close();
  }
  if (!header) throw new BackupFormatError('the file is empty: not a wafgen store export');
  return { header, lines, counts, errors };
}

/** PostgreSQL rejected the values (class 22 data exception, class 23 integrity violation). */
function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^2[23]/.test(code);
}
