// The benign sample the generation loop tests every candidate against. The built-in one is the
// corpus in data/benign.jsonl (about 3,500 ordinary requests, written by scripts/benign-corpus.mjs:
// `npm run data:benign`); users can bring their own (JSONL, HAR, WAF logs).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { readAllRequests } from '../requests/index.js';
import { parseJsonlLine } from '../requests/jsonl.js';
import type { HttpRequest } from '../requests/model.js';

// src/generation and dist/generation are both two levels below the package root.
const BUILTIN_BENIGN_SAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), '../../data/benign.jsonl');

let cached: HttpRequest[] | undefined;

/**
 * The built-in corpus, read whole and parsed line by line exactly as a test-case JSONL file is
 * (parseJsonlLine, the reader's own), without the streaming line reader: the file is ours and a few
 * MB. First load, CPU, loadBenignSample alone in a fresh `npx tsx` process, 3 runs each on a shared
 * 2-CPU machine: 570-596 -> 517-565 ms (readline's per-line cost). What is left is mostly the
 * test-case schema and the byte-string conversion of 2.6 MB of bodies (~400 ms), in src/requests.
 */
async function readBuiltin(): Promise<HttpRequest[]> {
  const text = await readFile(BUILTIN_BENIGN_SAMPLE, 'utf8');
  const out: HttpRequest[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .forEach((line, i) => {
      const r = parseJsonlLine(line.endsWith('\r') ? line.slice(0, -1) : line, BUILTIN_BENIGN_SAMPLE, i + 1);
      if (r && 'request' in r) out.push(r.request);
    });
  return out;
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
