// What the main thread and the generation threads say to each other (src/worker/pool.ts), and the
// thread side of it: serveThread answers the main thread's calls with a generate function.
import type { MessagePort } from 'node:worker_threads';

import { NoRuleError, type OpenServiceOptions, type Service } from '../app/index.js';
import { InputError } from '../core/errors.js';
import { defaultMetrics } from '../observability/index.js';
import { answerMetricsScrapes } from './metrics.js';

type Generate = Service['rules']['generate'];
export type GenerateResult = Awaited<ReturnType<Generate>>;
type GenerateOptions = NonNullable<Parameters<Generate>[1]>;
/** The audit log a thread's service writes to. */
export type ThreadAudit = NonNullable<Exclude<OpenServiceOptions['audit'], false>>;

export interface ThreadInit {
  env: NodeJS.ProcessEnv;
  index: number;
  data?: Record<string, unknown>;
}

/** An error as it crosses threads: its name, and the class the job lifecycle decides on. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** A NoRuleError (or a subclass): the job dies with its facts. */
  noRule?: { facts: unknown };
  /** An InputError (or a subclass, e.g. CveNotFoundError): the job dies, retrying will not help. */
  input?: boolean;
}

export interface GenerateCall {
  type: 'generate';
  id: number;
  cveId: string;
  options: GenerateOptions;
}

/** Main thread to a generation thread. */
type MainMessage = GenerateCall | { type: 'audit-done'; id: number; error?: string } | { type: 'close' };

/** A generation thread to the main thread. */
export type ThreadMessage =
  | { type: 'ready' }
  | { type: 'init-failed'; error: WireError }
  | { type: 'result'; id: number; result: GenerateResult }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'audit'; id: number; event: unknown };

function toWire(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  return {
    name: e.name,
    message: e.message,
    ...(e.stack ? { stack: e.stack } : {}),
    ...(e instanceof NoRuleError ? { noRule: { facts: e.facts } } : {}),
    ...(e instanceof InputError ? { input: true } : {}),
  };
}

export interface ThreadService {
  generate(cveId: string, options: GenerateOptions): Promise<GenerateResult>;
  close(): Promise<void>;
}

/**
 * The thread side: opens the service (given an audit log whose events are durable once the main
 * thread has spooled them), says it is ready, answers generate calls, and closes and ends the
 * thread when asked.
 */
export async function serveThread(
  port: MessagePort,
  open: (audit: ThreadAudit) => Promise<ThreadService>,
): Promise<void> {
  const send = (m: ThreadMessage): void => port.postMessage(m);
  let nextAudit = 1;
  const auditWaits = new Map<number, { resolve(): void; reject(e: Error): void }>();
  const audit: ThreadAudit = {
    emit: (event) =>
      new Promise<void>((resolve, reject) => {
        const id = nextAudit++;
        auditWaits.set(id, { resolve, reject });
        send({ type: 'audit', id, event });
      }),
    flush: async () => true,
    close: async () => {},
    status: () => [],
  };
  let service: ThreadService;
  try {
    service = await open(audit);
  } catch (e) {
    send({ type: 'init-failed', error: toWire(e) });
    return;
  }
  // The worker's /metrics sums this thread's series (its service records to defaultMetrics()).
  answerMetricsScrapes(defaultMetrics());
  port.on('message', (m: MainMessage) => {
    if (m.type === 'generate')
      service.generate(m.cveId, m.options).then(
        (result) => send({ type: 'result', id: m.id, result }),
        (e: unknown) => send({ type: 'error', id: m.id, error: toWire(e) }),
      );
    else if (m.type === 'audit-done') {
      const wait = auditWaits.get(m.id);
      auditWaits.delete(m.id);
      if (m.error === undefined) wait?.resolve();
      else wait?.reject(new Error(m.error));
    } else if (m.type === 'close')
      void service
        .close()
        .catch(() => {})
        // Ends this thread only; open handles (timers, sockets being closed) would keep it alive.
        .finally(() => process.exit(0));
  });
  send({ type: 'ready' });
}
