// A generation thread of `wafgen worker` (see src/worker/pool.ts): opens its own service from the
// environment it was given and runs `rules.generate` for the main thread's queue consumer. Its audit
// events go to the main thread (one spool per process).
import { parentPort, workerData } from 'node:worker_threads';

import { openService } from '../app/index.js';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../observability/index.js';
import { serveThread, type ThreadInit } from './protocol.js';

const init = workerData as ThreadInit;

await serveThread(parentPort!, async (audit) => {
  const config = loadConfig(init.env);
  const log = createLogger({ level: config.LOG_LEVEL, base: { component: 'worker', thread: init.index } });
  const running = await openService(init.env, {
    component: 'worker',
    inProcessWorker: false,
    requireAuth: false,
    logger: log,
    audit,
  });
  return {
    generate: (cveId, options) => running.service.rules.generate(cveId, options),
    close: () => running.close(),
  };
});
