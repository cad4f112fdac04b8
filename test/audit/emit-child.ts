// A separate process for the restart test: opens the audit log on a spool folder, emits events
// (printing each id once it is spooled), then waits to be killed.
import { loadAuditConfig, openAuditLog } from '../../src/audit/index.js';
import { sampleEvent } from './support.js';

const [dataDir, envJson, countArg] = process.argv.slice(2);
const config = loadAuditConfig(JSON.parse(envJson!) as NodeJS.ProcessEnv, { dataDir: dataDir! });
const log = await openAuditLog(config);
for (let i = 0; i < Number(countArg); i++) {
  const e = sampleEvent(i);
  await log.emit(e);
  process.stdout.write(`${e.id}\n`);
}
process.stdout.write('done\n');
setInterval(() => {}, 1000);
