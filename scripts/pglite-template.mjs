// Builds dist/pglite-template and dist/pglite-template.seeded, the migrated (and seeded) database
// folders new data directories start from (run by `npm run build` and `prepare`, after tsc). With
// --measure, also times opening a new data directory made by initdb (migrate and seed included)
// against one copied from the template.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { buildPgliteTemplate } = await import('../dist/store/template.js');
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
const { dir, seeded } = built;
console.log(`pglite templates: ${dir}, ${seeded} in ${Math.round(performance.now() - started)} ms`);

if (process.argv.includes('--measure')) {
  const { openStore, seedIfEmpty } = await import('../dist/store/index.js');
  const time = async (pgliteTemplate) => {
    const dir = mkdtempSync(join(tmpdir(), 'wafgen-pglite-'));
    const t = performance.now();
    const store = await openStore({
      dataDir: dir,
      seeded: true,
      ...(pgliteTemplate === false ? { pgliteTemplate } : {}),
    });
    await seedIfEmpty(store);
    const ms = performance.now() - t;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    return ms;
  };
  const initdb = await time(false);
  const unpacked = await time(undefined);
  console.log(
    `new data directory, migrated and seeded: initdb ${Math.round(initdb)} ms, from the template ${Math.round(unpacked)} ms (${(initdb / unpacked).toFixed(1)}x)`,
  );
}
