/**
 * @module Versioned rules in DynamoDB: one item per (CVE, version), the version zero-padded in the
 * sort key so the latest is the first item of a descending query. A save reads the latest and puts
 * version n+1 on condition that no item has that key: of two concurrent saves one wins, the other
 * reads again and either finds its rule already there or takes n+2. Versions stay consecutive and
 * unique without locks.
 */
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { canonicalJson } from '../json.js';
import { compact, normalizeId } from '../repositories/common.js';
import type { RuleVersionInput, SavedRule, StoredRule } from '../repositories/rules.js';
import type { RuleRepository } from '../types.js';
import {
  conditionFailed,
  decodePayload,
  encodePayload,
  MAX_PER_CVE,
  optimistic,
  pad,
  queryBounded,
  RETRY,
} from './table.js';

const VERSION_WIDTH = 10;
const partition = (cveId: string) => `RULE#${cveId}`;
export const ruleKey = (cveId: string, version: number) => ({
  pk: partition(cveId),
  sk: `V#${pad(version, VERSION_WIDTH)}`,
});

/** A JSON value as it reads back (undefined members dropped). */
const asStored = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null)) as unknown;

const fromItem = (item: Record<string, unknown>): StoredRule => compact(decodePayload(item) as StoredRule);

export class DynamoRuleRepository implements RuleRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async saveVersion(cveId: string, input: RuleVersionInput): Promise<SavedRule> {
    const id = normalizeId(cveId);
    if (id === '') throw new TypeError('saveVersion needs a CVE id');
    const rule = asStored(input.rule);
    const ruleText = canonicalJson(rule);
    return optimistic(`saveVersion of ${id}`, async () => {
      const latest = await this.#latest(id);
      if (
        latest !== undefined &&
        latest.inputsHash === input.inputsHash &&
        canonicalJson(latest.rule) === ruleText
      )
        return { ...latest, created: false };
      const version = (latest?.version ?? 0) + 1;
      const stored: StoredRule = compact({
        cveId: id,
        version,
        rule,
        inputsHash: input.inputsHash,
        engine: input.engine,
        provider: input.provider,
        model: input.model,
        report: asStored(input.report ?? {}),
        createdAt: new Date().toISOString(),
      });
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              ...ruleKey(id, version),
              version,
              createdAt: stored.createdAt,
              ...encodePayload(stored, `${id} rule`),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        if (conditionFailed(error)) return RETRY;
        throw error;
      }
      return { ...stored, created: true };
    });
  }

  async #latest(id: string): Promise<StoredRule | undefined> {
    const res = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':p': partition(id), ':v': 'V#' },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = res.Items?.[0];
    return item === undefined ? undefined : fromItem(item);
  }

  latest(cveId: string): Promise<StoredRule | undefined> {
    return this.#latest(normalizeId(cveId));
  }

  async get(cveId: string, version: number): Promise<StoredRule | undefined> {
    if (!Number.isSafeInteger(version) || version < 1 || version >= 10 ** VERSION_WIDTH) return undefined;
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: ruleKey(normalizeId(cveId), version),
        ConsistentRead: true,
      }),
    );
    return res.Item === undefined ? undefined : fromItem(res.Item);
  }

  async versions(cveId: string): Promise<StoredRule[]> {
    const items = await queryBounded(
      this.doc,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':p': partition(normalizeId(cveId)), ':v': 'V#' },
        ConsistentRead: true,
      },
      MAX_PER_CVE,
      { maxExamined: MAX_PER_CVE },
    );
    return items.map(fromItem);
  }
}
