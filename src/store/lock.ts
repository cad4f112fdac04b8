/**
 * @module The embedded store's folder lock: a lock file beside the PGlite folder, so that a second
 * process fails clearly instead of corrupting it. Apart from db.ts so that a command can take it,
 * and start PGlite on a thread (pglite-thread.ts), before the query builder has loaded.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';

import { processAlive } from '../core/process.js';

/** The embedded store's folder is open in another process (PGlite is single-process). */
export class StoreBusyError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `the embedded store in ${dir} is in use by ${pid === process.pid ? 'this process already' : `another process (pid ${pid})`}; ` +
        'close it first, or set DATABASE_URL to share a PostgreSQL database between processes',
    );
  }
}

/** A lock file beside the PGlite folder, so a second process fails clearly instead of corrupting it. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const file = `${dir}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) throw new StoreBusyError(dir, pid);
      if (attempt > 0) throw new StoreBusyError(dir, Number.isInteger(pid) ? pid : 0);
      await rm(file, { force: true }); // left behind by a process that died
    }
  }
}
