// Backup and recovery: the whole store as JSON Lines (export and idempotent import), and an optional
// archive of every rule version to S3.
export { exportStore } from './export.js';
export { BackupFormatError, importStore } from './import.js';
export { ArchiveError, archiveKey, archiveRuleVersions } from './archive.js';
