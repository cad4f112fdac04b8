// Audit events as the store keeps them (the audit sinks forward them to a SIEM).
import type { Kysely, Selectable } from '../kysely.js';

import { decodeNullableText, encodeNullableText, fromJson, toJsonText } from '../json.js';
import type { AuditEventsTable, Database } from '../schema.js';
import { compact, iso, normalizeId, num, page } from './common.js';

export interface AuditEventInput {
  type: string;
  /** Defaults to now. */
  at?: string | Date;
  requestId?: string;
  cveId?: string;
  /** Who acted: an API key id, a user, `cli`. */
  principal?: string;
  data?: unknown;
}

export interface AuditEvent {
  id: number;
  at: string;
  type: string;
  requestId?: string;
  cveId?: string;
  principal?: string;
  data: unknown;
}

export interface AuditListOptions {
  type?: string;
  cveId?: string;
  requestId?: string;
  /** Events at or after this time. */
  since?: string | Date;
  /** Events before this time. */
  until?: string | Date;
  limit?: number;
  offset?: number;
}

function toEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return compact({
    id: num(row.id),
    at: iso(row.at),
    type: row.type,
    requestId: decodeNullableText(row.request_id),
    cveId: row.cve_id ?? undefined,
    principal: decodeNullableText(row.principal),
    data: fromJson(row.data),
  });
}

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async record(event: AuditEventInput): Promise<AuditEvent> {
    const row = await this.db
      .insertInto('audit_events')
      .values({
        ...(event.at === undefined ? {} : { at: event.at }),
        type: event.type,
        request_id: encodeNullableText(event.requestId),
        cve_id: event.cveId === undefined ? null : normalizeId(event.cveId),
        principal: encodeNullableText(event.principal),
        data: toJsonText(event.data ?? {}),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toEvent(row);
  }

  /** Newest first. */
  async list(opts: AuditListOptions = {}): Promise<AuditEvent[]> {
    const { limit, offset } = page(opts);
    let q = this.db.selectFrom('audit_events').selectAll();
    if (opts.type !== undefined) q = q.where('type', '=', opts.type);
    if (opts.cveId !== undefined) q = q.where('cve_id', '=', normalizeId(opts.cveId));
    if (opts.requestId !== undefined) q = q.where('request_id', '=', opts.requestId);
    if (opts.since !== undefined) q = q.where('at', '>=', new Date(opts.since));
    if (opts.until !== undefined) q = q.where('at', '<', new Date(opts.until));
    const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute();
    return rows.map(toEvent);
  }
}
