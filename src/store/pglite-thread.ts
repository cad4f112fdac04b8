/**
 * @module The embedded database on a thread of its own, for a command that can start it before it
 * loads the rest of its code. PostgreSQL in WASM takes about half a second to start in an existing
 * folder (wasm instantiation, PostgreSQL's start, its first queries: main-thread CPU when PGlite
 * runs in process), and a `wafgen generate` spends as long loading its modules and warming its
 * checks: on a thread the two overlap on a second core instead of queueing on one.
 *
 * Measured on a 2-core machine (`npm run bench:cli`, warm generate row; alternating runs of
 * `/usr/bin/time node bin/wafgen.js generate CVE-2021-44228`, WAFGEN_OFFLINE=1, a warm data
 * directory): see the README's speed section for the figures; the thread costs some RSS (a second
 * V8 isolate), so it is used only by short commands that have work to overlap (generate), only on a
 * folder that exists (a new one is made from the template in process, which keeps the first run's
 * peak memory), and never by the long-running `serve` and `worker`.
 *
 * The thread answers what kysely-pglite-dialect asks of PGlite: `query(sql, params)` (rows and
 * affected rows) and `close()`. Values cross as structured clones (Date, bigint, Uint8Array and
 * parsed JSON keep their types); errors keep their name, message and their own string or number
 * fields (PostgreSQL's SQLSTATE in `code`, which store/errors.ts reads).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import v8 from 'node:v8';
import type { Worker } from 'node:worker_threads';

import { siblingEntry, startWorker } from '../core/worker-entry.js';
import { lockDataDir } from './lock.js';

/**
 * PostgreSQL's start parameters after PGlite's defaults, in process and on the thread alike: 8 MB of
 * shared buffers instead of 128 (db.ts, pgliteKysely, says what that saves).
 */
export const PGLITE_START_PARAMS: readonly string[] = ['-c', 'shared_buffers=8MB'];

/** What the thread is started with. */
export interface ThreadStart {
  dir: string;
  /** PostgreSQL start parameters after PGlite's defaults (`-c shared_buffers=…`). */
  startParams: string[];
}

export type ThreadRequest = { type: 'query'; id: number; sql: string; params: unknown[] } | { type: 'close' };

export interface WireError {
  name: string;
  message: string;
  /** The error's own string and number fields (code, detail, severity…). */
  fields: Record<string, string | number>;
}

export type ThreadReply =
  | { type: 'ready' }
  | { type: 'failed'; error: WireError }
  | { type: 'result'; id: number; rows?: Record<string, unknown>[]; affectedRows?: number; error?: WireError }
  | { type: 'closed'; error?: WireError };

/** At most this many of an error's own fields cross, each string cut to MAX_FIELD_CHARS. */
const MAX_FIELDS = 32;
const MAX_FIELD_CHARS = 4_000;

export function wireError(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), fields: {} };
  const fields: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(e).slice(0, MAX_FIELDS)) {
    if (typeof v === 'string') fields[k] = v.slice(0, MAX_FIELD_CHARS);
    else if (typeof v === 'number') fields[k] = v;
  }
  return { name: e.name, message: e.message, fields };
}

function fromWire(w: WireError): Error {
  const error = Object.assign(new Error(w.message), w.fields);
  Object.defineProperty(error, 'name', { value: w.name, configurable: true, writable: true });
  return error;
}

interface Pending {
  resolve: (r: { rows: Record<string, unknown>[]; affectedRows?: number }) => void;
  reject: (e: Error) => void;
}

