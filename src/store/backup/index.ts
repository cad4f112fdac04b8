// Backup and recovery: the whole store as JSON Lines (export and idempotent import), and an optional
// archive of every rule version to S3.
export { auditLine, evidenceLine, exportStore, ruleLine, vulnerabilityLine } from './export.js';
export type { ExportOptions, ExportSummary } from './export.js';
export { BackupFormatError, importStore } from './import.js';
export type { ImportCounts, ImportLineError, ImportOptions, ImportSummary } from './import.js';
export { FORMAT, FORMAT_VERSION, ROW_TYPES } from './format.js';
export type {
  AuditLine,
  EvidenceLine,
  HeaderLine,
  RowLine,
  RowType,
  RuleLine,
  VulnerabilityLine,
} from './format.js';
export { ArchiveError, archiveKey, archiveRuleVersions } from './archive.js';
export type { ArchiveOptions, ArchiveSummary } from './archive.js';
