/**
 * @module Audit events in DynamoDB: one item per event, ids from an atomic counter. Every event is
 * in the all-events index by time; events of a type and events of a CVE have an index of their own
 * (sort key: time, then id), so a list reads the most selective one and filters the rest.
 */
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { compact, normalizeId, page } from '../repositories/common.js';
import type { AuditEvent, AuditEventInput, AuditListOptions } from '../repositories/audit.js';
import type { AuditRepository } from '../types.js';
import { nextId } from './evidence.js';
import { decodePayload, encodePayload, pad, queryBounded } from './table.js';

const ID_WIDTH = 15;

function isoOf(value: string | Date, what: string): string {
  const t = (value instanceof Date ? value : new Date(value)).getTime();
  if (Number.isNaN(t)) throw new TypeError(`audit ${what} is not a date`);
  return new Date(t).toISOString();
}

export class DynamoAuditRepository implements AuditRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    /** Most items one list or filtered count reads (see queryBounded). */
    private readonly maxExamined: number,
  ) {}

  async record(input: AuditEventInput): Promise<AuditEvent> {
    const at = isoOf(input.at ?? new Date(), 'time');
    const id = await nextId(this.doc, this.table, 'audit');
    const event: AuditEvent = compact({
      id,
      at,
      type: input.type,
      requestId: input.requestId,
      cveId: input.cveId === undefined ? undefined : normalizeId(input.cveId),
      principal: input.principal,
      data: JSON.parse(JSON.stringify(input.data ?? {})) as unknown,
    });
    const sort = `${at}#${pad(id, ID_WIDTH)}`;
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: `AUDIT#${pad(id, ID_WIDTH)}`,
          sk: '#',
          g1pk: 'AUDIT',
          g1sk: sort,
          g2pk: `AUDITTYPE#${event.type}`,
          g2sk: sort,
          ...(event.cveId !== undefined ? { g3pk: `AUDITCVE#${event.cveId}`, g3sk: sort } : {}),
          ...(event.requestId !== undefined ? { requestId: event.requestId } : {}),
          ...encodePayload(event, 'audit event'),
        },
      }),
    );
    return event;
  }

  async list(opts: AuditListOptions = {}): Promise<AuditEvent[]> {
    const { limit, offset } = page(opts);
    const [index, p] =
      opts.cveId !== undefined
        ? ['gsi3', `AUDITCVE#${normalizeId(opts.cveId)}`]
        : opts.type !== undefined
          ? ['gsi2', `AUDITTYPE#${opts.type}`]
          : ['gsi1', 'AUDIT'];
    const g = index.replace('gsi', 'g');
    const values: Record<string, unknown> = { ':p': p };
    let range = '';
    const since = opts.since === undefined ? undefined : isoOf(opts.since, 'since');
    const until = opts.until === undefined ? undefined : isoOf(opts.until, 'until');
    // `<at>#<id>` sorts after `<at>`: BETWEEN since AND until keeps at >= since and at < until.
    if (since !== undefined && until !== undefined) {
      range = ` AND ${g}sk BETWEEN :since AND :until`;
      values[':since'] = since;
      values[':until'] = until;
    } else if (since !== undefined) {
      range = ` AND ${g}sk >= :since`;
      values[':since'] = since;
    } else if (until !== undefined) {
      range = ` AND ${g}sk < :until`;
      values[':until'] = until;
    }
    const filters: string[] = [];
    if (opts.type !== undefined && index !== 'gsi2') {
      filters.push('g2pk = :type');
      values[':type'] = `AUDITTYPE#${opts.type}`;
    }
    if (opts.requestId !== undefined) {
      filters.push('requestId = :rid');
      values[':rid'] = opts.requestId;
    }
    if (since !== undefined && until !== undefined && since >= until) return [];
    const items = await queryBounded(
      this.doc,
      {
        TableName: this.table,
        IndexName: index,
        KeyConditionExpression: `${g}pk = :p${range}`,
        ExpressionAttributeValues: values,
        ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
        ScanIndexForward: false,
      },
      offset + limit,
      { maxExamined: this.maxExamined },
    );
    return items.slice(offset).map((item) => compact(decodePayload(item) as AuditEvent));
  }
}
