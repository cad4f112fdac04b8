// Replaces tsc's dist/store/kysely.js (a re-export of the kysely package) with one esbuild bundle of
// the package, so a command that opens the store loads one file instead of 265 (see
// src/store/kysely.ts for the figures). Run by `npm run build` and `prepare` after tsc.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
await build({
  entryPoints: [join(root, 'src/store/kysely.ts')],
  outfile: join(root, 'dist/store/kysely.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: false,
  legalComments: 'inline',
  logLevel: 'warning',
});
