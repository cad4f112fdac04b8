// The repeatable backup job on the local Redis and s3rver: two workers upsert the same scheduler;
// every repetition runs once, on one of them, and writes a backup the listing finds. The schedule
// here fires every second (BullMQ's six-field cron) so the test sees several repetitions.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { listBackups, loadBackupConfig, startBackupSchedule } from '../../src/store/backup/index.js';
import type { BackupRun } from '../../src/store/backup/s3.js';
import { openStore, type Store } from '../../src/store/index.js';
import { seedStore } from '../store/backup/fixtures.js';
import { REDIS_URL, redisAvailable, redisPrefix } from '../service/support.js';
import { startS3rver, type LocalS3 } from './s3rver.js';

const BUCKET = 'wafgen-scheduled';
const hasRedis = await redisAvailable();
const { prefix, cleanup } = redisPrefix();
const quiet = { info: () => {}, error: () => {} };

let s3: LocalS3;
let store: Store;

beforeAll(async () => {
  if (!hasRedis) return;
  [s3, store] = await Promise.all([
    startS3rver([BUCKET]),
    openStore({ dataDir: mkdtempSync(join(tmpdir(), 'wafgen-backup-schedule-')) }),
  ]);
  await seedStore(store);
}, 60_000);

afterAll(async () => {
  await Promise.all([store?.close(), s3?.close(), cleanup()]);
});

describe.skipIf(!hasRedis)('the repeatable backup job', () => {
  it('is not started without a bucket', async () => {
    const none = await startBackupSchedule({
      redisUrl: REDIS_URL,
      prefix,
      store,
      config: loadBackupConfig({}),
      log: quiet,
    });
    expect(none).toBeUndefined();
  });

  it('runs each repetition once across two workers, and each run writes a listed backup', async () => {
    const config = loadBackupConfig({
      WAFGEN_BACKUP_BUCKET: BUCKET,
      WAFGEN_BACKUP_ENDPOINT: s3.url,
      WAFGEN_BACKUP_REGION: 'us-east-1',
      WAFGEN_BACKUP_SCHEDULE: '* * * * * *',
    });
    const runs: { worker: number; jobId: string | undefined; run: BackupRun }[] = [];
    let enough: () => void = () => {};
    const done = new Promise<void>((resolve) => (enough = resolve));
    const onBackup = (worker: number) => (run: BackupRun, jobId: string | undefined) => {
      runs.push({ worker, jobId, run });
      if (runs.length >= 3) enough();
    };
    const workers = await Promise.all(
      [1, 2].map((n) =>
        startBackupSchedule({
          redisUrl: REDIS_URL,
          prefix,
          store,
          config,
          log: quiet,
          onBackup: onBackup(n),
        }),
      ),
    );
    try {
      await done;
    } finally {
      await Promise.all(workers.map((w) => w?.close()));
    }
    const ids = runs.map((r) => r.jobId);
    expect(ids.every((id) => typeof id === 'string' && id.startsWith('repeat:'))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const listed = (await listBackups({ bucket: BUCKET, s3Client: s3.client })).map((b) => b.key);
    for (const r of runs) {
      expect(listed).toContain(r.run.key);
      expect(r.run.counts.rule).toBe(3);
    }
  }, 20_000);
});
