/**
 * @module The DynamoDB store's one table (see docs/dynamodb.md): its keys and indexes, creating it,
 * the JSON payload codec, bounded queries and the conditional-write helpers the repositories share.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';

import { StoreLimitError } from './errors.js';
import { DynamoUnavailableError } from './unavailable.js';

/** Items read per Query page. */
const PAGE_SIZE = 200;
/** Items examined per COUNT page (a count carries no item data back). */
const COUNT_PAGE_SIZE = 1000;
/** Most items one list or count may examine (read and filter) before it fails rather than run on. */
export const MAX_EXAMINED = 50_000;
/** Most items a count without a filter may examine (COUNT pages carry no item data). */
export const MAX_COUNTED = 2_000_000;
/** Most versions of one CVE's rule, or evidence items of one CVE, read back. */
export const MAX_PER_CVE = 10_000;
/** JSON payloads above this many bytes are stored gzipped. */
const GZIP_ABOVE = 32 * 1024;
/** DynamoDB's item limit is 400 KB; a payload is refused above this, leaving room for the keys. */
const MAX_PAYLOAD_BYTES = 380 * 1024;

const INDEXES = ['gsi1', 'gsi2', 'gsi3'] as const;

export { StoreLimitError } from './errors.js';

/** Creates the table with its indexes unless it exists, and waits until it is active. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (d.Table?.TableStatus === 'ACTIVE') return;
  } catch (error) {
    // Classified as unavailable by the client (unavailable.ts): the cause says the table is missing.
    const cause = error instanceof DynamoUnavailableError ? error.cause : error;
    if (
      !(cause instanceof ResourceNotFoundException) &&
      (cause as Error | undefined)?.name !== 'ResourceNotFoundException'
    )
      throw error;
    const keys = INDEXES.flatMap((i) => [`${i.replace('gsi', 'g')}pk`, `${i.replace('gsi', 'g')}sk`]);
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: ['pk', 'sk', ...keys].map((AttributeName) => ({
            AttributeName,
            AttributeType: 'S',
          })),
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          GlobalSecondaryIndexes: INDEXES.map((IndexName) => {
            const g = IndexName.replace('gsi', 'g');
            return {
              IndexName,
              KeySchema: [
                { AttributeName: `${g}pk`, KeyType: 'HASH' },
                { AttributeName: `${g}sk`, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            };
          }),
        }),
      );
    } catch (e) {
      // Another process created it meanwhile.
      if ((e as Error).name !== 'ResourceInUseException') throw e;
    }
  }
  for (let i = 0; i < 600; i++) {
    const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (
      d.Table?.TableStatus === 'ACTIVE' &&
      d.Table.GlobalSecondaryIndexes?.every((g) => g.IndexStatus === 'ACTIVE')
    )
      return enableTtl(client, tableName);
    await sleep(100);
  }
  throw new Error(`DynamoDB table ${tableName} did not become active`);
}

/**
 * Turns on expiry by `expiresAt` (finished jobs). An endpoint that does not implement it (dynalite,
 * some local emulators answer UnknownOperationException) keeps the table without expiry; a table
 * whose TTL is already on is left as it is.
 */
async function enableTtl(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    );
  } catch (error) {
    const name = (error as Error).name;
    const message = (error as Error).message ?? '';
    if (name === 'UnknownOperationException') return;
    if (name === 'ValidationException' && /already enabled/i.test(message)) return;
    throw error;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A JSON value as item attributes: `d` (JSON text), or `z` (gzipped JSON) when large. */
export function encodePayload(value: unknown, what: string): { d: string } | { z: Uint8Array } {
  const text = JSON.stringify(value ?? null);
  if (Buffer.byteLength(text) <= GZIP_ABOVE) return { d: text };
  const z = gzipSync(text);
  if (z.byteLength > MAX_PAYLOAD_BYTES)
    throw new StoreLimitError(`${what} is too large for the DynamoDB store (${z.byteLength} bytes gzipped)`);
  return { z };
}

export function decodePayload(item: Record<string, unknown>): unknown {
  if (typeof item.d === 'string') return JSON.parse(item.d);
  if (item.z instanceof Uint8Array) return JSON.parse(gunzipSync(item.z).toString('utf8'));
  throw new Error('DynamoDB store item without a payload');
}

/** Whether the error is a failed ConditionExpression (a lost race or a missing/present item). */
export function conditionFailed(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}

/** Runs `attempt` again (short jittered pauses) while it returns `retry`; for optimistic writes. */
export async function optimistic<T>(what: string, attempt: () => Promise<T | typeof RETRY>): Promise<T> {
  for (let i = 1; i <= 200; i++) {
    const out = await attempt();
    if (out !== RETRY) return out;
    await sleep(Math.random() * 4 * Math.min(i, 10));
  }
  throw new Error(`${what}: gave up after 200 conflicting concurrent writes`);
}
export const RETRY: unique symbol = Symbol('retry');

/**
 * Query pages until `want` items passed `keep` (and the query's filter), or none are left. Items
 * examined (read before filtering) are bounded by `maxExamined`: a query that would read more fails
 * with StoreLimitError instead of running on.
 */
export async function queryBounded(
  doc: DynamoDBDocumentClient,
  input: QueryCommandInput,
  want: number,
  opts: { maxExamined?: number } = {},
): Promise<Record<string, unknown>[]> {
  const maxExamined = opts.maxExamined ?? MAX_PER_CVE;
  const out: Record<string, unknown>[] = [];
  let examined = 0;
  let start: Record<string, unknown> | undefined;
  while (out.length < want) {
    const page = await doc.send(
      new QueryCommand({
        ...input,
        Limit: Math.min(PAGE_SIZE, maxExamined),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    examined += page.ScannedCount ?? page.Items?.length ?? 0;
    out.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
    if (start === undefined) break;
    if (examined >= maxExamined && out.length < want)
      throw new StoreLimitError(
        `the query read ${examined} items without finding all it needs; the DynamoDB store reads at most ${maxExamined} per list`,
      );
  }
  return out.slice(0, want);
}

/** How many items a query (with its filter) matches, counting at most `maxExamined`. */
export async function queryCount(
  doc: DynamoDBDocumentClient,
  input: QueryCommandInput,
  maxExamined: number,
): Promise<number> {
  let n = 0;
  let examined = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        ...input,
        Select: 'COUNT',
        Limit: Math.min(COUNT_PAGE_SIZE, maxExamined),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    n += page.Count ?? 0;
    examined += page.ScannedCount ?? 0;
    start = page.LastEvaluatedKey;
    if (start !== undefined && examined >= maxExamined)
      throw new StoreLimitError(
        `counting read more than ${maxExamined} items; the DynamoDB store stops there`,
      );
  } while (start !== undefined);
  return n;
}

/** Runs `f` over `items` with at most `n` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  n: number,
  f: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  return out;
}

/** Zero-padded decimal, so numbers sort as text. */
export const pad = (n: number, width: number) => String(n).padStart(width, '0');
