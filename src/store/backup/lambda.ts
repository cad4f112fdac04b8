/**
 * @module AWS Lambda entry for the scheduled backup (the CDK app's EventBridge rule invokes it
 * daily): the same runBackup as `wafgen backup run` and the worker's repeatable job, on the store
 * the service uses (WAFGEN_STORE=dynamodb, or DATABASE_URL), to the bucket the WAFGEN_BACKUP_*
 * variables name. The event's content is not used.
 */
import { loadConfig } from '../../config/index.js';
import { openStore } from '../db.js';
import { dynamoSettingsFromEnv } from '../dynamodb/settings.js';
import { backupS3Client, loadBackupConfig, runBackup, type BackupRun } from './s3.js';

export async function handler(): Promise<Pick<BackupRun, 'key' | 'bytes' | 'counts'> & { pruned: number }> {
  const config = loadConfig(process.env);
  const backup = loadBackupConfig(process.env);
  if (!backup.WAFGEN_BACKUP_BUCKET) throw new Error('WAFGEN_BACKUP_BUCKET is not set');
  const s3Client = await backupS3Client({
    ...(backup.WAFGEN_BACKUP_REGION ? { region: backup.WAFGEN_BACKUP_REGION } : {}),
    ...(backup.WAFGEN_BACKUP_ENDPOINT ? { endpoint: backup.WAFGEN_BACKUP_ENDPOINT } : {}),
  });
  const dynamodb = dynamoSettingsFromEnv(process.env);
  const store = await openStore({
    ...(dynamodb ? { dynamodb } : {}),
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    dataDir: config.dataDir,
  });
  try {
    const run = await runBackup(
      store,
      { bucket: backup.WAFGEN_BACKUP_BUCKET, prefix: backup.WAFGEN_BACKUP_PREFIX, s3Client },
      { retentionDays: backup.WAFGEN_BACKUP_RETENTION_DAYS },
    );
    console.log(JSON.stringify({ msg: 'store backup written', key: run.key, bytes: run.bytes }));
    return { key: run.key, bytes: run.bytes, counts: run.counts, pruned: run.pruned.length };
  } finally {
    await store.close();
    s3Client.destroy();
  }
}
