// The compiled store loads Kysely (and its PGlite dialect) from one esbuild bundle that the build
// writes over tsc's re-export (scripts/bundle-kysely.mjs): one file instead of the package's 264.
// dist/ is built by the test setup before the suite.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../support/shared.js';

const BUNDLE = resolve(REPO_ROOT, 'dist/store/kysely.js');
const read = (file: string): string => readFileSync(resolve(REPO_ROOT, file), 'utf8');
const version = (name: string): string =>
  (JSON.parse(read(`node_modules/${name}/package.json`)) as { version: string }).version;

describe('dist/store/kysely.js', () => {
  it('is one file that imports neither package, and exports what the packages export', async () => {
    const text = readFileSync(BUNDLE, 'utf8');
    // Its first line names the installed versions (prepare bundles again when they change).
    expect(text.split('\n', 1)[0]).toBe(
      `// wafgen: one bundle of kysely@${version('kysely')} and kysely-pglite-dialect@${version('kysely-pglite-dialect')} (scripts/bundle-kysely.mjs)`,
    );
    // No import or export statement at all (the packages' own doc comments mention 'kysely').
    expect(text).not.toMatch(/^\s*(?:import|export)\s[^;]*?\bfrom\s*["']/m);
    expect(text).not.toMatch(/\brequire\(\s*["']kysely/);
    expect(text).not.toMatch(/\bimport\(\s*["']kysely/);
    const bundled = (await import(pathToFileURL(BUNDLE).href)) as Record<string, unknown>;
    const kysely = (await import('kysely')) as Record<string, unknown>;
    const { PGliteDialect } = await import('kysely-pglite-dialect');
    expect(Object.keys(bundled).sort()).toEqual([...Object.keys(kysely), 'PGliteDialect'].sort());
    // The same classes in shape, not the package's objects: the bundle is its own copy.
    expect(typeof bundled.Kysely).toBe('function');
    expect(bundled.Kysely).not.toBe(kysely.Kysely);
    expect(typeof bundled.PGliteDialect).toBe('function');
    expect(bundled.PGliteDialect).not.toBe(PGliteDialect);
  });

  it('is written by every path that compiles dist/ with tsc', () => {
    const build = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.build!;
    const paths: Record<string, string> = {
      'npm run build': build,
      'scripts/prepare.mjs': read('scripts/prepare.mjs'),
      'test/global-setup.ts': read('test/global-setup.ts'),
      'bench/queue.ts': read('bench/queue.ts'),
    };
    for (const [where, text] of Object.entries(paths)) {
      expect(text, where).toContain('tsconfig.build.json');
      expect(text, where).toContain('bundle-kysely.mjs');
    }
    // After tsc in the build script, not before it.
    expect(build.indexOf('bundle-kysely.mjs')).toBeGreaterThan(build.indexOf('tsc -p tsconfig.build.json'));
  });
});
