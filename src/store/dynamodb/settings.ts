/**
 * @module Which DynamoDB table the store uses and how it reaches it, from the environment:
 * WAFGEN_STORE=dynamodb, WAFGEN_DYNAMODB_TABLE_PREFIX, WAFGEN_DYNAMODB_ENDPOINT,
 * WAFGEN_DYNAMODB_REGION (else AWS_REGION), WAFGEN_DYNAMODB_CREATE_TABLE, WAFGEN_DYNAMODB_JOB_TTL_DAYS.
 * A bad variable is named, never echoed.
 */
import { z } from 'zod';

import { ConfigError } from '../../config/index.js';

export interface DynamoStoreOptions {
  /** The table's full name (prefix + `wafgen`). */
  tableName: string;
  /** A DynamoDB-compatible endpoint (dynalite, DynamoDB Local, a VPC endpoint); default: the region's. */
  endpoint?: string;
  region: string;
  /** Credentials for a local endpoint (tests); default: the SDK's provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Create the table (and its indexes) when it does not exist; default false (infrastructure creates it). */
  createTable?: boolean;
  /** Days a finished job (succeeded, failed, dead) is kept before DynamoDB's TTL removes it; 0 keeps it. Default 30. */
  jobTtlDays?: number;
  /** Most items one list or filtered count may read before it fails with StoreLimitError (default 50,000). */
  maxExamined?: number;
}

/** The table's name without a prefix. */
const TABLE_BASE_NAME = 'wafgen';

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const EnvSchema = z.object({
  // Unset: PostgreSQL with DATABASE_URL, else the embedded PGlite.
  WAFGEN_STORE: z
    .literal('dynamodb', { message: 'must be dynamodb, or unset for PostgreSQL/PGlite' })
    .optional(),
  // DynamoDB table names: 3-255 of [A-Za-z0-9_.-]; the prefix leaves room for the base name.
  WAFGEN_DYNAMODB_TABLE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{0,200}$/, 'must be at most 200 letters, digits, dot, dash or underscore')
    .default(''),
  WAFGEN_DYNAMODB_ENDPOINT: z
    .string()
    .refine((v) => {
      try {
        return ['http:', 'https:'].includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, 'must be an http(s) URL')
    .optional(),
  WAFGEN_DYNAMODB_REGION: z
    .string()
    .regex(/^[a-z0-9-]{1,40}$/, 'must be a region name such as eu-west-1')
    .optional(),
  AWS_REGION: z
    .string()
    .regex(/^[a-z0-9-]{1,40}$/, 'must be a region name such as eu-west-1')
    .optional(),
  WAFGEN_DYNAMODB_CREATE_TABLE: bool.default(false),
  WAFGEN_DYNAMODB_JOB_TTL_DAYS: z.coerce.number().int().min(0).max(3650).default(30),
});

/**
 * The DynamoDB store's options when WAFGEN_STORE=dynamodb, else undefined (the SQL store is chosen
 * as before: PostgreSQL with DATABASE_URL, PGlite without). Empty variables count as unset.
 */
export function dynamoSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): DynamoStoreOptions | undefined {
  const present = Object.fromEntries(
    Object.keys(EnvSchema.shape)
      .map((k) => [k, env[k]])
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`));
  }
  const e = parsed.data;
  if (e.WAFGEN_STORE !== 'dynamodb') return undefined;
  const region = e.WAFGEN_DYNAMODB_REGION ?? e.AWS_REGION;
  if (region === undefined) {
    throw new ConfigError(['WAFGEN_STORE=dynamodb needs WAFGEN_DYNAMODB_REGION or AWS_REGION']);
  }
  return {
    tableName: `${e.WAFGEN_DYNAMODB_TABLE_PREFIX}${TABLE_BASE_NAME}`,
    region,
    ...(e.WAFGEN_DYNAMODB_ENDPOINT ? { endpoint: e.WAFGEN_DYNAMODB_ENDPOINT } : {}),
    createTable: e.WAFGEN_DYNAMODB_CREATE_TABLE,
    jobTtlDays: e.WAFGEN_DYNAMODB_JOB_TTL_DAYS,
  };
}
