// Named prepared statements on PostgreSQL. Kysely hands node-postgres each query as text and values,
// which node-postgres sends as an unnamed statement: PostgreSQL parses and plans it on every run.
// For a queue worker's job (six statements: claim, three reads, the rule's insert, the job's update)
// that was most of the backend's work: with `log_min_duration_statement=0` over 500 jobs
// (`npx tsx bench/queue.ts 200 --modes 1x0 --warmup 300`, 2-core machine), parse and bind took
// 1.25 ms a job against 0.90 ms for execute. A name per statement text lets each connection parse
// once and PostgreSQL keep the plan: the backend's CPU a job falls, the work that runs beside a
// worker's main thread and caps what a second worker adds (README, speed).
//
// Bounded: at most `max` texts get a name (the rest run unnamed, as before); only statements with
// parameters are named (DDL, BEGIN/COMMIT and the migrations run unnamed). A statement whose result
// columns changed under it (a migration added a column to a table a running process reads with
// `select *` or `returning *`) fails with "cached plan must not change result type": its text then
// gets a new name, parsed anew by every connection, and outside a transaction the statement runs
// again at once; inside one the error stands (the transaction is aborted) and the caller's retry
// runs under the new name. PgBouncer in transaction mode before 1.21 cannot keep named statements:
// WAFGEN_PG_PREPARE=0 turns them off.
import type pg from 'pg';

/** Texts that get a name, at most: more than the store's queries (about 60), fewer than a leak. */
const MAX_PREPARED = 500;

/** Statement names shared by a pool's connections, one per query text. */
export class StatementNames {
  private readonly names = new Map<string, string>();
  private next = 0;

  constructor(private readonly max = MAX_PREPARED) {}

  get size(): number {
    return this.names.size;
  }

  /** The text's name; undefined when it has none and `max` texts already have one (run it unnamed). */
  of(text: string): string | undefined {
    let name = this.names.get(text);
    if (name === undefined && this.names.size < this.max) {
      name = this.fresh();
      this.names.set(text, name);
    }
    return name;
  }

  /** A new name for a text whose prepared plan no longer fits its table. */
  renew(text: string): string {
    const name = this.fresh();
    this.names.set(text, name);
    return name;
  }

  private fresh(): string {
    return `wafgen_${++this.next}`;
  }
}

/** PostgreSQL's answer to a prepared statement whose result columns changed (SQLSTATE 0A000). */
export function isStalePlan(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return (
    e?.code === '0A000' &&
    typeof e.message === 'string' &&
    e.message.includes('cached plan must not change result type')
  );
}

type Query = (text: unknown, values?: unknown, callback?: unknown) => unknown;

/** Makes the client run Kysely's parameterised queries as named statements (see above). */
export function prepareStatements(client: pg.ClientBase, names: StatementNames): void {
  const query = client.query.bind(client) as Query;
  const run = (name: string, text: string, values: unknown[]): Promise<pg.QueryResult> =>
    query({ name, text, values }) as Promise<pg.QueryResult>;
  const named: Query = (text, values, callback) => {
    if (typeof text !== 'string' || !Array.isArray(values) || values.length === 0 || callback !== undefined)
      return query(text, values, callback);
    const name = names.of(text);
    if (name === undefined) return query(text, values);
    return run(name, text, values).catch((error: unknown) => {
      if (!isStalePlan(error)) throw error;
      const renewed = names.renew(text);
      if (client.getTransactionStatus() !== 'I') throw error;
      return run(renewed, text, values);
    });
  };
  client.query = named as typeof client.query;
}
