/**
 * @module Background jobs in DynamoDB: one item per job id. Creating a job is a put on condition
 * that the id is free (idempotent job ids: a second create fails as a unique violation); updates are
 * conditional on the job existing; a claim is conditional on the job not having succeeded. Lists
 * read the index that fits the filter (by CVE, by status, or all jobs by creation time). A finished
 * job gets an `expiresAt` for DynamoDB's TTL when a retention is configured.
 */
import { randomUUID } from 'node:crypto';

import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { compact, normalizeId, page } from '../repositories/common.js';
import type { Job, JobListOptions, JobUpdate, NewJob } from '../repositories/jobs.js';
import { JOB_STATUSES, type JobStatus } from '../schema.js';
import { DuplicateKeyError } from '../errors.js';
import type { JobRepository } from '../types.js';
import { conditionFailed, queryBounded } from './table.js';

const key = (id: string) => ({ pk: `JOB#${id}`, sk: '#' });
const FINISHED: readonly JobStatus[] = ['succeeded', 'failed', 'dead'];
/** Longest job id and kind accepted (ids are keys; DynamoDB caps a partition key at 2048 bytes). */
const MAX_ID = 512;

function checkStatus(status: string | undefined): void {
  if (status !== undefined && !(JOB_STATUSES as readonly string[]).includes(status))
    throw new TypeError(`job status must be one of ${JOB_STATUSES.join(', ')}`);
}

type Item = Record<string, unknown>;

function toJob(item: Item): Job {
  return compact({
    id: String(item.id),
    kind: String(item.kind),
    cveId: typeof item.cveId === 'string' ? item.cveId : undefined,
    status: item.status as JobStatus,
    attempts: Number(item.attempts),
    payload: JSON.parse(String(item.pay)) as unknown,
    result: typeof item.res === 'string' ? (JSON.parse(item.res) as unknown) : undefined,
    error: typeof item.err === 'string' ? (JSON.parse(item.err) as string) : undefined,
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
  });
}

