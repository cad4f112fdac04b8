/**
 * @module The DynamoDB store (WAFGEN_STORE=dynamodb): the serverless stack's store, one table (see
 * docs/dynamodb.md) behind the same repository interfaces as PGlite and PostgreSQL.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { StoreUnsupportedError, type Store } from '../db.js';
import { DynamoAuditRepository } from './audit.js';
import { DynamoEvidenceRepository } from './evidence.js';
import { DynamoJobRepository } from './jobs.js';
import { DynamoRuleRepository } from './rules.js';
import { dynamoTables } from './registry.js';
import type { DynamoStoreOptions } from './settings.js';
import { ensureTable, MAX_EXAMINED } from './table.js';
import { reportUnavailable } from './unavailable.js';
import { DynamoVulnRepository } from './vulns.js';

export async function openDynamoStore(opts: DynamoStoreOptions): Promise<Store> {
  const client = new DynamoDBClient({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    maxAttempts: 3,
  });
  reportUnavailable(client, opts.endpoint ?? `https://dynamodb.${opts.region}.amazonaws.com`);
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const table = opts.tableName;
  const ping = async (): Promise<void> => {
    await client.send(new DescribeTableCommand({ TableName: table }));
  };
  try {
    if (opts.createTable) await ensureTable(client, table);
    else await ping();
  } catch (error) {
    client.destroy();
    throw error;
  }
  const maxExamined = opts.maxExamined ?? MAX_EXAMINED;
  let closed = false;
  const store: Store = {
    kind: 'dynamodb',
    get db(): never {
      throw new StoreUnsupportedError('this feature (Store.db)');
    },
    vulns: new DynamoVulnRepository(doc, table, maxExamined),
    evidence: new DynamoEvidenceRepository(doc, table),
    rules: new DynamoRuleRepository(doc, table),
    jobs: new DynamoJobRepository(doc, table, Math.round((opts.jobTtlDays ?? 30) * 86_400), maxExamined),
    audit: new DynamoAuditRepository(doc, table, maxExamined),
    migrated: [],
    ping,
    close: async () => {
      if (closed) return;
      closed = true;
      client.destroy();
    },
  };
  dynamoTables.set(store, { doc, table });
  return store;
}
