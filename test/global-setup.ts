// Builds dist/ once before the suite so tests that run the real `wafgen` binary see current code,
// the parsed benign corpus the compiled code reads (stale after every tsc run), and the
// embedded-database template new data directories start from, when it is missing or stale.
import { execFileSync } from 'node:child_process';

import { buildPgliteTemplate, pgliteTemplateUsable, seededTemplate } from '../src/store/template.js';
import { REPO_ROOT } from './support/shared.js';

export default async function setup(): Promise<void> {
  // WAFGEN_TEST_SKIP_BUILD=1: a targeted run while other work in the tree does not compile yet; the
  // tests that run the binary then use whatever dist/ holds.
  if (process.env.WAFGEN_TEST_SKIP_BUILD === '1') return;
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
  // tsc wrote dist/store/kysely.js as a re-export: the bundle over it, as `npm run build` does.
  execFileSync(process.execPath, ['scripts/bundle-kysely.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  // Written by the compiled code, as `npm run build` does: the snapshot is keyed on the module that reads it.
  execFileSync(process.execPath, ['scripts/benign-snapshot.mjs'], { cwd: REPO_ROOT, stdio: 'ignore' });
  if (!(await pgliteTemplateUsable()) || !(await pgliteTemplateUsable(seededTemplate())))
    await buildPgliteTemplate();
}
