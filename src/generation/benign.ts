// The benign sample the generation loop tests every candidate against. The built-in one is the
// corpus in data/benign.jsonl (about 3,500 ordinary requests, written by scripts/benign-corpus.mjs:
// `npm run data:benign`); users can bring their own (JSONL, HAR, WAF logs).
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

import { VERSION } from '../core/version.js';
import { requestSet } from '../evaluator/index.js';
import { parseJsonlLine } from '../requests/jsonl.js';
import type { HttpRequest } from '../requests/model.js';

// src/generation and dist/generation are both two levels below the package root.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILTIN_BENIGN_SAMPLE = resolve(ROOT, 'data/benign.jsonl');
/** The parsed corpus, written by `npm run build` / `prepare` (scripts/benign-snapshot.mjs). */
const BENIGN_SNAPSHOT = resolve(ROOT, 'dist/benign-corpus.v8');
/**
 * The snapshot stands in for the parser only in compiled code (dist/), which the build that wrote it
 * compiled: code run from src/ (tests, benches under tsx) may hold a parser being edited, so it
 * parses the JSONL.
 */
const COMPILED = fileURLToPath(import.meta.url).includes(`${sep}dist${sep}`);

let cached: HttpRequest[] | undefined;

/**
 * The built-in corpus, read whole and parsed line by line exactly as a test-case JSONL file is
 * (parseJsonlLine, the reader's own), without the streaming line reader: the file is ours and a few
 * MB. First load, CPU, loadBenignSample alone in a fresh `npx tsx` process, 3 runs each on a shared
 * 2-CPU machine: 570-596 -> 517-565 ms (readline's per-line cost). What is left is mostly the
 * test-case schema and the byte-string conversion of 2.6 MB of bodies (~400 ms), in src/requests.
 */
function parseBuiltin(text: string, file = BUILTIN_BENIGN_SAMPLE): HttpRequest[] {
  const out: HttpRequest[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .forEach((line, i) => {
      const r = parseJsonlLine(line.endsWith('\r') ? line.slice(0, -1) : line, file, i + 1);
      if (r && 'request' in r) out.push(r.request);
    });
  return out;
}

/**
 * What a snapshot must have been made from: this corpus file as it is now (size and modification
 * time: a stat, where hashing its 5.8 MB cost 10-15 ms a load; rewriting or checking out the file
 * changes its time), this build of the code (tsc rewrites every output, this module included, so a
 * new build makes older snapshots stale until `npm run build` writes one again), this V8's
 * serialiser, this wafgen.
 */
async function snapshotKey(corpus: string): Promise<string> {
  const [file, code] = await Promise.all([stat(corpus), stat(fileURLToPath(import.meta.url))]);
  return `wafgen-benign-snapshot/1 ${VERSION} v8 ${process.versions.v8} corpus ${file.size} ${file.mtimeMs} code ${code.mtimeMs}`;
}

/**
 * The parsed corpus as V8's serialiser writes it, behind a key line. Reading it back is one pass
 * that builds the final objects: first load of the corpus in a fresh process (2-core machine,
 * /tmp/mem-style probe, 3 runs) 241 ms and +47 MB of RSS by parsing (JSON.parse, the test-case schema,
 * byte strings, and the garbage that leaves) against 40 ms and +21 MB by v8.deserialize. Memory is
 * what a first `wafgen generate` is bounded by (200 MiB target, bench:cli).
 */
export async function writeBenignSnapshot(
  file = BENIGN_SNAPSHOT,
  corpus = BUILTIN_BENIGN_SAMPLE,
): Promise<{ file: string; bytes: number }> {
  const key = Buffer.from((await snapshotKey(corpus)) + '\n');
  const requests = parseBuiltin(await readFile(corpus, 'utf8'), corpus);
  const body = Buffer.concat([key, v8.serialize(requests)]);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, body);
  await rename(tmp, file);
  return { file, bytes: body.length };
}

