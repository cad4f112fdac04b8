// Builds dist/ once before the suite so tests that run the real `wafgen` binary see current code,
// and the embedded-database template new data directories start from, when it is missing or stale.
import { execFileSync } from 'node:child_process';

import { buildPgliteTemplate, pgliteTemplateUsable, seededTemplate } from '../src/store/template.js';
import { REPO_ROOT } from './support/shared.js';

export default async function setup(): Promise<void> {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
  if (!(await pgliteTemplateUsable()) || !(await pgliteTemplateUsable(seededTemplate())))
    await buildPgliteTemplate();
}
