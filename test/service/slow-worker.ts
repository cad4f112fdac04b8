// A real worker process with a slowed-down built-in engine, so a test can catch a job mid-run:
// the same startWorker and shutdown handling as `wafgen worker`, configured from the environment.
// WAFGEN_TEST_ENGINE_DELAY_MS sets the delay per generation.
import { hostname } from 'node:os';

import { pino } from 'pino';

import { loadServiceConfig, buildService, startWorker } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import { BuiltinEngine } from '../../src/generation/builtin/index.js';
import type { Engine, Feedback, GenerationInput, Proposal } from '../../src/generation/types.js';
import { onShutdownSignals } from '../../src/worker/index.js';

const delayMs = Number(process.env.WAFGEN_TEST_ENGINE_DELAY_MS ?? '0');

class SlowEngine implements Engine {
  readonly name = 'builtin';
  private readonly inner = new BuiltinEngine();
  async propose(input: GenerationInput, feedback?: Feedback): Promise<Proposal> {
    if (!feedback) {
      process.stderr.write(`generating ${input.record.id}\n`);
      await new Promise((r) => setTimeout(r, delayMs));
    }
    return this.inner.propose(input, feedback);
  }
}

const config = loadConfig(process.env);
const serviceConfig = loadServiceConfig(process.env);
const log = pino({ level: 'silent' });
const service = await buildService(config, serviceConfig.settings, {
  engine: new SlowEngine(),
  engineVersion: 'builtin@test',
  logger: log,
});
const consumer = startWorker(service, {
  ...serviceConfig.worker,
  name: `slow-worker@${hostname()}:${process.pid}`,
  onJob: (e) => process.stderr.write(`job ${e.id} ${e.outcome}\n`),
});
process.stderr.write(`worker ready ${process.pid}\n`);
onShutdownSignals(async () => {
  const r = await consumer.close(serviceConfig.worker.shutdownGraceMs);
  process.stderr.write(`closed finished=${r.finished} returned=${r.returned.join(',')}\n`);
  await service.close();
}, log);
