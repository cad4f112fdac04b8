/**
 * @module AWS Lambda entry for the scheduled backup: the CDK app's daily EventBridge rule invokes
 * `handler`; the work is app's runScheduledBackup (secrets, the service's store, the same backup as
 * `wafgen backup run`). The event's content is not used.
 */
import { runScheduledBackup, type ScheduledBackupResult } from '../app/index.js';

export async function handler(): Promise<ScheduledBackupResult> {
  const run = await runScheduledBackup(process.env);
  console.log(
    JSON.stringify({ msg: 'store backup written', key: run.key, bytes: run.bytes, pruned: run.pruned }),
  );
  return run;
}
