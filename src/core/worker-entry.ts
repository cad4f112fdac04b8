/**
 * @module Starting a worker thread on one of our modules, from dist/ (`.js`) or from the sources
 * (`.ts`, under tsx or vitest). Node 20 does not apply `--import tsx` to a worker's entry module, so
 * a `.ts` entry is loaded through tsx's API (a development dependency: only the sources need it).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `./name.js` beside `self` (an `import.meta.url`), or `./name.ts` when `self` is a source file. */
export function siblingEntry(self: string, name: string): URL {
  return new URL(self.endsWith('.ts') ? `./${name}.ts` : `./${name}.js`, self);
}

/** The URL of tsx's ESM API. */
function tsxApi(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return pathToFileURL(join(dirname(manifest), pkg.exports['./esm/api']!.import.default)).href;
}

/** A worker running `entry` (a `.js` module, or a `.ts` one through tsx). */
export function startWorker(entry: URL, options: WorkerOptions = {}): Worker {
  return entry.pathname.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(tsxApi())}).then((tsx) => tsx.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}))`,
        { ...options, eval: true },
      )
    : new Worker(entry, options);
}
