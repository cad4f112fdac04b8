// Scheduled backups against s3rver (a real S3-protocol server): a backup is a gzipped store export
// under a timed key; each run prunes what is past the retention and nothing else; `latest` restores
// into an empty store the same rows; bad keys and corrupt objects fail with one line; and the CLI's
// `wafgen backup run|list|restore` do the same through the environment's settings.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';

import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  BackupError,
  exportStore,
  listBackups,
  loadBackupConfig,
  restoreBackup,
  runBackup,
  type BackupTarget,
} from '../../src/store/backup/index.js';
import { backupKey, backupTime, pruneBackups } from '../../src/store/backup/s3.js';
import { openStore, type Store } from '../../src/store/index.js';
import { handler as backupLambda } from '../../src/worker/backup-lambda.js';
import { runCli } from '../support/cli.js';
import { seedStore } from '../store/backup/fixtures.js';
import { startS3rver, type LocalS3 } from './s3rver.js';

const BUCKET = 'wafgen-backups';
const T0 = new Date('2026-11-01T03:00:00.000Z');
const days = (n: number) => new Date(T0.getTime() + n * 86_400_000);

async function exportBody(store: Store): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString('utf8')));
  await exportStore(store, out, { now: () => T0 });
  out.end();
  return text.split('\n').slice(1).join('\n'); // without the header (its time)
}

let s3: LocalS3;
let source: Store;
let target: BackupTarget;

beforeAll(async () => {
  [s3, source] = await Promise.all([
    startS3rver([BUCKET]),
    openStore({ dataDir: mkdtempSync(join(tmpdir(), 'wafgen-backup-src-')) }),
  ]);
  await seedStore(source);
  target = { bucket: BUCKET, s3Client: s3.client };
}, 60_000);

afterAll(async () => {
  await Promise.all([source?.close(), s3?.close()]);
});

describe('backup keys', () => {
  it('name the time and read back; other keys are not backups', () => {
    const key = backupKey('backups', T0);
    expect(key).toBe('backups/wafgen-store-2026-11-01T03-00-00.000Z.jsonl.gz');
    expect(backupTime(key)).toEqual(T0);
    expect(backupKey('', T0)).toBe('wafgen-store-2026-11-01T03-00-00.000Z.jsonl.gz');
    expect(backupTime('backups/notes.txt')).toBeUndefined();
    expect(backupTime('backups/wafgen-store-2026-13-45T99-00-00.000Z.jsonl.gz')).toBeUndefined();
  });
});

describe('runBackup, listBackups, pruneBackups', () => {
  it('writes a gzipped export and keeps 30 days of backups, pruning only wafgen backups', async () => {
    const first = await runBackup(source, target, { now: T0 });
    expect(first.key).toBe(backupKey(undefined, T0));
    expect(first.counts).toEqual({ vulnerability: 2, evidence: 2, rule: 3, audit: 3 });
    expect(first.pruned).toEqual([]);
    const object = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: first.key }));
    const raw = Buffer.from(await object.Body!.transformToByteArray());
    expect(raw.length).toBe(first.bytes);
    const lines = gunzipSync(raw).toString('utf8').trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'header', exportedAt: T0.toISOString() });
    expect(lines).toHaveLength(1 + 2 + 2 + 3 + 3);

    // Objects that are not wafgen backups, or sit in a sub-folder, are never listed nor deleted.
    const foreign = ['backups/notes.txt', `backups/old/wafgen-store-2020-01-01T00-00-00.000Z.jsonl.gz`];
    for (const Key of foreign)
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'keep me' }));

    await runBackup(source, target, { now: days(10) });
    await runBackup(source, target, { now: days(20) });
    const late = await runBackup(source, target, { now: days(35) });
    // T0 is 35 days old at day 35: past 30 days. Day 10 is 25 days old: kept.
    expect(late.pruned).toEqual([first.key]);
    const listed = await listBackups(target);
    expect(listed.map((b) => b.at)).toEqual([days(35), days(20), days(10)]);
    expect(listed.every((b) => b.size > 0)).toBe(true);
    for (const Key of foreign) {
      const kept = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
      expect(await kept.Body!.transformToString()).toBe('keep me');
    }

    // A schedule that stopped for long: everything past the retention goes but the newest backup.
    const pruned = await pruneBackups(target, { now: days(200), retentionDays: 30 });
    expect(pruned.sort()).toEqual([backupKey(undefined, days(10)), backupKey(undefined, days(20))].sort());
    expect((await listBackups(target)).map((b) => b.key)).toEqual([late.key]);
  }, 30_000);

  it('says which bucket it could not reach, without the server text', async () => {
    const missing = { ...target, bucket: 'no-such-bucket' };
    await expect(listBackups(missing)).rejects.toThrow(
      /^cannot list s3:\/\/no-such-bucket\/backups\/: NoSuchBucket \(HTTP 404\)$/,
    );
  });
});

