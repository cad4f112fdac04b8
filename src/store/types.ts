/**
 * @module The repositories' public face: what every store backend (PGlite and PostgreSQL through
 * kysely in repositories/, DynamoDB in dynamodb/) does for CVE records, evidence, versioned rules,
 * jobs and audit events. Callers hold these interfaces, never an implementation class.
 */
import type { Evidence } from '../vulns/evidence.js';
import type { VulnRecord, VulnRecordInput } from '../vulns/model.js';
import type { AuditEvent, AuditEventInput, AuditListOptions } from './repositories/audit.js';
import type { AddEvidenceResult, EvidenceInput } from './repositories/evidence.js';
import type { Job, JobListOptions, JobUpdate, NewJob } from './repositories/jobs.js';
import type { RuleVersionInput, SavedRule, StoredRule } from './repositories/rules.js';
import type {
  MarkKevResult,
  UpsertCounts,
  UpsertResult,
  VulnFilter,
  VulnListOptions,
} from './repositories/vulns.js';

export interface VulnRepository {
  /** Inserts the record or merges it into the stored one (see mergeVulnRecords). */
  upsert(input: VulnRecordInput): Promise<UpsertResult>;
  /** Upserts in batches; duplicates within `inputs` merge in order. */
  upsertMany(inputs: readonly VulnRecordInput[]): Promise<UpsertCounts>;
  /** By any spelling of the id; undefined for an unknown or malformed id. */
  get(id: string): Promise<VulnRecord | undefined>;
  /** Newest CVE first (by year, then sequence number). */
  list(opts?: VulnListOptions): Promise<VulnRecord[]>;
  count(filter?: VulnFilter): Promise<number>;
  /** Marks known records as in CISA KEV; an existing date added is kept. */
  markKev(ids: readonly string[], dateAdded: string): Promise<MarkKevResult>;
}

export interface EvidenceRepository {
  /** Stores the evidence unless the same content hash is already stored for its CVE. */
  add(input: EvidenceInput): Promise<AddEvidenceResult>;
  /** The CVE's evidence in the order it was added, optionally of one kind. */
  forCve(cveId: string, opts?: { kind?: Evidence['kind'] }): Promise<Evidence[]>;
}

export interface RuleRepository {
  /** Writes version n+1 unless the rule and its inputs equal version n; versions stay consecutive under concurrent saves. */
  saveVersion(cveId: string, input: RuleVersionInput): Promise<SavedRule>;
  latest(cveId: string): Promise<StoredRule | undefined>;
  get(cveId: string, version: number): Promise<StoredRule | undefined>;
  /** Every version of the CVE's rule, oldest first. */
  versions(cveId: string): Promise<StoredRule[]>;
}

export interface JobRepository {
  /** Fails with an error that isUniqueViolation recognises when the id is taken. */
  create(job: NewJob): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  /** The job as it now is, or undefined when there is no such job. */
  update(id: string, patch: JobUpdate): Promise<Job | undefined>;
  /** Marks the job running with this attempt unless it already succeeded (then it comes back unchanged). */
  claim(id: string, attempts: number): Promise<Job | undefined>;
  /** Newest first. */
  list(opts?: JobListOptions): Promise<Job[]>;
}

export interface AuditRepository {
  record(event: AuditEventInput): Promise<AuditEvent>;
  /** Newest first. */
  list(opts?: AuditListOptions): Promise<AuditEvent[]>;
}
