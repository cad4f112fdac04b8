// Named prepared statements on PostgreSQL. Kysely hands node-postgres each query as text and values,
// which node-postgres sends as an unnamed statement: PostgreSQL parses and plans it on every run.
// For a queue worker's job (six statements: claim, three reads, the rule's insert, the job's update)
// that was most of the backend's work: with `log_min_duration_statement=0` over 500 jobs
// (`npx tsx bench/queue.ts 200 --modes 1x0 --warmup 300`, 2-core machine), parse and bind took
// 1.25 ms a job against 0.90 ms for execute. A name per statement text lets each connection parse
// once and PostgreSQL keep the plan: the backend's CPU a job falls, the work that runs beside a
// worker's main thread and caps what a second worker adds (README, speed).
//
// Bounded: at most `max` texts get a name (the rest run unnamed, as before), and only statements
// with 1 to 64 parameters and at most 4 KB of text: DDL, BEGIN/COMMIT and other statements without
// parameters stay unnamed, and so do multi-row inserts and long `in (...)` lists, whose text changes
// with their length (each would hold a parsed tree in every backend that ran it). A statement whose
// result columns changed under it (a migration added a column to a table a running process reads
// with `select *` or `returning *`) fails with SQLSTATE 0A000 (errors.ts, isStalePlan): its text then
// gets a new name, parsed anew by every connection, and outside a transaction the statement runs
// again at once (0A000 comes while binding, before anything executed); inside one the error stands
// (the transaction is aborted) and withRetry (errors.ts) runs the transaction again under the new
// name. A pooler that moves a client between server connections without keeping its statements
// (PgBouncer in transaction mode without `max_prepared_statements`, 1.21+) answers 26000 or 42P05:
// the error then names WAFGEN_PG_PREPARE=0, which turns named statements off, and the text is named
// anew, so that a statement lost once (a DISCARD ALL) is parsed again. Names are the text's hash
// (StatementNames), so one name never stands for two texts, in this process or another.
import { createHash } from 'node:crypto';

import type pg from 'pg';

import { isLostStatement, isStalePlan } from './errors.js';

/** Texts that get a name, at most: more than the store's queries (about 60), fewer than a leak. */
const MAX_PREPARED = 500;

/**
 * Statement names shared by a pool's connections, one per query text. A name is the text's hash (and
 * how many times it was renewed): the same name means the same text in every process, so a server
 * connection that a pooler hands from one wafgen process to another can never run another text
 * under a name this process thinks it parsed.
 */
export class StatementNames {
  private readonly names = new Map<string, { name: string; renewed: number }>();

  constructor(private readonly max = MAX_PREPARED) {}

  get size(): number {
    return this.names.size;
  }

  /** The text's name; undefined when it has none and `max` texts already have one (run it unnamed). */
  of(text: string): string | undefined {
    let entry = this.names.get(text);
    if (entry === undefined) {
      if (this.names.size >= this.max) return undefined;
      entry = { name: nameOf(text, 0), renewed: 0 };
      this.names.set(text, entry);
    }
    return entry.name;
  }

  /** A new name for a text whose prepared statement no longer fits its table or was lost. */
  renew(text: string): string {
    const renewed = (this.names.get(text)?.renewed ?? 0) + 1;
    const name = nameOf(text, renewed);
    this.names.set(text, { name, renewed });
    return name;
  }
}

function nameOf(text: string, renewed: number): string {
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 24);
  return renewed === 0 ? `wafgen_${hash}` : `wafgen_${hash}_${renewed}`;
}

/** Statements with more parameters or a longer text run unnamed (see above). */
const MAX_PARAMETERS = 64;
const MAX_TEXT = 4096;

const POOLER_HINT =
  ' (wafgen runs named prepared statements: behind a pooler that does not keep them, such as PgBouncer in transaction mode without max_prepared_statements, set WAFGEN_PG_PREPARE=0)';

type Query = (text: unknown, values?: unknown, callback?: unknown) => unknown;

/** Makes the client run Kysely's parameterised queries as named statements (see above). */
export function prepareStatements(client: pg.ClientBase, names: StatementNames): void {
  const query = client.query.bind(client) as Query;
  const run = (name: string, text: string, values: unknown[]): Promise<pg.QueryResult> =>
    query({ name, text, values }) as Promise<pg.QueryResult>;
  const named: Query = (text, values, callback) => {
    if (
      typeof text !== 'string' ||
      !Array.isArray(values) ||
      values.length === 0 ||
      values.length > MAX_PARAMETERS ||
      text.length > MAX_TEXT ||
      callback !== undefined
    )
      return query(text, values, callback);
    const name = names.of(text);
    if (name === undefined) return query(text, values);
    return run(name, text, values).catch((error: unknown) => {
      if (isLostStatement(error)) {
        // Parsed anew under another name next time (after a DISCARD ALL, say), and said why.
        names.renew(text);
        if (error instanceof Error) error.message += POOLER_HINT;
        throw error;
      }
      if (!isStalePlan(error)) throw error;
      const renewed = names.renew(text);
      // The status read here may predate the error's ReadyForQuery: a lone statement goes from I to
      // I (no transaction), or from T to E; either way I means no transaction is open.
      if (client.getTransactionStatus() !== 'I') throw error;
      return run(renewed, text, values);
    });
  };
  client.query = named as typeof client.query;
}
