// Writes one esbuild bundle of Kysely and its PGlite dialect over tsc's dist/store/kysely.js (a
// re-export of the two packages), so a command that opens the store loads one file instead of
// Kysely's 264 (see src/store/kysely.ts for the figures). Run after tsc by `npm run build`,
// `prepare`, the test setup and bench:queue. The bundle's first line names the two packages'
// installed versions: a file without it (tsc's re-export) or with other versions (a package
// upgraded since) is bundled again; a current one is left alone.
import { build } from 'esbuild';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, 'dist/store/kysely.js');
// Read from the folder, not resolved: neither package exports its package.json.
const version = (name) =>
  JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
const banner = `// wafgen: one bundle of kysely@${version('kysely')} and kysely-pglite-dialect@${version('kysely-pglite-dialect')} (scripts/bundle-kysely.mjs)`;

if (!existsSync(out)) throw new Error(`${out} is missing: run tsc first`);
if (readFileSync(out, 'utf8').startsWith(banner + '\n')) {
  console.log('dist/store/kysely.js is a current bundle: not bundled again');
} else {
  await build({
    entryPoints: [join(root, 'src/store/kysely.ts')],
    outfile: out,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    banner: { js: banner },
    legalComments: 'inline',
    logLevel: 'warning',
  });
  // tsc's source map was of the re-export: nothing points at it now.
  rmSync(`${out}.map`, { force: true });
}
