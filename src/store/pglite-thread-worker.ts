/**
 * @module The PGlite thread's own side (see pglite-thread.ts): opens the embedded database in the
 * folder it is given and answers the main thread's queries, one message each, until told to close.
 */
import { parentPort, workerData } from 'node:worker_threads';

import type { ThreadReply, ThreadRequest, ThreadStart } from './pglite-thread.js';
import { wireError } from './pglite-thread.js';

const port = parentPort!;
const { dir, startParams } = workerData as ThreadStart;

// V8's --liftoff-only is set by the main thread before this thread starts (PgliteThread).

try {
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create(dir, { startParams: [...PGlite.defaultStartParams, ...startParams] });
  port.on('message', (m: ThreadRequest) => {
    if (m.type === 'close') {
      pglite.close().then(
        () => port.postMessage({ type: 'closed' } satisfies ThreadReply),
        (e: unknown) => port.postMessage({ type: 'closed', error: wireError(e) } satisfies ThreadReply),
      );
      return;
    }
    pglite.query(m.sql, m.params).then(
      (r) =>
        port.postMessage({
          type: 'result',
          id: m.id,
          rows: r.rows as Record<string, unknown>[],
          ...(r.affectedRows !== undefined ? { affectedRows: r.affectedRows } : {}),
        } satisfies ThreadReply),
      (e: unknown) =>
        port.postMessage({ type: 'result', id: m.id, error: wireError(e) } satisfies ThreadReply),
    );
  });
  port.postMessage({ type: 'ready' } satisfies ThreadReply);
} catch (e) {
  port.postMessage({ type: 'failed', error: wireError(e) } satisfies ThreadReply);
}
