// All configuration in one place: environment variables, validated by one Zod schema at start-up.
// A bad variable stops the process with a message naming it; nothing reads process.env elsewhere.
import { z } from 'zod';
import { defaultDataDir } from './data-dir.js';
import { ConfigError } from './errors.js';
import { limitOf } from '../core/limits.js';

export { ConfigError };

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', ''])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

export const ConfigSchema = z.object({
  WAFGEN_DATA_DIR: z.string().min(1).optional(),
  WAFGEN_OFFLINE: bool.default(false),
  /**
   * Fetch the record's reference pages (advisories, PoC write-ups) for exploit context; 0: never
   * (an egress policy that allows the LLM providers but not arbitrary hosts). WAFGEN_OFFLINE wins.
   */
  WAFGEN_FETCH_REFERENCES: bool.default(true),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  /**
   * Run PostgreSQL queries as named prepared statements (store/prepared.ts); 0 for a pooler that
   * cannot keep them (PgBouncer in transaction mode without `max_prepared_statements`, 1.21+).
   */
  WAFGEN_PG_PREPARE: bool.default(true),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OPENAI_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  GOOGLE_GENERATIVE_AI_API_KEY: z.string().min(1).optional(),
  /** Largest rule or request file wafgen reads, in bytes: the `input-bytes` limit (core/limits.ts). */
  WAFGEN_MAX_INPUT_BYTES: z.coerce.number().int().min(1024).default(limitOf('input-bytes')),
});

export type Config = z.infer<typeof ConfigSchema> & { dataDir: string };

/** Platform user data folder, as XDG and the OS conventions expect. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty variables count as unset, as shells and .env files often leave them.
  const present = Object.fromEntries(
    Object.keys(ConfigSchema.shape)
      .map((k) => [k, env[k]])
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = ConfigSchema.safeParse(present);
  if (!parsed.success) {
    // Name the variable, never echo a value: it may be a secret.
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`));
  }
  return { ...parsed.data, dataDir: parsed.data.WAFGEN_DATA_DIR ?? defaultDataDir(env) };
}
