// Row types of the store's tables, as Kysely sees them. jsonb columns are written as JSON text (both
// drivers pass a string parameter through to PostgreSQL, which parses it) and read back parsed; the
// repositories validate what they read before handing it out as a domain type.
import type { ColumnType, Generated } from './kysely.js';

/** jsonb: reads parsed JSON, writes JSON text (see json.ts `toJsonText`). */
type JsonColumn = ColumnType<unknown, string, string>;
type NullableJsonColumn = ColumnType<unknown, string | null | undefined, string | null>;
/** timestamptz: both drivers read a Date. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'dead'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface VulnerabilitiesTable {
  /** The CVE id, upper-case. */
  id: string;
  /** Year and sequence of the id, generated, so that listings sort CVE-2021-44228 after CVE-2021-9999. */
  cve_year: ColumnType<number, never, never>;
  cve_seq: ColumnType<number, never, never>;
  title: string | null;
  description: string;
  cwes: JsonColumn;
  cvss: NullableJsonColumn;
  severity: string;
  vendor: string | null;
  product: string | null;
  cpes: JsonColumn;
  references: JsonColumn;
  kev: boolean;
  /** Dates as the sources give them (ISO 8601 text), so a record reads back exactly as imported. */
  kev_date_added: string | null;
  published: string | null;
  modified: string | null;
  source: string;
  fetched_at: Timestamp;
  tags: JsonColumn;
  exploit: NullableJsonColumn;
  created_at: DefaultTimestamp;
  /** Last change of the record's content (a re-import that changes nothing leaves it alone). */
  updated_at: DefaultTimestamp;
}

export interface EvidenceTable {
  id: Generated<number>;
  cve_id: string;
  kind: string;
  source: string;
  title: string | null;
  request: NullableJsonColumn;
  text: string | null;
  signature: NullableJsonColumn;
  extractor: string | null;
  fetched_at: Timestamp;
  content_hash: string;
  created_at: DefaultTimestamp;
}

export interface RulesTable {
  id: Generated<number>;
  cve_id: string;
  version: number;
  rule: JsonColumn;
  inputs_hash: string;
  engine: string;
  provider: string | null;
  model: string | null;
  report: JsonColumn;
  created_at: DefaultTimestamp;
}

export interface JobsTable {
  id: string;
  kind: string;
  cve_id: string | null;
  status: ColumnType<JobStatus, JobStatus | undefined, JobStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  payload: ColumnType<unknown, string | undefined, string>;
  result: NullableJsonColumn;
  error: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: DefaultTimestamp;
  type: string;
  request_id: string | null;
  cve_id: string | null;
  principal: string | null;
  data: ColumnType<unknown, string | undefined, string>;
}

export interface Database {
  vulnerabilities: VulnerabilitiesTable;
  evidence: EvidenceTable;
  rules: RulesTable;
  jobs: JobsTable;
  audit_events: AuditEventsTable;
}
