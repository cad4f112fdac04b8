/**
 * @module Generation off the event loop: a pool of worker threads, each with its own service
 * (store connection, Redis cache and single-flight lock, engine), that runs `rules.generate` for
 * the queue consumer on the main thread. The consumer, its job records and its BullMQ lock
 * renewals stay on the main thread, so a CPU-bound generation never delays them, and one
 * `wafgen worker` process uses as many cores as it has threads.
 *
 * Why: generation is CPU work on the event loop, so a process generating on its main thread uses
 * one core at most, whatever its concurrency: 14.7 s of CPU in 16.6 s for 200 bundled CVEs with
 * their exploits, 74 ms per job, runGeneration and its checks most of the profile
 * (`npm run bench:queue -- 200 --modes 1x0 --profile DIR`, on 2 cores at load average 9).
 *
 * A call is sent to the thread with the fewest calls under way, except that the calls of an LLM
 * batch (`llmBatch` n > 1) go to one thread until n have gone there: first attempts share a call
 * only within one engine, so spread over threads they would each wait out the batch window and
 * go out in smaller calls. A thread that dies (a crash, an
 * out-of-memory kill) fails its calls — the jobs retry with backoff as for any failure — and is
 * replaced. Audit events are sent to the main thread, which spools them (one spool per process).
 */
import type { Worker } from 'node:worker_threads';

import type { Logger } from 'pino';

import { InputError } from '../core/errors.js';
import { siblingEntry, startWorker } from '../core/worker-entry.js';
import { NoRuleError } from '../app/index.js';
import type { GenerateCall, GenerateResult, ThreadInit, ThreadMessage, WireError } from './protocol.js';

/** Emits an audit event durably (the main thread's audit log). */
type AuditEmit = (event: unknown) => Promise<void>;

export interface PoolOptions {
  threads: number;
  /** The environment each thread's service is configured from. */
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Where the threads' audit events go; without it they are dropped (the caller audits nothing). */
  audit?: AuditEmit;
  /** The thread's module (tests run a stand-in); default ./thread.js beside this file. */
  entry?: URL;
  /** Extra data for the thread (tests). */
  data?: Record<string, unknown>;
}

interface Pending {
  resolve(v: GenerateResult): void;
  reject(e: Error): void;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  calls: Map<number, Pending>;
  startedAt: number;
  /**
   * Per batch size, the calls of the batch this thread is filling (sent since its last one filled):
   * the rest of that batch comes here, as a batch is one call of one thread's engine.
   */
  filling: Map<number, number>;
}

/** An error from a thread as the job lifecycle knows it: no-rule and bad input keep their classes. */
function fromWire(e: WireError): Error {
  const error = e.noRule
    ? new NoRuleError(e.noRule.facts as NoRuleError['facts'])
    : e.input
      ? new InputError(e.message)
      : new Error(e.message);
  // The thread's own name (CveNotFoundError, a provider's error) and message, for logs and job records.
  Object.defineProperty(error, 'name', { value: e.name, configurable: true, writable: true });
  Object.defineProperty(error, 'message', { value: e.message, configurable: true, writable: true });
  if (e.stack) error.stack = e.stack;
  return error;
}

/** The thread module: ./thread.js, or ./thread.ts when running from the sources (tsx, vitest). */
function defaultEntry(): URL {
  return siblingEntry(import.meta.url, 'thread');
}

