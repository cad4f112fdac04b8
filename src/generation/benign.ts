// The benign sample the generation loop tests every candidate against. The built-in one is the
// corpus in data/benign.jsonl (about 3,500 ordinary requests, written by scripts/benign-corpus.mjs:
// `npm run data:benign`); users can bring their own (JSONL, HAR, WAF logs).
import { existsSync } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

import { VERSION } from '../core/version.js';
import { readAllRequests } from '../requests/index.js';
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
      cached = await readBuiltin();
    }
    return cached;
  }
  const { requests } = await readAllRequests(files, { expect: 'allow' });
  return requests.map((r) => ({ ...r, expect: 'allow' as const }));
}
