/**
 * @module A pre-made embedded database. A new PGlite folder made by `initdb`, migrated and seeded
 * with the bundled records costs seconds and hundreds of MB, so the package builds one when it is
 * installed (the `prepare` script): an empty database, migrated, seeded with the bundled records,
 * closed cleanly and kept as a folder. A new data directory is a copy of that folder, which PGlite
 * then opens like any existing one.
 *
 * Why a folder copied file by file, several at a time: the template was a gzip tarball unpacked by
 * node-tar, which cost a first command 450-540 ms of CPU and +43-50 MB of RSS (inflating and
 * streaming 39 MB through JS buffers); `fs.promises.cp` of the folder, +8 MB but still 400-600 ms
 * (one file after another, 1,009 files); copyFile on 8 at a time, 68-94 ms of CPU and +8 MB
 * (measured on the seeded template, 2-core machine). The price is 39 MB per template on disk in
 * dist/ instead of 4.4 MB. PGlite's own `loadDataDir` untars into its in-memory file system and
 * copies out: slower still.
 *
 * A template made by another PGlite version, before a migration was added, or from other bundled
 * data is ignored: the folder is then made the slow way.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { constants } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BUNDLED_DATA_FILE } from '../vulns/bundled.js';
import { KNOWN_MIGRATIONS } from './migrator.js';

/** Beside the compiled code (dist/), from src/store and dist/store alike. */
const TEMPLATE_DIR = fileURLToPath(new URL('../../dist/pglite-template', import.meta.url));

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

/** The seeded template beside the empty one (`x` -> `x.seeded`). */
export function seededTemplate(dir = TEMPLATE_DIR): string {
  return `${dir}.seeded`;
}

/** Copies the folder `from` to `to` (which must not exist). */
async function copyTree(from: string, to: string): Promise<void> {
  const { default: pMap } = await import('p-map');
  const entries = await readdir(from, { recursive: true, withFileTypes: true });
  // Dirent.parentPath is Node >= 20.12; .path before it.
  const rel = (e: (typeof entries)[number]): string =>
    join((e as { parentPath?: string }).parentPath ?? e.path, e.name).slice(from.length);
  await mkdir(to, { recursive: true });
  for (const e of entries) if (e.isDirectory()) await mkdir(join(to, rel(e)), { recursive: true });
  await pMap(
    entries.filter((e) => e.isFile()),
    // A reflink where the file system has them (btrfs, XFS): no bytes copied at all.
    (e) => copyFile(join(from, rel(e)), join(to, rel(e)), constants.COPYFILE_FICLONE),
    { concurrency: 8 },
  );
}

/**
 * Makes the templates: a new folder (initdb), migrated, closed and copied to `dir` (what a new
 * store starts from), then seeded with the bundled records by the store's own code and copied to
 * {@link seededTemplate} (what `wafgen`'s commands start from). Each is put in place by a rename,
 * with its key beside it.
 */
export async function buildPgliteTemplate(dir = TEMPLATE_DIR): Promise<{ dir: string; seeded: string }> {
  const [{ openStore }, { seedBundled }] = await Promise.all([import('./db.js'), import('./seed.js')]);
  const work = await mkdtemp(join(tmpdir(), 'wafgen-template-'));
  const key = await templateKey();
  const keep = async (target: string): Promise<void> => {
    const tmp = `${target}.${process.pid}.tmp`;
    await rm(tmp, { recursive: true, force: true });
    await copyTree(join(work, 'pglite'), tmp);
    await rm(`${target}.json`, { force: true });
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
    await writeFile(`${target}.json`, key);
  };
  try {
    // The tarballs earlier versions wrote there.
    for (const old of [`${dir}.tar.gz`, `${dir}.seeded.tar.gz`])
      await Promise.all([rm(old, { force: true }), rm(`${old}.json`, { force: true })]);
    await (await openStore({ dataDir: work, pgliteTemplate: false })).close();
    await keep(dir);
    const store = await openStore({ dataDir: work, pgliteTemplate: false });
    try {
      await seedBundled(store);
    } finally {
      await store.close();
    }
    await keep(seededTemplate(dir));
    return { dir, seeded: seededTemplate(dir) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Whether `dir` is a template made for this PGlite, these migrations and this bundled data. */
export async function pgliteTemplateUsable(dir = TEMPLATE_DIR): Promise<boolean> {
  try {
    const [key, wanted] = await Promise.all([readFile(`${dir}.json`, 'utf8'), templateKey()]);
    return key === wanted;
  } catch {
    return false;
  }
}

/**
 * Makes `dir` (which must not exist) from a usable template; false when there is none to use. The
 * template is copied beside it and renamed into place, so a process that dies half-way leaves no
 * half-made database behind.
 */
export async function copyPgliteTemplate(dir: string, template = TEMPLATE_DIR): Promise<boolean> {
  if (!(await pgliteTemplateUsable(template))) return false;
  const tmp = `${dir}.copy-${process.pid}`;
  try {
    await copyTree(template, tmp);
    await rename(tmp, dir);
    return true;
  } catch {
    return false;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
