// Backup and recovery: the whole store as JSON Lines (export and idempotent import), scheduled gzipped
// backups of it in S3 with retention (s3.ts), and an optional
// archive of every rule version to S3.
export { exportStore } from './export.js';
export { BackupFormatError, importStore } from './import.js';
export { ArchiveError, archiveKey, archiveRuleVersions } from './archive.js';
export {
  BackupError,
  backupS3Client,
  listBackups,
  loadBackupConfig,
  restoreBackup,
  runBackup,
  type BackupConfig,
  type BackupRun,
  type BackupTarget,
} from './s3.js';
export { startBackupSchedule } from './schedule.js';
