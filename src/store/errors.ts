/** @module PostgreSQL errors the store reacts to, by SQLSTATE (both drivers put the code on `error.code`), and the ones that mean the server cannot be reached. */
import { BackendUnavailableError, connectErrorTo, endpointOf } from '../core/backend-error.js';

function sqlState(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A key that must be unique is taken (the DynamoDB store's conditional put lost); SQL's 23505 in kind. */
export class DuplicateKeyError extends Error {
  override name = 'DuplicateKeyError';
}

export const isUniqueViolation = (error: unknown): boolean =>
  error instanceof DuplicateKeyError || sqlState(error) === '23505';

/**
 * A prepared statement whose result columns changed under it (a migration altered its table):
 * SQLSTATE 0A000 from the routine that revalidates cached plans. Told by the routine's name, as the
 * server may translate the message ("gecachter Plan darf den Ergebnistyp nicht ändern"); the
 * English message only when the error names no routine.
 */
export function isStalePlan(error: unknown): boolean {
  if (sqlState(error) !== '0A000') return false;
  const { routine, message } = error as { routine?: unknown; message?: unknown };
  return (
    routine === 'RevalidateCachedQuery' ||
    (typeof message === 'string' && message.includes('cached plan must not change result type'))
  );
}

/** A named statement the connection does not have (26000) or has under that name already (42P05): a pooler lost it. */
export function isLostStatement(error: unknown): boolean {
  const code = sqlState(error);
  return code === '26000' || code === '42P05';
}

/**
 * Deadlock, serialization failure, unique violation, a stale prepared plan (its text was named
 * anew: prepared.ts): the transaction may simply be run again.
 */
function isRetryable(error: unknown): boolean {
  const code = sqlState(error);
  return code === '40P01' || code === '40001' || code === '23505' || isStalePlan(error);
}

/** Runs `attempt` again (with a short jittered pause) while it fails with a retryable error. */
export async function withRetry<T>(attempt: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= tries || !isRetryable(error)) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * i));
    }
  }
}

/** SQLSTATEs that mean the server cannot be used at all, with the phrase shown for each. */
const UNAVAILABLE_STATES: Readonly<Record<string, string>> = {
  '28000': 'login refused, 28000',
  '28P01': 'password authentication failed, 28P01',
  '3D000': 'database does not exist, 3D000',
  '53300': 'too many connections, 53300',
  '57P01': 'server shutting down, 57P01',
  '57P02': 'server shutting down, 57P02',
  '57P03': 'server starting up or in recovery, 57P03',
};

/** Messages of node-postgres itself (no code) that mean the connection did not come about or broke. */
const PG_CONNECTION_MESSAGES: readonly [RegExp, string][] = [
  [/^Connection terminated unexpectedly$/, 'connection closed by the server'],
  [/^Connection terminated due to connection timeout$/, 'connection timed out'],
  [/^timeout exceeded when trying to connect$/, 'connection timed out'],
  [/^The server does not support SSL connections$/, 'the server does not support SSL'],
];

/**
 * A {@link BackendUnavailableError} when `error` says the PostgreSQL server at `databaseUrl` could
 * not be reached or used (refused, unknown host, timed out, closed, login or database refused,
 * shutting down, too many connections), else undefined. Network errors count only when they name
 * that server's port or host: a failed connection to S3 or an LLM is not PostgreSQL's. The message
 * holds host:port and a code, never the URL's credentials nor the server's text.
 */
export function postgresUnavailable(
  error: unknown,
  databaseUrl: string,
): BackendUnavailableError | undefined {
  if (error instanceof BackendUnavailableError) return error;
  const endpoint = (reason: string) =>
    new BackendUnavailableError('PostgreSQL', endpointOf(databaseUrl, PG_PORT), reason);
  const net = connectErrorTo(error, databaseUrl, PG_PORT);
  if (net) return endpoint(net);
  const state = sqlState(error);
  if (state !== undefined) {
    const phrase =
      UNAVAILABLE_STATES[state] ?? (state.startsWith('08') ? `connection failure, ${state}` : '');
    return phrase ? endpoint(phrase) : undefined;
  }
  if (error instanceof Error) {
    for (const [re, phrase] of PG_CONNECTION_MESSAGES) if (re.test(error.message)) return endpoint(phrase);
  }
  return undefined;
}

const PG_PORT = 5432;
