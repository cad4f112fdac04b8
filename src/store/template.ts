/**
 * @module A pre-made embedded database. A new PGlite folder made by `initdb`, migrated and seeded
 * with the bundled records costs seconds and hundreds of MB, so the package builds one when it is
 * installed (the `prepare` script): an empty database, migrated, seeded with the bundled records, closed
 * cleanly and packed as a gzip tarball. A new data directory is that tarball unpacked (node-tar, a
 * few hundred ms), which PGlite then opens like any existing folder. Unpacking it ourselves rather
 * than through PGlite's `loadDataDir` (which untars into its in-memory file system and copies out)
 * matters: measured with `node scripts/pglite-template.mjs --measure`, printed in the README.
 *
 * A template made by another PGlite version, before a migration was added, or from other bundled
 * data is ignored: the folder is then made the slow way.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BUNDLED_DATA_FILE } from '../vulns/bundled.js';
import { KNOWN_MIGRATIONS } from './migrator.js';

/** Beside the compiled code (dist/), from src/store and dist/store alike. */
const TEMPLATE_FILE = fileURLToPath(new URL('../../dist/pglite-template.tar.gz', import.meta.url));

async function pgliteVersion(): Promise<string> {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve('@electric-sql/pglite'));
  for (;;) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === '@electric-sql/pglite') return pkg.version ?? 'unknown';
    } catch {
      // not the package's own folder yet
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

/** What a template must have been made with to be used: this PGlite, these migrations, this seed. */
async function templateKey(): Promise<string> {
  const [pglite, bundled] = await Promise.all([
    pgliteVersion(),
    readFile(BUNDLED_DATA_FILE).then((b) => createHash('sha256').update(b).digest('hex')),
  ]);
  return JSON.stringify({ pglite, migrations: KNOWN_MIGRATIONS, bundled });
}

/** The seeded template beside the empty one (`x.tar.gz` -> `x.seeded.tar.gz`). */
export function seededTemplate(file = TEMPLATE_FILE): string {
  return file.replace(/\.tar\.gz$/, '') + '.seeded.tar.gz';
}

/**
 * Makes the templates: a new folder (initdb), migrated, closed and packed as `file` (what a new
 * store starts from), then seeded with the bundled records by the store's own code and packed as
 * {@link seededTemplate} (what `wafgen`'s commands start from). Each is written atomically, with
 * its key beside it.
 */
export async function buildPgliteTemplate(file = TEMPLATE_FILE): Promise<{ file: string; bytes: number }> {
  const [{ openStore }, { seedBundled }, tar] = await Promise.all([
    import('./db.js'),
    import('./seed.js'),
    import('tar'),
  ]);
  const work = await mkdtemp(join(tmpdir(), 'wafgen-template-'));
  const key = await templateKey();
  const pack = async (target: string): Promise<number> => {
    const tmp = `${target}.${process.pid}.tmp`;
    await tar.create({ gzip: true, cwd: join(work, 'pglite'), file: tmp, portable: true }, ['.']);
    await writeFile(`${target}.json`, key);
    await rename(tmp, target);
    return (await readFile(target)).length;
  };
  try {
    await (await openStore({ dataDir: work, pgliteTemplate: false })).close();
    const bytes = await pack(file);
    const store = await openStore({ dataDir: work, pgliteTemplate: false });
    try {
      await seedBundled(store);
    } finally {
      await store.close();
    }
    return { file, bytes: bytes + (await pack(seededTemplate(file))) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Whether `file` is a template made for this PGlite, these migrations and this bundled data. */
export async function pgliteTemplateUsable(file = TEMPLATE_FILE): Promise<boolean> {
  try {
    const [key, wanted] = await Promise.all([readFile(`${file}.json`, 'utf8'), templateKey()]);
    return key === wanted;
  } catch {
    return false;
  }
}

/**
 * Makes `dir` (which must not exist) from a usable template; false when there is none to use. The
 * tarball is unpacked beside it and renamed into place, so a process that dies half-way leaves no
 * half-made database behind.
 */
export async function unpackPgliteTemplate(dir: string, file = TEMPLATE_FILE): Promise<boolean> {
  if (!(await pgliteTemplateUsable(file))) return false;
  const tar = await import('tar');
  const tmp = `${dir}.unpack-${process.pid}`;
  try {
    await mkdir(tmp, { recursive: true });
    // Read in 256 KB pieces, not node-tar's default 16 MB (the whole 4.4 MB tarball at once): every
    // MB here adds to the peak of a first command (measured 193-202 MB against 193-223 MB).
    await tar.extract({ file, cwd: tmp, strict: true, maxReadSize: 256 * 1024 });
    await rename(tmp, dir);
    return true;
  } catch {
    return false;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