export class GenerationPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: { call: GenerateCall; pending: Pending }[] = [];
  private nextId = 1;
  private closing = false;
  private readonly entry: URL;

  private constructor(private readonly opts: PoolOptions) {
    this.entry = opts.entry ?? defaultEntry();
  }

  /** Starts the threads and waits until each has opened its service (throws when one cannot). */
  static async start(opts: PoolOptions): Promise<GenerationPool> {
    const pool = new GenerationPool(opts);
    try {
      await Promise.all(Array.from({ length: opts.threads }, (_, i) => pool.spawn(i)));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Calls under way per thread (for tests and logs). */
  get load(): number[] {
    return this.slots.map((s) => s.calls.size);
  }

  private spawn(index: number): Promise<void> {
    const init: ThreadInit = {
      env: this.opts.env,
      index,
      ...(this.opts.data ? { data: this.opts.data } : {}),
    };
    const worker = startWorker(this.entry, { workerData: init, env: this.opts.env });
    const slot: Slot = {
      index,
      worker,
      ready: false,
      calls: new Map(),
      startedAt: Date.now(),
      filling: new Map(),
    };
    this.slots[index] = slot;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: ThreadMessage) => {
        switch (m.type) {
          case 'ready':
            slot.ready = true;
            resolve();
            this.drain();
            return;
          case 'init-failed':
            reject(fromWire(m.error));
            return;
          case 'result':
            this.settle(slot, m.id, (p) => p.resolve(m.result));
            return;
          case 'error':
            this.settle(slot, m.id, (p) => p.reject(fromWire(m.error)));
            return;
          case 'audit':
            (this.opts.audit ? this.opts.audit(m.event) : Promise.resolve()).then(
              () => worker.postMessage({ type: 'audit-done', id: m.id }),
              (e: unknown) =>
                worker.postMessage({
                  type: 'audit-done',
                  id: m.id,
                  error: e instanceof Error ? e.message : String(e),
                }),
            );
            return;
        }
      });
      worker.on('error', (e) => {
        this.opts.log.error({ thread: index, err: e.message }, 'generation thread failed');
        reject(e);
      });
      worker.on('exit', (code) => {
        const lost = [...slot.calls.values()];
        slot.calls.clear();
        slot.ready = false;
        for (const p of lost) p.reject(new Error(`generation thread ${index} stopped (exit code ${code})`));
        reject(new Error(`generation thread ${index} exited (code ${code}) before it was ready`));
        if (this.closing || this.slots[index] !== slot) return;
        this.opts.log.warn(
          { thread: index, code, calls: lost.length },
          'generation thread stopped; replacing it',
        );
        // A thread that cannot even start (bad configuration, store away) is not restarted in a hot loop.
        const delay = Date.now() - slot.startedAt < 5000 ? 1000 : 0;
        setTimeout(() => {
          if (this.closing) return;
          this.spawn(index).catch((e: unknown) =>
            this.opts.log.error(
              { thread: index, err: e instanceof Error ? e.message : String(e) },
              'generation thread could not start',
            ),
          );
        }, delay).unref();
      });
    });
  }

  private settle(slot: Slot, id: number, f: (p: Pending) => void): void {
    const p = slot.calls.get(id);
    if (!p) return;
    slot.calls.delete(id);
    f(p);
    this.drain();
  }

  /**
   * Sends waiting calls to the ready thread with the fewest calls under way, or for a call of an
   * LLM batch, to the thread filling a batch of that size.
   */
  private drain(): void {
    while (this.waiting.length > 0) {
      const { call } = this.waiting[0]!;
      const n = Math.floor(call.options.llmBatch ?? 1);
      let best: Slot | undefined;
      if (n > 1)
        for (const s of this.slots)
          if (s?.ready && (s.filling.get(n) ?? 0) > 0 && (!best || s.calls.size < best.calls.size)) best = s;
      if (!best)
        for (const s of this.slots) if (s?.ready && (!best || s.calls.size < best.calls.size)) best = s;
      if (!best) return;
      const { pending } = this.waiting.shift()!;
      if (n > 1) {
        const filled = (best.filling.get(n) ?? 0) + 1;
        if (filled >= n) best.filling.delete(n);
        else best.filling.set(n, filled);
      }
      best.calls.set(call.id, pending);
      best.worker.postMessage(call);
    }
  }

  /** Runs `rules.generate` on a thread: the same answer and the same errors as on this one. */
  generate(cveId: string, options: GenerateCall['options'] = {}): Promise<GenerateResult> {
    if (this.closing) return Promise.reject(new Error('the generation pool is closed'));
    return new Promise<GenerateResult>((resolve, reject) => {
      this.waiting.push({
        call: { type: 'generate', id: this.nextId++, cveId, options },
        pending: { resolve, reject },
      });
      this.drain();
    });
  }

  /**
   * Closes the threads' services and stops them. Calls still under way fail (the consumer has
   * handed their jobs back by then): their threads are stopped at once, so none saves a rule for a
   * job another worker now runs.
   */
  async close(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    for (const { pending } of this.waiting.splice(0))
      pending.reject(new Error('the generation pool is closed'));
    await Promise.all(
      this.slots.map(async (slot) => {
        if (!slot) return;
        const exited = new Promise<void>((r) => {
          if (slot.worker.threadId === -1) r();
          else slot.worker.once('exit', () => r());
        });
        if (slot.calls.size > 0 || !slot.ready) {
          await slot.worker.terminate();
          return;
        }
        slot.worker.postMessage({ type: 'close' });
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          exited,
          new Promise<void>((r) => {
            timer = setTimeout(r, timeoutMs);
          }),
        ]);
        clearTimeout(timer);
        await slot.worker.terminate();
      }),
    );
  }
}
