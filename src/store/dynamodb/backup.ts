/**
 * @module Store export and import (src/store/backup) on a DynamoDB store. The export is one Scan of
 * the table, page by page, each line written to a temporary file per row type, then the header (its
 * counts are those of the lines, by construction) and the files in the export's order: records,
 * evidence, rule versions, audit events. DynamoDB has no snapshot read: rows written during the scan
 * may or may not be in it. Lines are sorted as the SQL export sorts its rows. The import writes
 * each line as the SQL import does: present and identical is unchanged, a record that differs is
 * merged, a rule version that differs is reported and the stored one kept.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';

import type { Store } from '../db.js';
import { canonicalJson } from '../json.js';
import { compact, normalizeId } from '../repositories/common.js';
import { normalizeVulnInput } from '../repositories/vulns.js';
import type { AuditEvent } from '../repositories/audit.js';
import type { StoredRule } from '../repositories/rules.js';
import type {
  AuditLine,
  EvidenceLine,
  HeaderLine,
  RowType,
  RuleLine,
  VulnerabilityLine,
} from '../backup/format.js';
import { nextId, evidenceKey } from './evidence.js';
import type { DynamoTable } from './registry.js';
import { ruleKey } from './rules.js';
import { conditionFailed, decodePayload, encodePayload, pad } from './table.js';
import { toVulnItem, vulnKey } from './vulns.js';

const ORDER: readonly RowType[] = ['vulnerability', 'evidence', 'rule', 'audit'];
/** Items per Scan page. */
const SCAN_PAGE = 500;

type Item = Record<string, unknown>;

/** An item as an export line, with the key that orders it among its type as the SQL export orders rows; undefined for jobs and counters (not exported, as on the SQL stores). */
function lineOf(item: Item): { type: RowType; sort: string; line: object } | undefined {
  const pk = String(item.pk);
  if (pk.startsWith('VULN#')) {
    const record = decodePayload(item) as { id: string };
    return {
      type: 'vulnerability',
      sort: record.id,
      line: compact({
        type: 'vulnerability',
        ...record,
        createdAt: item.createdAt,
        updatedAt: item.updatedAt,
      }),
    };
  }
  if (pk.startsWith('EVID#'))
    return {
      type: 'evidence',
      sort: `${pk.slice(5)}\u0000${pad(Number(item.id), 15)}`,
      line: compact({ type: 'evidence', ...(decodePayload(item) as object), createdAt: item.createdAt }),
    };
  if (pk.startsWith('RULE#'))
    return {
      type: 'rule',
      sort: `${pk.slice(5)}\u0000${String(item.sk)}`,
      line: { type: 'rule', ...(decodePayload(item) as StoredRule) },
    };
  if (pk.startsWith('AUDIT#')) {
    const e = decodePayload(item) as AuditEvent;
    return {
      type: 'audit',
      sort: `${e.at}\u0000${pad(e.id, 15)}`,
      line: compact({
        type: 'audit',
        at: e.at,
        eventType: e.type,
        requestId: e.requestId,
        cveId: e.cveId,
        principal: e.principal,
        data: e.data,
      }),
    };
  }
  return undefined;
}

async function write(out: NodeJS.WritableStream, text: string | Buffer): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/**
 * Writes the DynamoDB store behind `t` to `out` as a store export, in the SQL export's order
 * (records by id, evidence by CVE and id, rules by CVE and version, audit by time and id); returns
 * the counts. Lines wait in a temporary file per type; memory holds one sort key and offset per line.
 */
