// The store's public face: open it, use its repositories.
export { openStore, StoreBusyError } from './db.js';
export type { Store, StoreOptions } from './db.js';
export { appliedMigrations, KNOWN_MIGRATIONS, migrateToLatest, MigrationError } from './migrator.js';
export type { Database, JobStatus } from './schema.js';
export { JOB_STATUSES } from './schema.js';
export { mergeVulnRecords, VulnRepository } from './repositories/vulns.js';
export type {
  MarkKevResult,
  UpsertCounts,
  UpsertResult,
  UpsertStatus,
  VulnFilter,
  VulnListOptions,
} from './repositories/vulns.js';
export { EvidenceRepository } from './repositories/evidence.js';
export type { AddEvidenceResult, EvidenceInput } from './repositories/evidence.js';
export { RuleRepository } from './repositories/rules.js';
export type { RuleVersionInput, SavedRule, StoredRule } from './repositories/rules.js';
export { JobRepository } from './repositories/jobs.js';
export type { Job, JobListOptions, JobUpdate, NewJob } from './repositories/jobs.js';
export { AuditRepository } from './repositories/audit.js';
export type { AuditEvent, AuditEventInput, AuditListOptions } from './repositories/audit.js';
