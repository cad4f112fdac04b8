/**
 * @module A pre-initialised embedded database: `initdb` of a new PGlite folder costs seconds
 * (`node scripts/pglite-template.mjs --measure` printed initdb 3.2 s against 1.6 s for loading this
 * template on a 2-core machine), so the package builds one empty, migrated database when it is installed (the
 * `prepare` script) and a new data directory starts from a copy of it. A template made by another
 * PGlite version, or before a migration was added, is ignored: the folder is then made the slow way.
 */
import { createRequire } from 'node:module';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Kysely } from 'kysely';

import { KNOWN_MIGRATIONS, migrateToLatest } from './migrator.js';

/** Beside the compiled code (dist/), from src/store and dist/store alike. */
const TEMPLATE_FILE = fileURLToPath(new URL('../../dist/pglite-template.tar.gz', import.meta.url));

/** What a template must have been made with to be used: this PGlite and these migrations. */
async function templateKey(): Promise<string> {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve('@electric-sql/pglite'));
  for (;;) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === '@electric-sql/pglite')
        return JSON.stringify({ pglite: pkg.version, migrations: KNOWN_MIGRATIONS });
    } catch {
      // not the package's own folder yet
    }
    const up = dirname(dir);
    if (up === dir) return JSON.stringify({ pglite: 'unknown', migrations: KNOWN_MIGRATIONS });
    dir = up;
  }
}

/** Makes the template: an in-memory PGlite, migrated, dumped as a gzip tarball (written atomically). */
export async function buildPgliteTemplate(file = TEMPLATE_FILE): Promise<{ file: string; bytes: number }> {
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('kysely-pglite-dialect'),
  ]);
  const pglite = await PGlite.create();
  const db = new Kysely({ dialect: new PGliteDialect(pglite) });
  try {
    await migrateToLatest(db);
    const dump = await pglite.dumpDataDir('gzip');
    const bytes = new Uint8Array(await dump.arrayBuffer());
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await writeFile(`${file}.json`, await templateKey());
    await rename(tmp, file);
    return { file, bytes: bytes.length };
  } finally {
    await db.destroy();
  }
}

/** The template as PGlite's `loadDataDir` takes it, when there is one made for this PGlite and schema. */
export async function readPgliteTemplate(file = TEMPLATE_FILE): Promise<Blob | undefined> {
  try {
    const [key, wanted] = await Promise.all([readFile(`${file}.json`, 'utf8'), templateKey()]);
    if (key !== wanted) return undefined;
    return new Blob([await readFile(file)]);
  } catch {
    return undefined;
  }
}
