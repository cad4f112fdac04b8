// Background jobs (generation requests and the like): create, update, read. The queue and the
// service layer build on this.
import { randomUUID } from 'node:crypto';

import { sql, type Kysely, type Selectable, type Updateable } from '../kysely.js';

import { decodeNullableText, encodeNullableText, fromJson, toJsonText, toNullableJsonText } from '../json.js';
import { type Database, type JobStatus, type JobsTable, JOB_STATUSES } from '../schema.js';
import { compact, iso, normalizeId, num, page } from './common.js';

export interface Job {
  id: string;
  kind: string;
  cveId?: string;
  status: JobStatus;
  attempts: number;
  payload: unknown;
  result?: unknown;
  error?: string;
  createdAt: string;
  updatedAt: string;
}

export interface NewJob {
  /** Defaults to a random UUID. */
  id?: string;
  kind: string;
  cveId?: string;
  status?: JobStatus;
  payload?: unknown;
}

export interface JobUpdate {
  status?: JobStatus;
  attempts?: number;
  /** null clears. */
  result?: unknown;
  error?: string | null;
}

export interface JobListOptions {
  status?: JobStatus | readonly JobStatus[];
  kind?: string;
  cveId?: string;
  limit?: number;
  offset?: number;
}

function toJob(row: Selectable<JobsTable>): Job {
  return compact({
    id: row.id,
    kind: row.kind,
    cveId: row.cve_id ?? undefined,
    status: row.status,
    attempts: num(row.attempts),
    payload: fromJson(row.payload),
    result: row.result === null ? undefined : fromJson(row.result),
    error: decodeNullableText(row.error),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  });
}

function checkStatus(status: string | undefined): void {
  if (status !== undefined && !(JOB_STATUSES as readonly string[]).includes(status))
    throw new TypeError(`job status must be one of ${JOB_STATUSES.join(', ')}`);
}

export class JobRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(job: NewJob): Promise<Job> {
    checkStatus(job.status);
    const row = await this.db
      .insertInto('jobs')
      .values({
        id: job.id ?? randomUUID(),
        kind: job.kind,
        cve_id: job.cveId === undefined ? null : normalizeId(job.cveId),
        status: job.status ?? 'queued',
        payload: toJsonText(job.payload ?? {}),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toJob(row);
  }

  async get(id: string): Promise<Job | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toJob(row);
  }

  /** Applies the update and returns the job as it now is, or undefined when there is no such job. */
  async update(id: string, patch: JobUpdate): Promise<Job | undefined> {
    checkStatus(patch.status);
    const set: Updateable<JobsTable> = {};
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.attempts !== undefined) set.attempts = patch.attempts;
    if (patch.result !== undefined) set.result = toNullableJsonText(patch.result);
    if (patch.error !== undefined) set.error = encodeNullableText(patch.error);
    const row = await this.db
      .updateTable('jobs')
      .set({ ...set, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toJob(row);
  }

  /**
   * Marks the job running with this attempt unless it already succeeded, in one statement (a
   * worker's first write per job: a read and an update were two round trips). Returns the job as
   * it now is; a job that had succeeded comes back unchanged; undefined when there is no such job.
   */
  async claim(id: string, attempts: number): Promise<Job | undefined> {
    const row = await this.db
      .updateTable('jobs')
      .set({ status: 'running', attempts, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .where('status', '<>', 'succeeded')
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? this.get(id) : toJob(row);
  }

  /** Newest first. */
  async list(opts: JobListOptions = {}): Promise<Job[]> {
    const { limit, offset } = page(opts);
    let q = this.db.selectFrom('jobs').selectAll();
    if (opts.status !== undefined) {
      const statuses: readonly JobStatus[] = typeof opts.status === 'string' ? [opts.status] : opts.status;
      q = statuses.length > 0 ? q.where('status', 'in', statuses) : q.where(sql<boolean>`false`);
    }
    if (opts.kind !== undefined) q = q.where('kind', '=', opts.kind);
    if (opts.cveId !== undefined) q = q.where('cve_id', '=', normalizeId(opts.cveId));
    const rows = await q.orderBy('created_at', 'desc').orderBy('id').limit(limit).offset(offset).execute();
    return rows.map(toJob);
  }
}
