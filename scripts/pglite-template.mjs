// Builds dist/pglite-template.tar.gz, the empty migrated database new data directories start from
// (run by `npm run build` and `prepare`, after tsc). With --measure, also times a new folder made
// by initdb against one loaded from the template.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { buildPgliteTemplate, readPgliteTemplate } = await import('../dist/store/template.js');
const started = performance.now();
let built;
try {
  built = await buildPgliteTemplate();
} catch (e) {
  // Only a speed-up: without it, a new data directory is made by initdb. Never fail an install.
  console.warn(
    `pglite template not built (${e instanceof Error ? e.message : String(e)}); new stores will run initdb`,
  );
  process.exit(0);
}
const { file, bytes } = built;
console.log(
  `pglite template: ${file} (${(bytes / 1e6).toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms`,
);

if (process.argv.includes('--measure')) {
  const { PGlite } = await import('@electric-sql/pglite');
  const time = async (options) => {
    const dir = mkdtempSync(join(tmpdir(), 'wafgen-pglite-'));
    const t = performance.now();
    const db = await PGlite.create(dir, options);
    await db.query('select 1');
    const ms = performance.now() - t;
    await db.close();
    rmSync(dir, { recursive: true, force: true });
    return ms;
  };
  const initdb = await time({});
  const loaded = await time({ loadDataDir: await readPgliteTemplate() });
  console.log(
    `new folder: initdb ${Math.round(initdb)} ms, from the template ${Math.round(loaded)} ms (${(initdb / loaded).toFixed(1)}x)`,
  );
}
