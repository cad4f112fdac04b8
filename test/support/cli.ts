// Run the CLI in-process (fast, for output assertions) or as the real binary (for exit codes,
// stdout/stderr separation and "no stack trace" guarantees).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from './shared.js';

export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { out: (t) => (stdout += t), err: (t) => (stderr += t), color: false });
  return { code, stdout, stderr };
}

export function runBin(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [resolve(REPO_ROOT, 'bin/wafgen.js'), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export const fixture = (...parts: string[]): string => resolve(REPO_ROOT, 'test/fixtures', ...parts);