/** PGlite's query face, answered by a thread that runs PGlite. */
export class PgliteThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing: Promise<void> | undefined;
  private dead: Error | undefined;
  /** Settles when PGlite has opened on the thread (rejects when it could not). */
  readonly ready: Promise<void>;
  private onClosed: ((error?: Error) => void) | undefined;

  private constructor(start: ThreadStart) {
    // As in process (db.ts, pgliteKysely): Liftoff only, PostgreSQL's few small queries do not repay
    // TurboFan. V8's flags are the process's: set here, before the thread's isolate exists, not on it.
    v8.setFlagsFromString('--liftoff-only');
    this.worker = startWorker(siblingEntry(import.meta.url, 'pglite-thread-worker'), { workerData: start });
    let opened: () => void;
    let failed: (e: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    // Handled here so that a thread nobody waits for does not report an unhandled rejection; the
    // caller still sees the failure through `ready`.
    this.ready.catch(() => {});
    this.worker.on('message', (m: ThreadReply) => {
      if (m.type === 'ready') opened();
      else if (m.type === 'failed') failed(fromWire(m.error));
      else if (m.type === 'closed') this.onClosed?.(m.error ? fromWire(m.error) : undefined);
      else {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error) p.reject(fromWire(m.error));
        else
          p.resolve({
            rows: m.rows ?? [],
            ...(m.affectedRows !== undefined ? { affectedRows: m.affectedRows } : {}),
          });
      }
    });
    const gone = (error: Error) => {
      this.dead ??= error;
      failed(error);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      this.onClosed?.(error);
    };
    this.worker.on('error', (e) => gone(e));
    this.worker.on('exit', (code) => gone(new Error(`the embedded database's thread exited (code ${code})`)));
  }

  /** Starts PGlite in `dir` on a new thread; `ready` says when it is open. */
  static start(start: ThreadStart): PgliteThread {
    return new PgliteThread(start);
  }

  async query(
    sql: string,
    params: unknown[] = [],
  ): Promise<{ rows: Record<string, unknown>[]; affectedRows?: number }> {
    if (this.dead) throw this.dead;
    if (this.closing) throw new Error('the embedded database is closed');
    await this.ready;
    // The thread may have ended while this waited: a query sent now would never be answered.
    if (this.dead) throw this.dead;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'query', id, sql, params } satisfies ThreadRequest);
    });
  }

  /** Closes PGlite cleanly (its next start needs no recovery), then the thread. Safe to call twice. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      if (this.dead) return;
      try {
        await this.ready;
      } catch {
        await this.worker.terminate();
        return;
      }
      const closed = new Promise<Error | undefined>((resolve) => (this.onClosed = resolve));
      this.worker.postMessage({ type: 'close' } satisfies ThreadRequest);
      const error = await closed;
      await this.worker.terminate();
      if (error) throw error;
    })());
  }
}

/** A thread started ahead of the store's open, with the folder's lock it holds. */
interface Early {
  thread: PgliteThread;
  release: () => Promise<void>;
  /** Taken over by a store, which now closes the thread and releases the lock. */
  taken: boolean;
}

const early = new Map<string, Early>();

/**
 * Starts PGlite on a thread for `<dataDir>/pglite` now, for the store this process opens later with
 * `pgliteThread` (openStore takes it over, lock included). Only a folder that holds a database: a
 * new one is made in process from the template. Returns a disposer to call when the command ends:
 * it closes the thread (a no-op once the store closed it) and releases the lock if the store never
 * took it over (a command that failed first); undefined when
 * nothing was started (no database there yet, the folder busy: openStore then says so itself).
 */
export async function startPgliteEarly(dataDir: string): Promise<(() => Promise<void>) | undefined> {
  const dir = join(dataDir, 'pglite');
  if (early.has(dir) || !(await stat(join(dir, 'PG_VERSION')).catch(() => undefined))) return undefined;
  let release: () => Promise<void>;
  try {
    release = await lockDataDir(dir);
  } catch {
    return undefined;
  }
  const entry: Early = {
    thread: PgliteThread.start({ dir, startParams: [...PGLITE_START_PARAMS] }),
    release,
    taken: false,
  };
  early.set(dir, entry);
  return async () => {
    if (entry.taken) {
      // The store closes it; closing again is a no-op then, and ends the thread if the store was
      // never closed (a command that failed with it open), so the process can still end. The lock
      // stays the store's: its file names this process, which a later opener finds gone.
      await entry.thread.close();
      return;
    }
    if (early.get(dir) !== entry) return;
    early.delete(dir);
    try {
      await entry.thread.close();
    } finally {
      await entry.release();
    }
  };
}

/** The thread startPgliteEarly started for `dir` (a PGlite folder), now the caller's, lock included. */
export function takePgliteEarly(dir: string): Early | undefined {
  const entry = early.get(dir);
  if (!entry) return undefined;
  early.delete(dir);
  entry.taken = true;
  return entry;
}