/** The snapshot's requests when it was made from this corpus by this build; undefined otherwise. */
export async function readBenignSnapshot(
  file = BENIGN_SNAPSHOT,
  corpus = BUILTIN_BENIGN_SAMPLE,
): Promise<HttpRequest[] | undefined> {
  const [body, key] = await Promise.all([readFile(file).catch(() => undefined), snapshotKey(corpus)]);
  if (!body) return undefined;
  const newline = body.indexOf(10);
  if (newline < 0 || body.toString('latin1', 0, newline) !== key) return undefined;
  try {
    const requests: unknown = v8.deserialize(body.subarray(newline + 1));
    return Array.isArray(requests) ? (requests as HttpRequest[]) : undefined;
  } catch {
    return undefined; // damaged: parse the corpus instead
  }
}

async function readBuiltin(): Promise<HttpRequest[]> {
  return (
    (COMPILED && (await readBenignSnapshot())) || parseBuiltin(await readFile(BUILTIN_BENIGN_SAMPLE, 'utf8'))
  );
}

/** Load the benign sample: the given files, or the built-in one. Entries are forced to expect=allow. */
export async function loadBenignSample(files?: readonly string[]): Promise<HttpRequest[]> {
  if (!files || files.length === 0) {
    if (!cached) {
      if (!existsSync(BUILTIN_BENIGN_SAMPLE))
        throw new Error(`built-in benign sample missing: ${BUILTIN_BENIGN_SAMPLE}`);
      // The kept leaves' key (~100 stats, 10-40 ms) is worked out meanwhile, off the main thread.
      if (COMPILED) leavesKey().catch(() => {});
      cached = await readBuiltin();
    }
    return cached;
  }
  // The readers of every request format (HAR, WAF logs, nuclei, raw HTTP) only for files given.
  const { readAllRequests } = await import('../requests/index.js');
  const { requests } = await readAllRequests(files, { expect: 'allow' });
  return requests.map((r) => ({ ...r, expect: 'allow' as const }));
}

/**
 * Leaf outcomes of the built-in corpus kept between processes, in the data directory. A warm
 * `wafgen generate` of a CVE whose leaves an earlier run evaluated spent ~17% of its main thread
 * evaluating them again over the 3,552 benign requests, all of it cold code (`node --cpu-prof` on
 * `wafgen generate CVE-2021-44228`, WAFGEN_OFFLINE=1, warm data directory: `blockedBy` 365 of
 * 2,093 ms). An outcome is a pure function of the leaf, the request and the evaluator, so the key
 * names all three: the snapshot's key (this corpus file, V8, wafgen), the compiled files a leaf's
 * evaluation runs (their count, sizes and latest time: a watch build re-emits only what changed),
 * Node itself (ICU, the UTF-8 decoder) and the installed files of the libraries the evaluator calls.
 * Only compiled code uses it, as for the snapshot.
 */
const LEAVES_FILE = 'benign-leaves.v8';
/** Leaves kept on disk: one byte per benign request each, ~3.5 KB; 512 is ~1.8 MB. */
const MAX_KEPT_LEAVES = 512;
/** A file larger than this is not read (512 leaves with keys of a few KB each stay far below it). */
const MAX_LEAVES_FILE_BYTES = 16 * 1024 * 1024;
/** Entries a file may hold: a sparse array of a few bytes can claim billions. */
const MAX_LEAVES_READ = 2 * MAX_KEPT_LEAVES;
/**
 * The folders of dist/ whose code a leaf's evaluation runs (request-set.js's imports, followed:
 * evaluator, core, waf, requests).
 */
const EVALUATOR_DIRS = ['evaluator', 'core', 'waf', 'requests'];

async function filesStamp(dir: string): Promise<string> {
  const names = (await readdir(dir, { recursive: true })).filter((n) => n.endsWith('.js')).sort();
  let size = 0;
  let latest = 0;
  for (const s of await Promise.all(names.map((n) => stat(join(dir, n))))) {
    size += s.size;
    latest = Math.max(latest, s.mtimeMs);
  }
  return `${names.length}/${size}/${latest}`;
}

