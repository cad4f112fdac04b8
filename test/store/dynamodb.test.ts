// The repository suite on DynamoDB (dynalite on a loopback port, the table created once by the first
// store), then what only the DynamoDB store does: settings from the environment, the TTL of
// finished jobs, large payloads, the SQL-only parts refusing clearly, an unreachable endpoint.
import { randomBytes } from 'node:crypto';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { backendUnavailable } from '../../src/app/backends.js';
import { ConfigError } from '../../src/config/index.js';
import {
  DynamoUnavailableError,
  dynamoSettingsFromEnv,
  isUniqueViolation,
  openStore,
  StoreLimitError,
  StoreUnsupportedError,
  type Store,
} from '../../src/store/index.js';
import { vuln } from './fixtures.js';
import { deadPort } from '../support/net.js';
import { startDynalite, type LocalDynamo } from './dynalite.js';
import { defineStoreSuite } from './suite.js';

const local = await startDynalite();
const suiteOptions = local.options();
const raw = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    region: 'us-east-1',
    endpoint: local.endpoint,
    credentials: suiteOptions.credentials!,
  }),
);
const rawItem = async (tableName: string, pk: string, sk = '#') =>
  (await raw.send(new GetCommand({ TableName: tableName, Key: { pk, sk } }))).Item;

defineStoreSuite('dynamodb', {
  open: () => openStore({ dataDir: '/nonexistent', dynamodb: suiteOptions }),
  // Another client onto the same table, as a second Lambda would hold; the table exists by now.
  openPeer: () => openStore({ dataDir: '/nonexistent', dynamodb: { ...suiteOptions, createTable: false } }),
  cleanup: async () => {},
  timestamps: async (_store, id) => {
    const item = await rawItem(suiteOptions.tableName, `VULN#${id}`);
    return { updated: Date.parse(String(item?.updatedAt)), fetched: Date.parse(String(item?.fetchedAt)) };
  },
});

