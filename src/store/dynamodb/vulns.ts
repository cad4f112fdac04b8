/**
 * @module Vulnerability records in DynamoDB: one item per CVE, merged on upsert exactly as the SQL
 * store merges (mergeVulnRecords), written with optimistic concurrency (a `ver` attribute checked by
 * every write), so two importers of one CVE never lose each other's facts.
 */
import { BatchGetCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { CveIdSchema, type Severity, type VulnRecord, type VulnRecordInput } from '../../vulns/model.js';
import { canonicalJson } from '../json.js';
import { chunks, distinctCveIds, page } from '../repositories/common.js';
import {
  mergeVulnRecords,
  mergedById,
  normalizeVulnInput,
  vulnFromFields,
  type MarkKevResult,
  type UpsertCounts,
  type UpsertResult,
  type VulnFilter,
  type VulnListOptions,
} from '../repositories/vulns.js';
import type { VulnRepository } from '../types.js';
import {
  conditionFailed,
  decodePayload,
  encodePayload,
  mapLimit,
  MAX_COUNTED,
  optimistic,
  pad,
  queryBounded,
  queryCount,
  RETRY,
} from './table.js';

/** Writes in flight per upsertMany / markKev. */
const CONCURRENCY = 8;

export const vulnKey = (id: string) => ({ pk: `VULN#${id}`, sk: '#' });

/** Everything but fetchedAt, for "did the content change". */
const contentKey = (r: VulnRecord): string => canonicalJson({ ...r, fetchedAt: undefined });

type Item = Record<string, unknown>;

function searchText(r: VulnRecord): string {
  return [r.id, r.title, r.description, r.vendor, r.product]
    .filter((s): s is string => typeof s === 'string')
    .join('\n')
    .toLowerCase();
}

export function toVulnItem(r: VulnRecord, ver: number, createdAt: string, updatedAt: string): Item {
  const [, year = '0', seq = '0'] = r.id.split('-');
  return {
    ...vulnKey(r.id),
    g1pk: 'VULN',
    // Newest CVE first: by year, then sequence number (CVE-2021-44228 after CVE-2021-9999).
    g1sk: `${pad(Number(year), 4)}#${pad(Number(seq), 12)}#${r.id}`,
    kev: r.kev,
    severity: r.severity,
    search: searchText(r),
    fetchedAt: r.fetchedAt,
    createdAt,
    updatedAt,
    ver,
    ...encodePayload(r, r.id),
  };
}

const fromItem = (item: Item): VulnRecord => vulnFromFields(decodePayload(item));

export class DynamoVulnRepository implements VulnRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    /** Most items one list or filtered count reads (see queryBounded). */
    private readonly maxExamined: number,
  ) {}

  async upsert(input: VulnRecordInput): Promise<UpsertResult> {
    return this.#upsertOne(normalizeVulnInput(input), undefined);
  }

  async upsertMany(inputs: readonly VulnRecordInput[]): Promise<UpsertCounts> {
    const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
    for (const batch of chunks(mergedById(inputs), 100)) {
      const current = await this.#batchGet(batch.map((r) => r.id));
      const results = await mapLimit(batch, CONCURRENCY, (r) =>
        this.#upsertOne(r, current.get(r.id) ?? null),
      );
      for (const r of results) counts[r.status]++;
    }
    return counts;
  }

  /** `prefetched`: the item as read before (null: absent), undefined: read it now. */
  async #upsertOne(record: VulnRecord, prefetched: Item | null | undefined): Promise<UpsertResult> {
    let first = true;
    return optimistic(`upsert of ${record.id}`, async () => {
      const item = first && prefetched !== undefined ? prefetched : await this.#read(record.id);
      first = false;
      const now = new Date().toISOString();
      if (item === null) {
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.table,
              Item: toVulnItem(record, 1, now, now),
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
          return { id: record.id, status: 'inserted' as const, record };
        } catch (error) {
          if (conditionFailed(error)) return RETRY;
          throw error;
        }
      }
      const current = fromItem(item);
      const ver = Number(item.ver);
      const merged = mergeVulnRecords(current, record);
      const changed = contentKey(merged) !== contentKey(current);
      if (!changed && merged.fetchedAt === current.fetchedAt) {
        return { id: record.id, status: 'unchanged' as const, record: merged };
      }
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            // A change of fetched_at alone leaves updatedAt alone.
            Item: toVulnItem(merged, ver + 1, String(item.createdAt), changed ? now : String(item.updatedAt)),
            ConditionExpression: 'ver = :v',
            ExpressionAttributeValues: { ':v': ver },
          }),
        );
      } catch (error) {
        if (conditionFailed(error)) return RETRY;
        throw error;
      }
      return {
        id: record.id,
        status: changed ? ('updated' as const) : ('unchanged' as const),
        record: merged,
      };
    });
  }

  async #read(id: string): Promise<Item | null> {
    const got = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: vulnKey(id), ConsistentRead: true }),
    );
    return got.Item ?? null;
  }

  async #batchGet(ids: readonly string[]): Promise<Map<string, Item>> {
    const out = new Map<string, Item>();
    let keys: Record<string, unknown>[] = ids.map(vulnKey);
    for (let round = 0; keys.length > 0; round++) {
      if (round > 20) throw new Error('DynamoDB left keys unprocessed 20 times in a row');
      const res = await this.doc.send(
        new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of res.Responses?.[this.table] ?? []) out.set(String(item.pk).slice(5), item);
      keys = res.UnprocessedKeys?.[this.table]?.Keys ?? [];
    }
    return out;
  }

  async get(id: string): Promise<VulnRecord | undefined> {
    const parsed = CveIdSchema.safeParse(id);
    if (!parsed.success) return undefined;
    const item = await this.#read(parsed.data);
    return item === null ? undefined : fromItem(item);
  }

  async list(opts: VulnListOptions = {}): Promise<VulnRecord[]> {
    const { limit, offset } = page(opts);
    const q = this.#query(opts);
    if (q === undefined) return [];
    const items = await queryBounded(this.doc, { ...q, ScanIndexForward: false }, offset + limit, {
      maxExamined: this.maxExamined,
    });
    return items.slice(offset).map(fromItem);
  }

  async count(filter: VulnFilter = {}): Promise<number> {
    const q = this.#query(filter);
    if (q === undefined) return 0;
    return queryCount(this.doc, q, q.FilterExpression === undefined ? MAX_COUNTED : this.maxExamined);
  }

  async markKev(ids: readonly string[], dateAdded: string): Promise<MarkKevResult> {
    const wanted = distinctCveIds(ids);
    const outcomes = await mapLimit(wanted, CONCURRENCY, (id) =>
      optimistic(`markKev of ${id}`, async () => {
        const item = await this.#read(id);
        if (item === null) return 'missing' as const;
        const current = fromItem(item);
        if (current.kev && current.kevDateAdded !== undefined) return 'unchanged' as const;
        const next: VulnRecord = { ...current, kev: true, kevDateAdded: current.kevDateAdded ?? dateAdded };
        const ver = Number(item.ver);
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.table,
              Item: toVulnItem(next, ver + 1, String(item.createdAt), new Date().toISOString()),
              ConditionExpression: 'ver = :v',
              ExpressionAttributeValues: { ':v': ver },
            }),
          );
          return 'updated' as const;
        } catch (error) {
          if (conditionFailed(error)) return RETRY;
          throw error;
        }
      }),
    );
    return {
      updated: outcomes.filter((o) => o === 'updated').length,
      missing: wanted.filter((_, i) => outcomes[i] === 'missing'),
    };
  }

  /** The index query for a filter; undefined when it can match nothing (an empty severity list). */
  #query(f: VulnFilter) {
    const filters: string[] = [];
    const values: Record<string, unknown> = { ':p': 'VULN' };
    const names: Record<string, string> = {};
    if (f.kev !== undefined) {
      filters.push('kev = :kev');
      values[':kev'] = f.kev;
    }
    if (f.severity !== undefined) {
      const severities: readonly Severity[] = typeof f.severity === 'string' ? [f.severity] : f.severity;
      if (severities.length === 0) return undefined;
      filters.push(`severity IN (${severities.map((_, i) => `:s${i}`).join(', ')})`);
      severities.forEach((s, i) => (values[`:s${i}`] = s));
    }
    const search = f.search?.trim();
    if (search) {
      filters.push('contains(#search, :q)');
      names['#search'] = 'search';
      values[':q'] = search.toLowerCase();
    }
    return {
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'g1pk = :p',
      ExpressionAttributeValues: values,
      ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
      ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
    };
  }
}
