// The default data folder, apart from the configuration's schema so that a command can name it before
// the configuration (and Zod) has loaded (app/store-early.ts, startStoreAhead).
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where wafgen keeps its embedded store, audit log and caches when WAFGEN_DATA_DIR is not set. */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  if (process.platform === 'win32')
    return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'wafgen');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'wafgen');
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'wafgen');
}
