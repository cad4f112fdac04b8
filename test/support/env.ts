// Environment for in-process CLI tests: a fresh data directory, and offline (no test touches the
// internet: an unknown CVE must not trigger a live look-up). Restored after the file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export function useTempDataDir(prefix: string, extra: Record<string, string> = {}): string {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const vars: Record<string, string> = { WAFGEN_DATA_DIR: dataDir, WAFGEN_OFFLINE: '1', ...extra };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  beforeAll(() => {
    Object.assign(process.env, vars);
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  return dataDir;
}