describe('restoreBackup', () => {
  it('restores the latest backup into an empty store with the same rows, then changes nothing', async () => {
    const empty = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'wafgen-backup-dst-')) });
    try {
      const { key, summary } = await restoreBackup(empty, target, 'latest');
      expect(key).toBe(backupKey(undefined, days(35)));
      expect(summary.errors).toEqual([]);
      expect(summary.counts.rule).toEqual({ inserted: 3, updated: 0, unchanged: 0 });
      expect(await exportBody(empty)).toBe(await exportBody(source));
      const again = await restoreBackup(empty, target, key);
      expect(again.summary.counts.rule).toEqual({ inserted: 0, updated: 0, unchanged: 3 });
    } finally {
      await empty.close();
    }
  }, 30_000);

  it('refuses keys that are not wafgen backups, and objects that are not gzip', async () => {
    await expect(restoreBackup(source, target, 'backups/notes.txt')).rejects.toThrow(BackupError);
    await expect(restoreBackup(source, target, '../../etc/passwd')).rejects.toThrow(
      /is not a wafgen backup key/,
    );
    const bad = backupKey(undefined, days(36));
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: bad, Body: 'not gzip at all' }));
    await expect(restoreBackup(source, target, bad)).rejects.toThrow(/is not a gzipped wafgen backup \(Z_/);
    await s3.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: bad, Body: gzipSync('{"type":"nope"}\n') }),
    );
    await expect(restoreBackup(source, target, bad)).rejects.toThrow(/not a wafgen store export/);
    await pruneBackups(target, { now: days(400), retentionDays: 1 }); // leaves only `bad`, the newest
  });
});

describe('loadBackupConfig', () => {
  it('has the documented defaults and refuses bad values, one reason per variable', () => {
    expect(loadBackupConfig({})).toEqual({
      WAFGEN_BACKUP_PREFIX: 'backups/',
      WAFGEN_BACKUP_RETENTION_DAYS: 30,
      WAFGEN_BACKUP_SCHEDULE: '0 3 * * *',
    });
    expect(() =>
      loadBackupConfig({
        WAFGEN_BACKUP_BUCKET: 'Bad_Bucket',
        WAFGEN_BACKUP_RETENTION_DAYS: '0',
        WAFGEN_BACKUP_ENDPOINT: 'file:///etc',
        WAFGEN_BACKUP_SCHEDULE: 'daily',
      }),
    ).toThrow(
      /WAFGEN_BACKUP_BUCKET must be an S3 bucket name.*WAFGEN_BACKUP_RETENTION_DAYS.*WAFGEN_BACKUP_SCHEDULE must be a cron pattern.*WAFGEN_BACKUP_ENDPOINT must be an http/,
    );
  });
});

describe('wafgen backup', () => {
  it('run, list and restore through the WAFGEN_BACKUP_* variables', async () => {
    const saved = { ...process.env };
    const dataDir = mkdtempSync(join(tmpdir(), 'wafgen-backup-cli-'));
    Object.assign(process.env, {
      WAFGEN_DATA_DIR: dataDir,
      WAFGEN_BACKUP_BUCKET: BUCKET,
      WAFGEN_BACKUP_PREFIX: 'cli/',
      WAFGEN_BACKUP_ENDPOINT: s3.url,
      WAFGEN_BACKUP_REGION: 'us-east-1',
    });
    try {
      expect((await runCli(['backup', 'list'])).stderr).toBe(`no backup under s3://${BUCKET}/cli/\n`);
      expect((await runCli(['list', '--limit', '1'])).code).toBe(0); // seeds the bundled records
      const made = await runCli(['backup', 'run', '--json']);
      expect(made.code).toBe(0);
      const run = JSON.parse(made.stdout) as { key: string; counts: { vulnerability: number } };
      expect(run.key).toMatch(/^cli\/wafgen-store-.*\.jsonl\.gz$/);
      // A new data directory starts seeded with the bundled records.
      expect(run.counts.vulnerability).toBeGreaterThan(50);
      const listed = await runCli(['backup', 'list']);
      expect(listed.stdout).toContain(run.key);
      const restored = await runCli(['backup', 'restore', 'latest']);
      expect(restored.code).toBe(0);
      expect(restored.stdout).toMatch(/vulnerability 0 new, 0 updated, \d+ unchanged/);
      // The Lambda entry the CDK app's EventBridge rule invokes: the same backup, from the same variables.
      const fromLambda = await backupLambda();
      expect(fromLambda.key).toMatch(/^cli\/wafgen-store-.*\.jsonl\.gz$/);
      expect(fromLambda.counts.vulnerability).toBe(run.counts.vulnerability);
      expect((await runCli(['backup', 'list', '--json'])).stdout).toContain(fromLambda.key);
      const bad = await runCli(['backup', 'list', '--bucket', 'Bad_Bucket']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/WAFGEN_BACKUP_BUCKET must be an S3 bucket name/);
      delete process.env.WAFGEN_BACKUP_BUCKET;
      expect((await runCli(['backup', 'run'])).stderr).toMatch(
        /no bucket: pass --bucket or set WAFGEN_BACKUP_BUCKET/,
      );
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  }, 60_000);
});
