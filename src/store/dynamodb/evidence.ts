/**
 * @module Exploit evidence in DynamoDB: one item per (CVE, content hash), so the key itself keeps
 * one copy (a conditional put); ids come from an atomic counter and give the order of addition.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { EvidenceSchema, type Evidence } from '../../vulns/evidence.js';
import { compact, normalizeId } from '../repositories/common.js';
import type { AddEvidenceResult, EvidenceInput } from '../repositories/evidence.js';
import type { EvidenceRepository } from '../types.js';
import { conditionFailed, decodePayload, encodePayload, MAX_PER_CVE, queryBounded } from './table.js';

/** The next value of a named counter (1, 2, ...): one atomic update. */
export async function nextId(doc: DynamoDBDocumentClient, table: string, name: string): Promise<number> {
  const res = await doc.send(
    new UpdateCommand({
      TableName: table,
      Key: { pk: 'COUNTER', sk: name },
      UpdateExpression: 'ADD n :one',
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(res.Attributes?.n);
}

export const evidenceKey = (cveId: string, hash: string) => ({ pk: `EVID#${cveId}`, sk: `H#${hash}` });

export class DynamoEvidenceRepository implements EvidenceRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async add(input: EvidenceInput): Promise<AddEvidenceResult> {
    const parsed = EvidenceSchema.parse(input);
    const t = Date.parse(parsed.fetchedAt);
    if (Number.isNaN(t)) throw new TypeError(`evidence fetchedAt is not a date`);
    const e: Evidence = compact({
      ...parsed,
      cveId: normalizeId(parsed.cveId),
      fetchedAt: new Date(t).toISOString(),
    });
    const k = evidenceKey(e.cveId, e.contentHash);
    const existing = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: k, ConsistentRead: true }),
    );
    if (existing.Item) return { added: false, id: Number(existing.Item.id) };
    const id = await nextId(this.doc, this.table, 'evidence');
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...k,
            id,
            kind: e.kind,
            createdAt: new Date().toISOString(),
            ...encodePayload(e, 'evidence'),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { added: true, id };
    } catch (error) {
      if (!conditionFailed(error)) throw error;
    }
    // Added by a concurrent writer between the read and the put: that copy stands.
    const raced = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: k, ConsistentRead: true }),
    );
    return { added: false, id: Number(raced.Item?.id) };
  }

  async forCve(cveId: string, opts: { kind?: Evidence['kind'] } = {}): Promise<Evidence[]> {
    const items = await queryBounded(
      this.doc,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :h)',
        ExpressionAttributeValues: {
          ':p': `EVID#${normalizeId(cveId)}`,
          ':h': 'H#',
          ...(opts.kind !== undefined ? { ':k': opts.kind } : {}),
        },
        ...(opts.kind !== undefined ? { FilterExpression: 'kind = :k' } : {}),
        ConsistentRead: true,
      },
      MAX_PER_CVE,
      { maxExamined: MAX_PER_CVE },
    );
    return items
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map((item) => compact(EvidenceSchema.parse(decodePayload(item))));
  }
}
