// Delivery from a spool to one sink: batches by size and time, retries with exponential backoff
// (and the receiver's Retry-After) for as long as the sink is down, and acknowledges each batch the
// moment the sink has it. Spools left by processes that died are adopted and drained first.
import { appendFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { redactText } from '../observability/redact.js';
import type { AuditEvent } from './event.js';
import { SinkError, type AuditSink } from './sinks.js';
import { Spool, SpoolBusyError, type SpoolBatch, type SpoolOptions } from './spool.js';

export interface DispatcherOptions {
  /** Folder holding one spool folder per sink. */
  spoolRoot: string;
  batchSize: number;
  flushIntervalMs: number;
  retry: { initialMs: number; maxMs: number };
  spool?: SpoolOptions;
  /** Largest request body, roughly (Datadog: 5 MB). */
  maxBatchBytes?: number;
  onDelivery?: (sink: string, outcome: 'delivered' | 'retry' | 'dead-lettered', events: number) => void;
  /** A failed delivery (message scrubbed) and how many have failed in a row. */
  onError?: (sink: string, message: string, consecutive: number) => void;
  /** Adopted spools are looked for at start and then at most this often (default 60 s). */
  adoptIntervalMs?: number;
}

export interface DispatcherStatus {
  sink: string;
  pending: number;
  consecutiveFailures: number;
  lastError?: string;
}

/** A sleep that `wake()` ends early. */
class Waker {
  #wake: (() => void) | undefined;
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      // Unref'd: a process that forgot close() may still exit; what it spooled waits on disk.
      const t = setTimeout(done, Math.max(0, ms)).unref();
      this.#wake = done;
    });
  }
  wake(): void {
    this.#wake?.();
  }
}

const IDLE_MS = 60_000;

export class Dispatcher {
  readonly #sink: AuditSink;
  readonly #own: Spool;
  readonly #adopted: Spool[] = [];
  readonly #opts: DispatcherOptions;
  readonly #waker = new Waker();
  #loop: Promise<void> | undefined;
  #closing = false;
  #flushRequested = 0;
  #failures = 0;
  #lastError: string | undefined;
  /** When the oldest not-yet-due event was spooled by this process. */
  #firstPendingAt: number | undefined;
  #lastAdopt = 0;
  readonly #idleWaiters = new Set<() => void>();

  private constructor(sink: AuditSink, own: Spool, opts: DispatcherOptions) {
    this.#sink = sink;
    this.#own = own;
    this.#opts = opts;
  }

  /**
   * Opens the sink's spool (`<root>/<sink>`; `<root>/<sink>@<pid>` when another live process holds
   * it), adopts spools of dead processes, and starts delivering what they hold.
   */
  static async start(sink: AuditSink, opts: DispatcherOptions): Promise<Dispatcher> {
    let own: Spool;
    try {
      own = await Spool.open(join(opts.spoolRoot, sink.name), opts.spool);
    } catch (error) {
      if (!(error instanceof SpoolBusyError)) throw error;
      own = await Spool.open(join(opts.spoolRoot, `${sink.name}@${process.pid}`), opts.spool);
    }
    const d = new Dispatcher(sink, own, opts);
    await d.#adopt();
    // Whatever an earlier run left behind is due at once.
    if (own.pending > 0) d.#firstPendingAt = 0;
    d.#loop = d.#run();
    return d;
  }

  get name(): string {
    return this.#sink.name;
  }

  get pending(): number {
    return this.#own.pending + this.#adopted.reduce((n, s) => n + s.pending, 0);
  }