describe('DynamoDB store', () => {
  let store: Store;
  let options: ReturnType<LocalDynamo['options']>;
  beforeAll(async () => {
    options = { ...local.options(), jobTtlDays: 7 };
    store = await openStore({ dataDir: '/nonexistent', dynamodb: options });
  });
  afterAll(async () => {
    await store?.close();
    raw.destroy();
    await local.close();
  });

  it('is chosen by WAFGEN_STORE=dynamodb, with the table prefix, endpoint and region from the environment', () => {
    expect(dynamoSettingsFromEnv({})).toBeUndefined();
    expect(dynamoSettingsFromEnv({ WAFGEN_STORE: '', DATABASE_URL: 'postgres://x/y' })).toBeUndefined();
    expect(
      dynamoSettingsFromEnv({
        WAFGEN_STORE: 'dynamodb',
        WAFGEN_DYNAMODB_TABLE_PREFIX: 'prod-',
        WAFGEN_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
        AWS_REGION: 'eu-west-1',
        WAFGEN_DYNAMODB_JOB_TTL_DAYS: '0',
      }),
    ).toEqual({
      tableName: 'prod-wafgen',
      endpoint: 'http://127.0.0.1:8000',
      region: 'eu-west-1',
      createTable: false,
      jobTtlDays: 0,
    });
    // The store's own region wins over AWS_REGION; defaults otherwise.
    expect(
      dynamoSettingsFromEnv({
        WAFGEN_STORE: 'dynamodb',
        AWS_REGION: 'eu-west-1',
        WAFGEN_DYNAMODB_REGION: 'us-west-2',
      }),
    ).toMatchObject({ tableName: 'wafgen', region: 'us-west-2', jobTtlDays: 30 });
    expect(() => dynamoSettingsFromEnv({ WAFGEN_STORE: 'dynamodb' })).toThrow(/AWS_REGION/);
    for (const bad of [
      { WAFGEN_STORE: 'postgres' },
      { WAFGEN_STORE: 'dynamodb', AWS_REGION: 'x', WAFGEN_DYNAMODB_TABLE_PREFIX: 'a b' },
      { WAFGEN_STORE: 'dynamodb', AWS_REGION: 'x', WAFGEN_DYNAMODB_ENDPOINT: 'ftp://secret@host' },
    ]) {
      const error = (() => {
        try {
          dynamoSettingsFromEnv(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).not.toContain('secret');
    }
  });

  it('gives finished jobs a TTL and takes it away when they run again; a taken id is a unique violation', async () => {
    const job = await store.jobs.create({ id: 'ttl-job', kind: 'generate' });
    expect((await rawItem(options.tableName, 'JOB#ttl-job'))?.expiresAt).toBeUndefined();
    const before = Math.floor(Date.now() / 1000);
    await store.jobs.update(job.id, { status: 'succeeded', result: { version: 1 } });
    const expiresAt = Number((await rawItem(options.tableName, 'JOB#ttl-job'))?.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 7 * 86_400);
    expect(expiresAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 7 * 86_400);
    await store.jobs.update(job.id, { status: 'queued' });
    expect((await rawItem(options.tableName, 'JOB#ttl-job'))?.expiresAt).toBeUndefined();
    const duplicate = await store.jobs.create({ id: 'ttl-job', kind: 'generate' }).catch((e: unknown) => e);
    expect(isUniqueViolation(duplicate)).toBe(true);
    // The existing job is untouched by the refused create.
    expect(await store.jobs.get('ttl-job')).toMatchObject({ status: 'queued', result: { version: 1 } });
  });

  it('stores a rule report larger than an item holds as text, gzipped, and reads it back', async () => {
    // ~600 KB of JSON: above DynamoDB's 400 KB item limit unless compressed.
    const report = { log: Array.from({ length: 6000 }, (_, i) => `attempt ${i}: ${'x'.repeat(90)}`) };
    const saved = await store.rules.saveVersion('CVE-2022-0001', {
      rule: { Name: 'big' },
      inputsHash: 'h',
      engine: 'llm',
      report,
    });
    expect(saved).toMatchObject({ version: 1, created: true });
    expect(await store.rules.latest('CVE-2022-0001')).toMatchObject({ version: 1, report });
    const item = await rawItem(options.tableName, 'RULE#CVE-2022-0001', 'V#0000000001');
    expect(item?.d).toBeUndefined();
    expect(item?.z).toBeInstanceOf(Uint8Array);
  });

  it('bounds what one list reads, and refuses an item DynamoDB cannot hold', async () => {
    const bounded = await openStore({
      dataDir: '/nonexistent',
      dynamodb: { ...local.options(), maxExamined: 100 },
    });
    try {
      await bounded.vulns.upsertMany(Array.from({ length: 150 }, (_, i) => vuln(`CVE-2018-${10000 + i}`)));
      // Newest first without a filter reads one page; a search that matches nothing would read all.
      expect((await bounded.vulns.list({ limit: 3 })).map((r) => r.id)).toEqual([
        'CVE-2018-10149',
        'CVE-2018-10148',
        'CVE-2018-10147',
      ]);
      expect(await bounded.vulns.count()).toBe(150);
      await expect(bounded.vulns.list({ search: 'no such text' })).rejects.toThrow(StoreLimitError);
      await expect(bounded.vulns.count({ kev: true })).rejects.toThrow(StoreLimitError);
      // ~670 KB of base64 noise: gzip cannot bring it under the 400 KB item limit.
      const report = { blob: randomBytes(500_000).toString('base64') };
      await expect(
        bounded.rules.saveVersion('CVE-2018-10000', { rule: {}, inputsHash: 'h', engine: 'llm', report }),
      ).rejects.toThrow(StoreLimitError);
      expect(await bounded.rules.versions('CVE-2018-10000')).toEqual([]);
    } finally {
      await bounded.close();
    }
  }, 30_000);

  it('answers ping, and refuses the SQL-only query builder with a clear error', async () => {
    expect(store.kind).toBe('dynamodb');
    await store.ping();
    expect(() => store.db).toThrow(StoreUnsupportedError);
  });

  it('reports DynamoDB that cannot be used as unavailable (exit 5, 503): unreachable, table missing, gone mid-way', async () => {
    const missing = await openStore({
      dataDir: '/nonexistent',
      dynamodb: { ...local.options('missing-wafgen'), createTable: false },
    }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DynamoUnavailableError);
    expect((missing as Error).message).toBe(
      `cannot reach DynamoDB at 127.0.0.1:${new URL(local.endpoint).port} (table not found, ResourceNotFoundException)`,
    );
    expect(backendUnavailable(missing, {})).toBe(missing);

    const port = await deadPort();
    const refused = await openStore({
      dataDir: '/nonexistent',
      dynamodb: { ...local.options(), endpoint: `http://127.0.0.1:${port}` },
    }).catch((e: unknown) => e);
    expect((refused as Error).message).toBe(`cannot reach DynamoDB at 127.0.0.1:${port} (ECONNREFUSED)`);
    expect(backendUnavailable(refused, {})).toBe(refused);

    // A store whose DynamoDB goes away: its next call says so; a lost condition is not "unavailable".
    const other = await startDynalite();
    const s = await openStore({ dataDir: '/nonexistent', dynamodb: other.options() });
    try {
      await s.jobs.create({ id: 'j', kind: 'k' });
      const duplicate = await s.jobs.create({ id: 'j', kind: 'k' }).catch((e: unknown) => e);
      expect(backendUnavailable(duplicate, {})).toBeUndefined();
      await other.close();
      const gone = await s.vulns.get('CVE-2021-44228').catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(DynamoUnavailableError);
      expect((gone as Error).message).not.toContain('local'); // no credentials in it
    } finally {
      await s.close();
    }
  }, 30_000);
});
