// Builds dist/ once before the suite so tests that run the real `wafgen` binary see current code.
import { execFileSync } from 'node:child_process';

import { REPO_ROOT } from './support/shared.js';

export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
}