  status(): DispatcherStatus {
    return {
      sink: this.#sink.name,
      pending: this.pending,
      consecutiveFailures: this.#failures,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  /** Spools the events durably; delivery follows when the batch is full or the interval passes. */
  async enqueue(events: readonly AuditEvent[]): Promise<void> {
    if (this.#closing) throw new Error(`the ${this.#sink.name} audit sink is closed`);
    await this.#own.append(events.map((e) => JSON.stringify(e)));
    this.#firstPendingAt ??= Date.now();
    if (this.#own.pending >= this.#batchSize() || this.#opts.flushIntervalMs === 0) this.#waker.wake();
    else if (this.#own.pending === events.length) this.#waker.wake(); // re-arm the timer
  }

  /** Delivers now, without waiting for the batch interval or a backoff; resolves when nothing is pending or at the timeout. */
  async flush(timeoutMs: number): Promise<boolean> {
    this.#flushRequested++;
    try {
      this.#waker.wake();
      return await this.#waitIdle(timeoutMs);
    } finally {
      this.#flushRequested--;
    }
  }

  /**
   * Delivers what it can within `timeoutMs` (a request in flight is let finish, so it is never sent
   * twice), then stops; the rest stays spooled for the next start.
   */
  async close(timeoutMs: number): Promise<void> {
    if (!this.#closing) {
      if (timeoutMs > 0) await this.flush(timeoutMs);
      this.#closing = true;
      this.#waker.wake();
    }
    await this.#loop;
    for (const s of this.#adopted) await s.close();
    await this.#own.close();
  }

  #batchSize(): number {
    return Math.max(1, Math.min(this.#opts.batchSize, this.#sink.maxBatch));
  }

  #waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#idleWaiters.delete(done);
        resolve(this.pending === 0);
      };
      const timer = setTimeout(done, timeoutMs);
      this.#idleWaiters.add(done);
    });
  }

  #notifyIdle(): void {
    if (this.pending !== 0) return;
    for (const w of [...this.#idleWaiters]) w();
  }

  async #adopt(): Promise<void> {
    this.#lastAdopt = Date.now();
    const prefix = `${this.#sink.name}@`;
    const names = await readdir(this.#opts.spoolRoot).catch(() => [] as string[]);
    const ownName = this.#own.dir.slice(this.#opts.spoolRoot.length + 1);
    const candidates = names.filter(
      (n) =>
        n !== ownName &&
        (n === this.#sink.name || (n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))) &&
        !this.#adopted.some((s) => s.dir === join(this.#opts.spoolRoot, n)),
    );
    for (const n of candidates) {
      const dir = join(this.#opts.spoolRoot, n);
      if (!(await Spool.hasSegments(dir))) continue;
      try {
        const spool = await Spool.open(dir, this.#opts.spool);
        if (spool.pending === 0) await spool.close({ remove: n !== this.#sink.name });
        else this.#adopted.push(spool);
      } catch (error) {
        if (!(error instanceof SpoolBusyError)) throw error; // its owner is alive and delivering
      }
    }
  }

  #due(): number {
    if (this.#adopted.some((s) => s.pending > 0)) return 0;
    if (this.#own.pending === 0) return Number.POSITIVE_INFINITY;
    if (this.#closing || this.#flushRequested > 0 || this.#own.pending >= this.#batchSize()) return 0;
    const since = this.#firstPendingAt ?? 0;
    return Math.max(0, since + this.#opts.flushIntervalMs - Date.now());
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#closing) return;
      const wait = this.#due();
      if (wait > 0) {
        if (
          wait === Number.POSITIVE_INFINITY &&
          Date.now() - this.#lastAdopt > (this.#opts.adoptIntervalMs ?? IDLE_MS)
        )
          await this.#adopt().catch(() => {});
        await this.#waker.sleep(Math.min(wait, this.#opts.adoptIntervalMs ?? IDLE_MS));
        continue;
      }
      const spool = this.#adopted.find((s) => s.pending > 0) ?? this.#own;
      let ok: boolean;
      try {
        ok = await this.#deliverOne(spool);
      } catch (error) {
        // The spool itself failed (disk): report, back off, try again.
        ok = false;
        this.#failed(error instanceof Error ? error.message : String(error));
      }
      if (ok) {
        this.#failures = 0;
        this.#lastError = undefined;
        if (spool !== this.#own && spool.pending === 0) {
          this.#adopted.splice(this.#adopted.indexOf(spool), 1);
          await spool.close({ remove: basename(spool.dir) !== this.#sink.name });
        }
        if (this.#own.pending === 0) this.#firstPendingAt = undefined;
        this.#notifyIdle();
        continue;
      }
      if (this.#closing) return;
      // Not cockatiel's retry: its wait cannot be cut short, and wake() (flush, close, enqueue) ends this.
      const backoff = Math.min(
        this.#opts.retry.maxMs,
        this.#opts.retry.initialMs * 2 ** Math.min(this.#failures - 1, 30),
      );
      const jittered = backoff / 2 + Math.random() * (backoff / 2);
      await this.#waker.sleep(Math.max(jittered, this.#retryAfter ?? 0));
      this.#retryAfter = undefined;
    }
  }

  #retryAfter: number | undefined;

  #failed(message: string, retryAfterMs?: number, events = 0): void {
    this.#failures++;
    this.#lastError = redactText(message);
    if (retryAfterMs !== undefined) this.#retryAfter = Math.min(retryAfterMs, this.#opts.retry.maxMs);
    this.#opts.onDelivery?.(this.#sink.name, 'retry', events);
    this.#opts.onError?.(this.#sink.name, this.#lastError, this.#failures);
  }

  async #deadLetter(lines: readonly string[], reason: string): Promise<void> {
    const file = join(this.#opts.spoolRoot, `${this.#sink.name}.dead.jsonl`);
    const at = new Date().toISOString();
    await appendFile(
      file,
      lines.map((line) => JSON.stringify({ at, reason: redactText(reason), line }) + '\n').join(''),
      { mode: 0o600 },
    );
    this.#opts.onDelivery?.(this.#sink.name, 'dead-lettered', lines.length);
  }

  /** One batch from `spool` to the sink. False when the sink is down (the batch stays spooled). */
  async #deliverOne(spool: Spool): Promise<boolean> {
    const batch: SpoolBatch = await spool.peek(
      this.#batchSize(),
      this.#opts.maxBatchBytes ?? 4 * 1024 * 1024,
    );
    if (batch.lines.length === 0) {
      // Counted lines that cannot be read whole (a torn tail): nothing to send until it is repaired.
      this.#failed(`${spool.dir}: spooled events could not be read`);
      return false;
    }
    const events: AuditEvent[] = [];
    const index: number[] = [];
    const broken: string[] = [];
    batch.lines.forEach((line, i) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      // Validated when emitted; here only the shape a sink needs, so that events spooled by an
      // older or newer version of wafgen are still delivered after an upgrade.
      const e = parsed as Partial<AuditEvent> | undefined;
      if (e && typeof e === 'object' && typeof e.id === 'string' && typeof e.type === 'string') {
        events.push(e as AuditEvent);
        index.push(i);
      } else broken.push(line);
    });
    const brokenOut = () =>
      broken.length > 0 ? this.#deadLetter(broken, 'not a valid audit event') : undefined;
    if (events.length === 0) {
      await brokenOut();
      await spool.ack(batch.ends.at(-1)!, batch.lines.length);
      return true;
    }
    try {
      await this.#sink.send(events);
    } catch (error) {
      if (!(error instanceof SinkError) || !error.permanent) {
        const message = error instanceof Error ? error.message : String(error);
        this.#failed(message, (error as SinkError).retryAfterMs, events.length);
        return false;
      }
      await brokenOut();
      if (events.length > 1) {
        // Find the event the receiver refuses: one at a time, acknowledging as they go.
        for (let k = 0; k < events.length; k++) {
          const end = batch.ends[index[k]!]!;
          try {
            await this.#sink.send([events[k]!]);
            this.#opts.onDelivery?.(this.#sink.name, 'delivered', 1);
          } catch (e) {
            if (!(e instanceof SinkError) || !e.permanent) {
              this.#failed(e instanceof Error ? e.message : String(e), (e as SinkError).retryAfterMs, 1);
              return false;
            }
            await this.#deadLetter([batch.lines[index[k]!]!], e.message);
          }
          await spool.ack(end, index[k]! + 1 - (k === 0 ? 0 : index[k - 1]! + 1));
        }
        const last = batch.ends.at(-1)!;
        await spool.ack(last, batch.lines.length - (index.at(-1)! + 1));
        return true;
      }
      await this.#deadLetter([batch.lines[index[0]!]!], error.message);
      await spool.ack(batch.ends.at(-1)!, batch.lines.length);
      return true;
    }
    await spool.ack(batch.ends.at(-1)!, batch.lines.length);
    this.#opts.onDelivery?.(this.#sink.name, 'delivered', events.length);
    await brokenOut();
    return true;
  }
}