export class DynamoJobRepository implements JobRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    /** Seconds a finished job is kept (0: for ever). */
    private readonly ttlS: number,
    /** Most items one list reads (see queryBounded). */
    private readonly maxExamined: number,
  ) {}

  #expiresAt(status: JobStatus): number | undefined {
    return this.ttlS > 0 && FINISHED.includes(status) ? Math.floor(Date.now() / 1000) + this.ttlS : undefined;
  }

  async create(job: NewJob): Promise<Job> {
    checkStatus(job.status);
    const id = job.id ?? randomUUID();
    if (id === '' || id.length > MAX_ID || job.kind.length > MAX_ID)
      throw new TypeError(`job id and kind must be 1-${MAX_ID} characters`);
    const now = new Date().toISOString();
    const status = job.status ?? 'queued';
    const cveId = job.cveId === undefined ? undefined : normalizeId(job.cveId);
    const sort = `${now}#${id}`;
    const expiresAt = this.#expiresAt(status);
    const item: Item = {
      ...key(id),
      id,
      kind: job.kind,
      status,
      attempts: 0,
      pay: JSON.stringify(job.payload ?? {}),
      createdAt: now,
      updatedAt: now,
      g1pk: 'JOB',
      g1sk: sort,
      g2pk: `JOBSTATE#${status}`,
      g2sk: sort,
      ...(cveId !== undefined ? { cveId, g3pk: `JOBCVE#${cveId}`, g3sk: sort } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (conditionFailed(error)) throw new DuplicateKeyError(`job ${id} exists already`);
      throw error;
    }
    return toJob(item);
  }

  async get(id: string): Promise<Job | undefined> {
    if (id === '' || id.length > MAX_ID) return undefined;
    const res = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: key(id), ConsistentRead: true }),
    );
    return res.Item === undefined ? undefined : toJob(res.Item);
  }

  async update(id: string, patch: JobUpdate): Promise<Job | undefined> {
    checkStatus(patch.status);
    if (id === '' || id.length > MAX_ID) return undefined;
    const set = ['updatedAt = :now'];
    const remove: string[] = [];
    const values: Item = { ':now': new Date().toISOString() };
    if (patch.status !== undefined) {
      set.push('#status = :status', 'g2pk = :g2pk');
      values[':status'] = patch.status;
      values[':g2pk'] = `JOBSTATE#${patch.status}`;
      const expiresAt = this.#expiresAt(patch.status);
      if (expiresAt === undefined) remove.push('expiresAt');
      else {
        set.push('expiresAt = :exp');
        values[':exp'] = expiresAt;
      }
    }
    if (patch.attempts !== undefined) {
      set.push('attempts = :attempts');
      values[':attempts'] = patch.attempts;
    }
    if (patch.result !== undefined) {
      if (patch.result === null) remove.push('res');
      else {
        set.push('res = :res');
        values[':res'] = JSON.stringify(patch.result);
      }
    }
    if (patch.error !== undefined) {
      if (patch.error === null) remove.push('err');
      else {
        set.push('err = :err');
        values[':err'] = JSON.stringify(patch.error);
      }
    }
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(id),
          UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_exists(pk)',
          ...(patch.status !== undefined ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return res.Attributes === undefined ? undefined : toJob(res.Attributes);
    } catch (error) {
      if (conditionFailed(error)) return undefined;
      throw error;
    }
  }

  async claim(id: string, attempts: number): Promise<Job | undefined> {
    if (id === '' || id.length > MAX_ID) return undefined;
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(id),
          UpdateExpression:
            'SET #status = :running, g2pk = :g2pk, attempts = :a, updatedAt = :now REMOVE expiresAt',
          ConditionExpression: 'attribute_exists(pk) AND #status <> :succeeded',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':g2pk': 'JOBSTATE#running',
            ':a': attempts,
            ':now': new Date().toISOString(),
            ':succeeded': 'succeeded',
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return res.Attributes === undefined ? undefined : toJob(res.Attributes);
    } catch (error) {
      if (conditionFailed(error)) return this.get(id);
      throw error;
    }
  }

  async list(opts: JobListOptions = {}): Promise<Job[]> {
    const { limit, offset } = page(opts);
    const want = offset + limit;
    const statuses: readonly JobStatus[] | undefined =
      opts.status === undefined ? undefined : typeof opts.status === 'string' ? [opts.status] : opts.status;
    if (statuses?.length === 0) return [];
    const filters: string[] = [];
    const values: Item = {};
    if (opts.kind !== undefined) {
      filters.push('kind = :kind');
      values[':kind'] = opts.kind;
    }
    const base = { TableName: this.table, ScanIndexForward: false };
    let queries: Item[];
    if (opts.cveId !== undefined || statuses === undefined) {
      if (statuses !== undefined) {
        filters.push(`#status IN (${statuses.map((_, i) => `:s${i}`).join(', ')})`);
        statuses.forEach((s, i) => (values[`:s${i}`] = s));
      }
      const [index, p] =
        opts.cveId !== undefined ? ['gsi3', `JOBCVE#${normalizeId(opts.cveId)}`] : ['gsi1', 'JOB'];
      const g = index.replace('gsi', 'g');
      queries = await queryBounded(
        this.doc,
        {
          ...base,
          IndexName: index,
          KeyConditionExpression: `${g}pk = :p`,
          ExpressionAttributeValues: { ...values, ':p': p },
          ...(statuses !== undefined ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
          ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
        },
        want,
        { maxExamined: this.maxExamined },
      );
    } else {
      const per = await Promise.all(
        [...new Set(statuses)].map((s) =>
          queryBounded(
            this.doc,
            {
              ...base,
              IndexName: 'gsi2',
              KeyConditionExpression: 'g2pk = :p',
              ExpressionAttributeValues: { ...values, ':p': `JOBSTATE#${s}` },
              ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
            },
            want,
            { maxExamined: this.maxExamined },
          ),
        ),
      );
      queries = per.flat();
    }
    return queries
      .map(toJob)
      .sort((a, b) =>
        a.createdAt !== b.createdAt
          ? a.createdAt < b.createdAt
            ? 1
            : -1
          : a.id < b.id
            ? -1
            : a.id > b.id
              ? 1
              : 0,
      )
      .slice(offset, want);
  }
}
