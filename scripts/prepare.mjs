// `npm install`'s prepare step: compile to dist/ and build the embedded-database templates, skipping
// what is already current. `npx wafgen` in a checkout installs the checkout into npx's cache as a
// `file:` dependency, which runs prepare again: measured on a fresh clone, that first `npx wafgen
// generate` took 40 s and 1.2 GB (tsc and the template build) against 4 s once they were skipped.
// `npm run build` always rebuilds.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return undefined;
  }
};
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : (mtime(p) ?? 0));
  }
  return t;
}

const built = mtime(join(root, 'dist/cli/main.js'));
const sources = Math.max(
  newest(join(root, 'src')),
  mtime(join(root, 'tsconfig.json')) ?? 0,
  mtime(join(root, 'tsconfig.build.json')) ?? 0,
);
if (built === undefined || built < sources) {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
} else console.log('dist/ is current: not compiled again');
// Kysely in one file over tsc's re-export; bundled again only when it is not a bundle of the
// installed versions (after tsc, or a package upgraded with dist/ otherwise current).
execFileSync(process.execPath, [join(root, 'scripts/bundle-kysely.mjs')], { cwd: root, stdio: 'inherit' });

const { readBenignSnapshot } = await import('../dist/generation/benign.js');
if (built !== undefined && built >= sources && (await readBenignSnapshot()))
  console.log('benign snapshot is current: not written again');
else await import('./benign-snapshot.mjs');

const { pgliteTemplateUsable, seededTemplate } = await import('../dist/store/template.js');
if ((await pgliteTemplateUsable()) && (await pgliteTemplateUsable(seededTemplate())))
  console.log('pglite templates are current: not built again');
else await import('./pglite-template.mjs');
