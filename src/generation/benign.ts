// The benign sample the generation loop tests every candidate against. The built-in one is the
// corpus in data/benign.jsonl (about 3,500 ordinary requests, written by scripts/benign-corpus.mjs:
// `npm run data:benign`); users can bring their own (JSONL, HAR, WAF logs).
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { readAllRequests } from '../requests/index.js';
import type { HttpRequest } from '../requests/model.js';

// src/generation and dist/generation are both two levels below the package root.
export const BUILTIN_BENIGN_SAMPLE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../data/benign.jsonl',
);

let cached: HttpRequest[] | undefined;

/** Load the benign sample: the given files, or the built-in one. Entries are forced to expect=allow. */
export async function loadBenignSample(files?: readonly string[]): Promise<HttpRequest[]> {
  if (!files || files.length === 0) {
    if (!cached) {
      if (!existsSync(BUILTIN_BENIGN_SAMPLE))
        throw new Error(`built-in benign sample missing: ${BUILTIN_BENIGN_SAMPLE}`);
      cached = (await readAllRequests(BUILTIN_BENIGN_SAMPLE)).requests;
    }
    return cached;
  }
  const { requests } = await readAllRequests(files, { expect: 'allow' });
  return requests.map((r) => ({ ...r, expect: 'allow' as const }));
}