async function installedStamp(specifier: string): Promise<string> {
  const s = await stat(fileURLToPath(import.meta.resolve(specifier)));
  return `${specifier} ${s.size} ${s.mtimeMs}`;
}

/**
 * Worked out once a process, when the corpus's outcomes are first read or written: a corpus
 * rewritten during the run cannot put the old corpus's outcomes behind the new one's key.
 */
let keyOnce: Promise<string> | undefined;
function leavesKey(): Promise<string> {
  keyOnce ??= (async () => {
    const [snapshot, code, ...libs] = await Promise.all([
      snapshotKey(BUILTIN_BENIGN_SAMPLE),
      Promise.all(EVALUATOR_DIRS.map((d) => filesStamp(resolve(ROOT, 'dist', d)))),
      installedStamp('re2js'),
      installedStamp('ipaddr.js'),
    ]);
    return `wafgen-benign-leaves/2 node ${process.version} code ${code.join(' ')} ${libs.join(' ')} ${snapshot}`;
  })();
  return keyOnce;
}

/**
 * Writes what `requests`' set knows to `file`, behind `key`, atomically (a temporary file of its own
 * renamed: writers at once, even in two containers sharing the folder, leave one whole file).
 * Returns the number of leaves written.
 */
export async function rememberLeaves(
  requests: readonly HttpRequest[],
  file: string,
  key: string,
  max = MAX_KEPT_LEAVES,
): Promise<number> {
  const leaves = requestSet(requests).knownLeaves(max);
  const body = Buffer.concat([Buffer.from(key + '\n'), v8.serialize(leaves)]);
  const tmp = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, body, { flag: 'wx' });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
  return leaves.length;
}

/** Gives `requests`' set what `file` holds when it was written behind `key`; the number of leaves taken. */
export async function recallLeaves(
  requests: readonly HttpRequest[],
  file: string,
  key: string,
): Promise<number> {
  const size = await stat(file).then(
    (s) => s.size,
    () => undefined,
  );
  if (size === undefined || size > MAX_LEAVES_FILE_BYTES) return 0;
  const body = await readFile(file).catch(() => undefined);
  if (!body || body.length > MAX_LEAVES_FILE_BYTES) return 0;
  const newline = body.indexOf(10);
  if (newline < 0 || body.toString('latin1', 0, newline) !== key) return 0;
  let entries: unknown;
  try {
    entries = v8.deserialize(body.subarray(newline + 1));
  } catch {
    return 0; // damaged: evaluated again, and written whole next time
  }
  if (!Array.isArray(entries) || entries.length > MAX_LEAVES_READ) return 0;
  return requestSet(requests).recall(entries);
}

/**
 * Loads the built-in corpus's kept leaf outcomes from `dataDir` (when the built-in corpus is loaded
 * and the code is compiled). Returns the number taken; never fails the command.
 */
export async function recallBenignLeaves(dataDir: string): Promise<number> {
  if (!COMPILED || !cached) return 0;
  try {
    return await recallLeaves(cached, join(dataDir, 'cache', LEAVES_FILE), await leavesKey());
  } catch {
    return 0;
  }
}

/**
 * Keeps the built-in corpus's leaf outcomes in `dataDir` when this process evaluated some, and the
 * data directory exists (a cache does not make one). Returns the number written; never fails the command.
 */
export async function rememberBenignLeaves(dataDir: string): Promise<number> {
  if (!COMPILED || !cached || requestSet(cached).evaluations === 0 || !existsSync(dataDir)) return 0;
  try {
    const dir = join(dataDir, 'cache');
    await mkdir(dir, { recursive: true });
    return await rememberLeaves(cached, join(dir, LEAVES_FILE), await leavesKey());
  } catch {
    return 0;
  }
}
