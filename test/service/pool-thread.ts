// A stand-in generation thread for the pool tests: the real thread protocol (serveThread) with a
// scripted generate instead of a service. The CVE ID says what to do:
//   CVE-1000-0001: answer with the thread's index      CVE-1000-0002: no rule (NoRuleError)
//   CVE-1000-0003: bad input (InputError)              CVE-1000-0004: another error
//   CVE-1000-0005: the thread dies mid-call            CVE-1000-0006: emit an audit event first
//   CVE-1000-0007: wait until the thread is told to close (a long generation)
//   CVE-1000-0008: bad input of a subclass (CveNotFoundError)
// workerData.data.failInit makes opening fail.
import { parentPort, workerData } from 'node:worker_threads';

import { CveNotFoundError, NoRuleError } from '../../src/app/index.js';
import { InputError } from '../../src/core/errors.js';
import { serveThread, type ThreadInit } from '../../src/worker/protocol.js';

const init = workerData as ThreadInit;

await serveThread(parentPort!, async (audit) => {
  if (init.data?.failInit) throw new Error('store unreachable');
  return {
    async generate(cveId) {
      await new Promise((r) => setTimeout(r, 20));
      switch (cveId) {
        case 'CVE-1000-0002':
          throw new NoRuleError({
            cveId,
            engine: 'builtin',
            endpoints: [],
            exploitRequests: 0,
            notes: [],
            needs: ['an exploit request'],
          });
        case 'CVE-1000-0003':
          throw new InputError(`${cveId} is not in the store`);
        case 'CVE-1000-0004':
          throw new Error('provider overloaded (429)');
        case 'CVE-1000-0005':
          process.exit(3);
          break;
        case 'CVE-1000-0006':
          await audit.emit({ type: 'generation', cveId } as unknown as Parameters<typeof audit.emit>[0]);
          break;
        case 'CVE-1000-0007':
          await new Promise(() => {});
          break;
        case 'CVE-1000-0008':
          throw new CveNotFoundError(cveId, 'not in the store', true);
      }
      return {
        result: { cveId, thread: init.index } as never,
        cache: 'miss',
      };
    },
    close: async () => {},
  };
});