export async function exportDynamo(
  t: DynamoTable,
  out: NodeJS.WritableStream,
  header: (counts: HeaderLine['counts']) => HeaderLine,
): Promise<HeaderLine['counts']> {
  const dir = await mkdtemp(join(tmpdir(), 'wafgen-export-'));
  try {
    const files = new Map(
      ORDER.map((type) => [
        type,
        { stream: createWriteStream(join(dir, type)), size: 0, lines: [] as [string, number, number][] },
      ]),
    );
    let start: Item | undefined;
    do {
      const page = await t.doc.send(
        new ScanCommand({
          TableName: t.table,
          Limit: SCAN_PAGE,
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const row = lineOf(item);
        if (row === undefined) continue;
        const f = files.get(row.type)!;
        const bytes = Buffer.from(JSON.stringify(row.line) + '\n');
        f.lines.push([row.sort, f.size, bytes.length]);
        f.size += bytes.length;
        await write(f.stream, bytes);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    for (const f of files.values()) {
      f.stream.end();
      await once(f.stream, 'close');
    }
    const counts = Object.fromEntries(
      ORDER.map((type) => [type, files.get(type)!.lines.length]),
    ) as HeaderLine['counts'];
    await write(out, JSON.stringify(header(counts)) + '\n');
    for (const type of ORDER) {
      const f = files.get(type)!;
      f.lines.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const handle = await open(join(dir, type), 'r');
      try {
        for (const [, position, length] of f.lines) {
          const buffer = Buffer.alloc(length);
          await handle.read(buffer, 0, length, position);
          await write(out, buffer);
        }
      } finally {
        await handle.close();
      }
    }
    return counts;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type Outcome = 'inserted' | 'updated' | 'unchanged';

/** A line the import reports and skips (the message says why). */
export class DynamoLineProblem extends Error {}

async function putNew(t: DynamoTable, item: Item): Promise<boolean> {
  try {
    await t.doc.send(
      new PutCommand({ TableName: t.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    return true;
  } catch (error) {
    if (conditionFailed(error)) return false;
    throw error;
  }
}

async function getItem(t: DynamoTable, key: Item): Promise<Item | undefined> {
  return (await t.doc.send(new GetCommand({ TableName: t.table, Key: key, ConsistentRead: true }))).Item;
}

async function importVulnerability(store: Store, t: DynamoTable, line: VulnerabilityLine): Promise<Outcome> {
  const { type: _t, createdAt, updatedAt, ...fields } = line;
  const record = normalizeVulnInput(fields);
  if (await putNew(t, toVulnItem(record, 1, createdAt, updatedAt))) return 'inserted';
  const existing = await getItem(t, vulnKey(record.id));
  const content = (r: object) => canonicalJson({ ...r, fetchedAt: undefined });
  if (existing && content(decodePayload(existing) as object) === content(record)) return 'unchanged';
  return (await store.vulns.upsert(record)).status;
}

async function importEvidence(t: DynamoTable, line: EvidenceLine): Promise<Outcome> {
  const { type: _t, createdAt, ...evidence } = line;
  const e = { ...evidence, cveId: normalizeId(evidence.cveId) };
  const key = evidenceKey(e.cveId, e.contentHash);
  if (await getItem(t, key)) return 'unchanged';
  const id = await nextId(t.doc, t.table, 'evidence');
  const item = { ...key, id, kind: e.kind, createdAt, ...encodePayload(compact(e), 'evidence') };
  return (await putNew(t, item)) ? 'inserted' : 'unchanged';
}

async function importRule(t: DynamoTable, line: RuleLine): Promise<Outcome> {
  if (line.rule === undefined) throw new DynamoLineProblem('rule is required');
  const { type: _t, ...fields } = line;
  const stored: StoredRule = compact({
    ...fields,
    cveId: normalizeId(fields.cveId),
    report: fields.report ?? {},
  });
  const key = ruleKey(stored.cveId, stored.version);
  const item = {
    ...key,
    version: stored.version,
    createdAt: stored.createdAt,
    ...encodePayload(stored, 'rule'),
  };
  if (await putNew(t, item)) return 'inserted';
  const existing = await getItem(t, key);
  const same = (r: StoredRule) =>
    canonicalJson({
      rule: r.rule,
      inputsHash: r.inputsHash,
      engine: r.engine,
      provider: r.provider,
      model: r.model,
    });
  if (existing && same(decodePayload(existing) as StoredRule) === same(stored)) return 'unchanged';
  throw new DynamoLineProblem(
    `rule ${stored.cveId} v${stored.version} differs from the stored version ${stored.version}; the stored one is kept`,
  );
}

async function importAudit(store: Store, t: DynamoTable, line: AuditLine): Promise<Outcome> {
  const at = new Date(line.at).toISOString();
  const wanted = canonicalJson({
    at,
    type: line.eventType,
    requestId: line.requestId,
    cveId: line.cveId === undefined ? undefined : normalizeId(line.cveId),
    principal: line.principal,
    data: line.data ?? {},
  });
  // Events at the same millisecond: read them all (bounded by what one millisecond holds) and compare.
  let start: Item | undefined;
  do {
    const page = await t.doc.send(
      new QueryCommand({
        TableName: t.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'g1pk = :p AND begins_with(g1sk, :at)',
        ExpressionAttributeValues: { ':p': 'AUDIT', ':at': `${at}#` },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const { id: _id, ...e } = decodePayload(item) as AuditEvent;
      if (canonicalJson(e) === wanted) return 'unchanged';
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  await store.audit.record({
    at,
    type: line.eventType,
    ...(line.requestId !== undefined ? { requestId: line.requestId } : {}),
    ...(line.cveId !== undefined ? { cveId: line.cveId } : {}),
    ...(line.principal !== undefined ? { principal: line.principal } : {}),
    data: line.data ?? {},
  });
  return 'inserted';
}

/** One export line into the DynamoDB store behind `t`. */
export function importDynamoRow(
  store: Store,
  t: DynamoTable,
  line: VulnerabilityLine | EvidenceLine | RuleLine | AuditLine,
): Promise<Outcome> {
  switch (line.type) {
    case 'vulnerability':
      return importVulnerability(store, t, line);
    case 'evidence':
      return importEvidence(t, line);
    case 'rule':
      return importRule(t, line);
    case 'audit':
      return importAudit(store, t, line);
  }
}
