/**
 * @module The scheduled backup as a use case: what the backup Lambda (worker/backup-lambda.ts, the
 * CDK app's daily EventBridge rule) runs. Secrets Manager first (WAFGEN_SECRETS_ARN may hold
 * DATABASE_URL), then the store the service uses (WAFGEN_STORE=dynamodb, or DATABASE_URL), then the
 * same runBackup as `wafgen backup run` and the worker's repeatable job, to the bucket the
 * WAFGEN_BACKUP_* variables name.
 */
import { loadConfig } from '../config/index.js';
import { applySecretsToEnv } from '../secrets/index.js';
import type { BackupRun } from '../store/backup/index.js';
import { dynamoSettingsFromEnv, openStore, sqlStoreOptions } from '../store/index.js';

export type ScheduledBackupResult = Pick<BackupRun, 'key' | 'bytes' | 'counts'> & { pruned: number };

export async function runScheduledBackup(
  env: NodeJS.ProcessEnv = process.env,
): Promise<ScheduledBackupResult> {
  // Loaded here, not at the top: app/index.ts re-exports this function, so a static import put the
  // S3 client and BullMQ's scheduler into every process (the API server's RSS among them).
  const { backupS3Client, loadBackupConfig, runBackup } = await import('../store/backup/index.js');
  await applySecretsToEnv(env);
  const config = loadConfig(env);
  const backup = loadBackupConfig(env);
  if (!backup.WAFGEN_BACKUP_BUCKET) throw new Error('WAFGEN_BACKUP_BUCKET is not set');
  const s3Client = await backupS3Client({
    ...(backup.WAFGEN_BACKUP_REGION ? { region: backup.WAFGEN_BACKUP_REGION } : {}),
    ...(backup.WAFGEN_BACKUP_ENDPOINT ? { endpoint: backup.WAFGEN_BACKUP_ENDPOINT } : {}),
  });
  const dynamodb = dynamoSettingsFromEnv(env);
  const store = await openStore({
    ...(dynamodb ? { dynamodb } : {}),
    ...sqlStoreOptions(config),
  });
  try {
    const run = await runBackup(
      store,
      { bucket: backup.WAFGEN_BACKUP_BUCKET, prefix: backup.WAFGEN_BACKUP_PREFIX, s3Client },
      { retentionDays: backup.WAFGEN_BACKUP_RETENTION_DAYS },
    );
    return { key: run.key, bytes: run.bytes, counts: run.counts, pruned: run.pruned.length };
  } finally {
    await store.close();
    s3Client.destroy();
  }
}
