// Store export/import: a round trip between two embedded stores (and the local PostgreSQL server
// when it answers) gives identical exports; re-importing changes nothing; bad lines are reported by
// number and skipped.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { S3Client } from '@aws-sdk/client-s3';

import {
  ArchiveError,
  archiveKey,
  archiveRuleVersions,
  BackupFormatError,
  exportStore,
  importStore,
} from '../../../src/store/backup/index.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../support.js';
import { startFakeS3, type FakeS3 } from '../../support/fake-aws/s3.js';
import { seedStore } from './fixtures.js';

const NOW = () => new Date('2025-01-01T00:00:00.000Z');

async function exportText(store: Store): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString('utf8')));
  await exportStore(store, out, { now: NOW });
  out.end();
  return text;
}

const importText = (store: Store, text: string) => importStore(store, Readable.from([text]));

let a: Store;
let b: Store;
let exported: string;

beforeAll(async () => {
  [a, b] = await Promise.all([
    openStore({ dataDir: mkdtempSync(join(tmpdir(), 'wafgen-backup-a-')) }),
    openStore({ dataDir: mkdtempSync(join(tmpdir(), 'wafgen-backup-b-')) }),
  ]);
  await seedStore(a);
  exported = await exportText(a);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

describe('export', () => {
  it('writes a header with counts, then one typed line per row', () => {
    const lines = exported
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({
      type: 'header',
      format: 'wafgen-store',
      formatVersion: 1,
      wafgenVersion: expect.stringMatching(/^\d+\.\d+\.\d+/),
      exportedAt: '2025-01-01T00:00:00.000Z',
      counts: { vulnerability: 2, evidence: 2, rule: 3, audit: 3 },
    });
    expect(lines.slice(1).map((l) => l.type)).toEqual([
      ...Array(2).fill('vulnerability'),
      ...Array(2).fill('evidence'),
      ...Array(3).fill('rule'),
      ...Array(3).fill('audit'),
    ]);
    const v2 = lines.find((l) => l.type === 'rule' && l.version === 2);
    expect(v2).toMatchObject({
      cveId: 'CVE-2021-44228',
      inputsHash: 'hash-2',
      engine: 'llm',
      provider: 'openai',
      model: 'gpt-test',
      report: { attempts: 2 },
      createdAt: expect.stringMatching(/Z$/),
    });
    // Stored escaped, exported as the original text.
    expect(exported).toContain('NUL \\u0000 and a lone surrogate \\ud800 end');
  });
});

describe('round trip', () => {
  it('imports into a fresh store and exports identically', async () => {
    const summary = await importText(b, exported);
    expect(summary.errors).toEqual([]);
    expect(summary.counts).toEqual({
      vulnerability: { inserted: 2, updated: 0, unchanged: 0 },
      evidence: { inserted: 2, updated: 0, unchanged: 0 },
      rule: { inserted: 3, updated: 0, unchanged: 0 },
      audit: { inserted: 3, updated: 0, unchanged: 0 },
    });
    expect(await exportText(b)).toBe(exported);
    const versions = await b.rules.versions('CVE-2021-44228');
    const original = await a.rules.versions('CVE-2021-44228');
    expect(versions).toEqual(original);
    expect(await b.vulns.get('CVE-2023-0001')).toEqual(await a.vulns.get('CVE-2023-0001'));
  });

  it('is idempotent: importing again, or into the source store, changes nothing', async () => {
    for (const store of [b, a]) {
      const summary = await importText(store, exported);
      expect(summary.errors).toEqual([]);
      for (const c of Object.values(summary.counts)) expect(c.inserted + c.updated).toBe(0);
      expect(await exportText(store)).toBe(exported);
    }
  });

  it('continues version numbering after an import', async () => {
    const saved = await b.rules.saveVersion('CVE-2021-44228', {
      rule: { Name: 'v3' },
      inputsHash: 'hash-new',
      engine: 'builtin',
      report: {},
    });
    expect(saved.version).toBe(3);
  });
});

describe('bad input', () => {
  it('reports bad lines by number, skips them and loads the rest', async () => {
    const header = exported.split('\n')[0];
    const text = [
      header,
      '{not json',
      '{"type":"mystery"}',
      '{"type":"rule","cveId":"CVE-2024-0001","version":0,"rule":{},"inputsHash":"h","engine":"e","report":{},"createdAt":"2024-01-01T00:00:00.000Z"}',
      '',
      '{"type":"rule","cveId":"CVE-2021-44228","version":1,"rule":{"Name":"other"},"inputsHash":"h","engine":"e","report":{},"createdAt":"2024-01-01T00:00:00.000Z"}',
      '{"type":"vulnerability","id":"not-a-cve","source":"x","fetchedAt":"2024-01-01T00:00:00Z","createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z"}',
      '{"type":"evidence","cveId":"CVE-2024-0002","kind":"article","source":"s","text":"t","fetchedAt":"2024-01-01T00:00:00.000Z","contentHash":"c","createdAt":"2024-01-01T00:00:00.000Z"}',
      '{"type":"audit","at":"2024-01-01T00:00:00.000Z","eventType":"manual","data":{}}',
    ].join('\r\n');
    const summary = await importText(a, text);
    expect(summary.errors).toEqual([
      { line: 2, message: 'is not valid JSON' },
      { line: 3, message: 'type must be one of vulnerability, evidence, rule, audit' },
      { line: 4, message: expect.stringMatching(/^rule: version /) },
      {
        line: 6,
        message: 'rule: rule CVE-2021-44228 v1 differs from the stored version 1; the stored one is kept',
      },
      { line: 7, message: expect.stringMatching(/^vulnerability: id /) },
    ]);
    expect(summary.counts.evidence.inserted).toBe(1);
    expect(summary.counts.audit.inserted).toBe(1);
    expect((await a.rules.get('CVE-2021-44228', 1))?.inputsHash).toBe('hash-1');
  });

  it('refuses a file that is not an export, or is from a newer format', async () => {
    await expect(importText(a, '{"id":"CVE-2021-44228"}\n')).rejects.toThrow(BackupFormatError);
    await expect(importText(a, '')).rejects.toThrow(/empty/);
    const newer = exported.split('\n')[0]!.replace('"formatVersion":1', '"formatVersion":99');
    await expect(importText(a, newer)).rejects.toThrow(/newer/);
  });
});

describe('PostgreSQL', () => {
  let adminUrl: string | undefined;
  let database: TestDatabase | undefined;
  let pgStore: Store | undefined;

  beforeAll(async () => {
    adminUrl = await postgresAdminUrl();
    if (!adminUrl) return;
    database = await createTestDatabase(adminUrl);
    pgStore = await openStore({ databaseUrl: database.url, dataDir: tmpdir(), poolSize: 2 });
  }, 60_000);

  afterAll(async () => {
    await pgStore?.close();
    await database?.drop();
  });

  it('round-trips an embedded store through PostgreSQL', async (ctx) => {
    if (!pgStore) return ctx.skip();
    const summary = await importText(pgStore, exported);
    expect(summary.errors).toEqual([]);
    expect(await exportText(pgStore)).toBe(exported);
    const again = await importText(pgStore, exported);
    for (const c of Object.values(again.counts)) expect(c.inserted + c.updated).toBe(0);
  });
});

describe('S3 archive', () => {
  let s3: FakeS3;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startFakeS3();
    s3.createBucket('wafgen-rules');
    client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.url,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret-key' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.close();
  });

  it('builds keys from the prefix, CVE and version', () => {
    expect(archiveKey(undefined, 'CVE-2021-44228', 2)).toBe('CVE-2021-44228/v2.json');
    expect(archiveKey('/backups/rules/', 'CVE-2021-44228', 1)).toBe('backups/rules/CVE-2021-44228/v1.json');
  });

  it('puts every rule version once, path-style, and skips the ones already there', async () => {
    const first = await archiveRuleVersions(b, { bucket: 'wafgen-rules', prefix: 'prod/', s3Client: client });
    expect(first.skipped).toEqual([]);
    expect(first.uploaded).toEqual([
      'prod/CVE-2021-44228/v1.json',
      'prod/CVE-2021-44228/v2.json',
      'prod/CVE-2021-44228/v3.json',
      'prod/CVE-2023-0001/v1.json',
    ]);
    const object = s3.objects('wafgen-rules').get('prod/CVE-2021-44228/v2.json');
    expect(object?.contentType).toBe('application/json');
    const stored = await b.rules.get('CVE-2021-44228', 2);
    expect(JSON.parse(object!.body.toString('utf8'))).toEqual(stored);
    expect(s3.calls.every((c) => c.bucket === 'wafgen-rules' && c.host.startsWith('127.0.0.1:'))).toBe(true);

    await b.rules.saveVersion('CVE-2023-0001', {
      rule: { Name: 'v2' },
      inputsHash: 'h2',
      engine: 'builtin',
      report: {},
    });
    const puts = s3.calls.filter((c) => c.method === 'PUT').length;
    const second = await archiveRuleVersions(b, { bucket: 'wafgen-rules', prefix: 'prod', s3Client: client });
    expect(second.uploaded).toEqual(['prod/CVE-2023-0001/v2.json']);
    expect(second.skipped).toHaveLength(4);
    expect(s3.calls.filter((c) => c.method === 'PUT').length - puts).toBe(1);
  });

  it('stops with the S3 error code when the bucket is missing or S3 fails', async () => {
    await expect(archiveRuleVersions(b, { bucket: 'no-such-bucket', s3Client: client })).rejects.toThrow(
      ArchiveError,
    );
    s3.failNext(500, 'InternalError');
    await expect(
      archiveRuleVersions(b, { bucket: 'wafgen-rules', prefix: 'other', s3Client: client }),
    ).rejects.toThrow(/cannot check s3:\/\/wafgen-rules\/other\/CVE-2021-44228\/v1.json/);
  });
});
