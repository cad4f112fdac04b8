// The store's public face: open it, use its repositories.
export { openStore, sqlStoreOptions, StoreBusyError, StoreUnsupportedError } from './db.js';
export { isUniqueViolation } from './errors.js';
export { seedIfEmpty } from './seed.js';
export type { Store } from './db.js';
export { appliedMigrations, KNOWN_MIGRATIONS, migrateToLatest } from './migrator.js';
export type { Database } from './schema.js';
export { mergeVulnRecords } from './repositories/vulns.js';
export type { EvidenceInput } from './repositories/evidence.js';
export type { StoredRule } from './repositories/rules.js';
export type { Job } from './repositories/jobs.js';
export type { AuditRepository } from './types.js';
export { dynamoSettingsFromEnv } from './dynamodb/settings.js';
export { StoreLimitError } from './dynamodb/errors.js';
export { DynamoUnavailableError } from './dynamodb/unavailable.js';
