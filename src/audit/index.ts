// The audit log's public face: one interface (AuditLog), the spooled implementation behind every
// sink (JSON Lines file by default; Splunk HEC, Datadog logs, a signed webhook in production), and a
// memory one for tests and callers that want none.
import type { Logger } from 'pino';

import { AuditEventSchema, type AuditEvent } from './event.js';
import type { AuditConfig } from './config.js';
import { Dispatcher, type DispatcherStatus } from './dispatcher.js';
import { createSink, type AuditSink, type FetchLike } from './sinks.js';

export {
  AuditEventSchema,
  cliPrincipal,
  deploymentEvent,
  generationEvent,
  type AuditEvent,
  type GenerationAuditEvent,
} from './event.js';
export { AuditConfigError, loadAuditConfig, type AuditConfig } from './config.js';
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook, verifyWebhook } from './sinks.js';
export { Spool, SpoolBusyError } from './spool.js';
export { type DispatcherStatus } from './dispatcher.js';

export interface AuditLog {
  /**
   * Validates the event and spools it durably for every sink; resolves once it is on disk (it is
   * then delivered in the background, in order, exactly once per sink unless a receiver accepted a
   * batch and the answer was lost; the event's `id` is the key to drop such a copy).
   */
  emit(event: AuditEvent): Promise<void>;
  /** Delivers now; true when every sink has everything. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Delivers for up to `timeoutMs` (default: the configured close timeout), then stops; the rest waits on disk. */
  close(timeoutMs?: number): Promise<void>;
  status(): DispatcherStatus[];
}

export interface AuditDeps {
  logger?: Logger;
  /** Delivery counters and the spool gauge (src/observability Metrics, or anything shaped like it). */
  metrics?: {
    recordAuditDelivery(sink: string, outcome: 'delivered' | 'retry' | 'dead-lettered', events: number): void;
    setAuditProbe(probe: (() => { sink: string; pending: number }[]) | undefined): void;
  };
  fetch?: FetchLike;
  /** Sinks to use instead of building them from the configuration (tests, custom receivers). */
  sinks?: AuditSink[];
}

class SpooledAuditLog implements AuditLog {
  #closed = false;
  constructor(
    private readonly dispatchers: Dispatcher[],
    private readonly config: AuditConfig,
    private readonly deps: AuditDeps,
  ) {}

  async emit(event: AuditEvent): Promise<void> {
    if (this.#closed) throw new Error('the audit log is closed');
    const parsed = AuditEventSchema.parse(event);
    await Promise.all(this.dispatchers.map((d) => d.enqueue([parsed])));
  }

  async flush(timeoutMs = this.config.closeTimeoutMs): Promise<boolean> {
    const done = await Promise.all(this.dispatchers.map((d) => d.flush(timeoutMs)));
    return done.every(Boolean);
  }

  async close(timeoutMs = this.config.closeTimeoutMs): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.dispatchers.map((d) => d.close(timeoutMs)));
    this.deps.metrics?.setAuditProbe(undefined);
    for (const d of this.dispatchers) {
      if (d.pending > 0)
        this.deps.logger?.warn(
          { event: 'audit-spooled', sink: d.name, pending: d.pending },
          `${d.pending} audit event(s) for ${d.name} stay spooled until the next start`,
        );
    }
  }

  status(): DispatcherStatus[] {
    return this.dispatchers.map((d) => d.status());
  }
}

/** Opens every configured sink's spool and starts delivering (including what earlier runs left). */
export async function openAuditLog(config: AuditConfig, deps: AuditDeps = {}): Promise<AuditLog> {
  const sinks =
    deps.sinks ??
    config.sinks.map((s) =>
      createSink(s, { timeoutMs: config.timeoutMs, ...(deps.fetch ? { fetch: deps.fetch } : {}) }),
    );
  const dispatchers: Dispatcher[] = [];
  try {
    for (const sink of sinks) {
      dispatchers.push(
        await Dispatcher.start(sink, {
          spoolRoot: config.spoolDir,
          batchSize: config.batchSize,
          flushIntervalMs: config.flushIntervalMs,
          retry: config.retry,
          spool: { fsync: config.fsync },
          onDelivery: (name, outcome, n) => deps.metrics?.recordAuditDelivery(name, outcome, n),
          onError: (name, message, consecutive) => {
            // The first failure of a streak, then every 10th: a SIEM outage is not a log flood.
            if (consecutive === 1 || consecutive % 10 === 0)
              deps.logger?.warn(
                { event: 'audit-delivery-failed', sink: name, consecutive, error: message },
                `audit delivery to ${name} failed; events stay spooled and are retried`,
              );
          },
        }),
      );
    }
  } catch (error) {
    await Promise.all(dispatchers.map((d) => d.close(0)));
    throw error;
  }
  deps.metrics?.setAuditProbe(() => dispatchers.map((d) => ({ sink: d.name, pending: d.pending })));
  return new SpooledAuditLog(dispatchers, config, deps);
}

/** Keeps events in memory: for tests, and for callers that audit nothing. */
export class MemoryAuditLog implements AuditLog {
  readonly events: AuditEvent[] = [];
  async emit(event: AuditEvent): Promise<void> {
    this.events.push(AuditEventSchema.parse(event));
  }
  async flush(): Promise<boolean> {
    return true;
  }
  async close(): Promise<void> {}
  status(): DispatcherStatus[] {
    return [];
  }
}
