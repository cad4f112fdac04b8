// The bundled knowledge: a curated set of notable, exploited web vulnerabilities with the exploit facts
// a WAF rule needs (attack class, endpoints, parameters, methods, headers, payload tokens), written in
// the project's own words. It ships in the package (`data/vulns.bundled.jsonl`, one record per line) so
// `wafgen generate <CVE>` works offline on a fresh clone with nothing imported.
//
// The file is found relative to this module: src/vulns/ (tsx) and dist/vulns/ (after tsc) both sit two
// levels below the package root, beside data/.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { zodMessage } from '../requests/jsonl.js';
import type { HttpRequest } from '../requests/model.js';
import { type VulnRecord, VulnRecordSchema } from './model.js';

export const BUNDLED_DATA_FILE = fileURLToPath(new URL('../../data/vulns.bundled.jsonl', import.meta.url));
/**
 * Real exploit requests for the bundled CVEs, from public PoCs, Metasploit modules and nuclei
 * templates (each line names its `source`): what `generate` proves a rule against out of the box.
 */
export const BUNDLED_EXPLOITS_FILE = fileURLToPath(
  new URL('../../data/exploits.bundled.jsonl', import.meta.url),
);

/** The bundled data file is missing or has an invalid line: a packaging bug, not bad user input. */
export class BundledDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundledDataError';
  }
}

/** Parse bundled-format text (JSON Lines of record inputs); throws on the first bad line. */
export function parseBundled(text: string, file = BUNDLED_DATA_FILE): VulnRecord[] {
  const records: VulnRecord[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new BundledDataError(`${file}:${i + 1}: invalid JSON: ${(err as Error).message}`);
    }
    const parsed = VulnRecordSchema.safeParse(value);
    if (!parsed.success) throw new BundledDataError(`${file}:${i + 1}: ${zodMessage(parsed.error)}`);
    if (seen.has(parsed.data.id)) throw new BundledDataError(`${file}:${i + 1}: duplicate ${parsed.data.id}`);
    seen.add(parsed.data.id);
    records.push(parsed.data);
  }
  return records;
}

let cache: VulnRecord[] | undefined;

function cached(): VulnRecord[] {
  if (cache === undefined) {
    let text: string;
    try {
      text = readFileSync(BUNDLED_DATA_FILE, 'utf8');
    } catch (err) {
      throw new BundledDataError(
        `cannot read the bundled data ${BUNDLED_DATA_FILE}: ${(err as Error).message}`,
      );
    }
    cache = parseBundled(text);
  }
  return cache;
}

/** Every bundled record, validated with VulnRecordSchema. Callers get their own copies. */
export function loadBundled(): VulnRecord[] {
  return structuredClone(cached());
}

/** The bundled record for `id` (any case), if there is one. */
export function findBundled(id: string): VulnRecord | undefined {
  const want = id.trim().toUpperCase();
  const hit = cached().find((r) => r.id === want);
  return hit && structuredClone(hit);
}

let exploitsCache: Promise<Map<string, HttpRequest[]>> | undefined;

async function readBundledExploits(): Promise<Map<string, HttpRequest[]>> {
  // The request readers load with the first read (the composition root's preload, while the store
  // opens), not with this module: every generation's start-up imports it.
  const { readAllRequests } = await import('../requests/index.js');
  const { requests, errors } = await readAllRequests(BUNDLED_EXPLOITS_FILE, { expect: 'block' });
  if (errors.length > 0)
    throw new BundledDataError(`${errors[0]!.file}:${errors[0]!.line}: ${errors[0]!.message}`);
  const byCve = new Map<string, HttpRequest[]>();
  for (const r of requests) {
    if (!r.cve) throw new BundledDataError(`${BUNDLED_EXPLOITS_FILE}: ${r.id} names no CVE`);
    const id = r.cve.toUpperCase();
    byCve.set(id, [...(byCve.get(id) ?? []), { ...r, cve: id, expect: 'block' }]);
  }
  return byCve;
}

const bundledExploitsByCve = (): Promise<Map<string, HttpRequest[]>> =>
  (exploitsCache ??= readBundledExploits().catch((e: unknown) => {
    exploitsCache = undefined;
    throw e;
  }));

/** The bundled exploit requests of `cveId` (any case); empty when it has none. Callers get copies. */
export async function bundledExploits(cveId: string): Promise<HttpRequest[]> {
  const mine = (await bundledExploitsByCve()).get(cveId.trim().toUpperCase()) ?? [];
  return structuredClone(mine);
}

/**
 * Reads and parses the bundled exploit requests now, for a later {@link bundledExploits} (the
 * composition root calls it while the store opens). A failure is left for that call to report.
 */
export async function preloadBundledExploits(): Promise<void> {
  await bundledExploitsByCve().catch(() => {});
}
