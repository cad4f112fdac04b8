// JSON Lines (and plain JSON) of vulnerability records, in either of two shapes:
//
// * the shared corpus's `cves.*.jsonl` metadata lines (fields from a nuclei template's info block):
//     {"cve":"CVE-2021-44228","name":"...","description":"...","severity":"critical","cvss_score":10.0,
//      "cwe":"CWE-917","references":["..."],"product":"log4j","vendor":"apache","tags":["cve","kev"]}
//   id ← cve, title ← name, cwes ← [cwe], cvss ← {score: cvss_score}, severity ← severity (else from the
//   score), vendor/product ← vendor/product with CPE escapes removed (`joomla\!` → `joomla!`), kev ← the
//   `kev` tag; source "jsonl";
// * wafgen's own record shape (`id`, `source`, ... as VulnRecordSchema takes it; data/vulns.bundled.jsonl
//   is one), with `source` defaulting to "jsonl" and `fetchedAt` to the import time.
//
// Blank lines are skipped; each other line that is not valid JSON or not a valid record is one error
// (with its line number) and the other lines still import.

import { parseJson } from '../../requests/json-scan.js';
import {
  type ImportOptions,
  type ImportResult,
  parseJsonDocument,
  recordsFromOneOrMany,
  atLine,
  cap,
  compact,
  cweList,
  emptyResult,
  fetchedAtOf,
  isObject,
  makeCvss,
  referenceList,
  severityOf,
  str,
  stringList,
  toRecord,
  unescapeCpeValue,
} from './common.js';

import type { VulnRecord } from '../model.js';

/** A corpus-style metadata line: a `cve` id and no `id`. */
function isCorpusVuln(value: unknown): boolean {
  return isObject(value) && typeof value.cve === 'string' && !('id' in value);
}

/** Either record shape this module reads. */
export function looksLikeVulnObject(value: unknown): boolean {
  return isCorpusVuln(value) || (isObject(value) && typeof value.id === 'string' && !('uri' in value));
}

/** One JSON value (either shape) → a record, or the reason it cannot be one. */
export function vulnFromObject(
  value: unknown,
  fetchedAt: string,
  defaultSource = 'jsonl',
): { record: VulnRecord } | { error: string } {
  if (!isObject(value)) return { error: 'not a JSON object' };
  if ('uri' in value && 'method' in value) {
    return { error: 'this is a request test case (exploit evidence), not a vulnerability record' };
  }
  if (isCorpusVuln(value)) return corpusToRecord(value, fetchedAt, defaultSource);
  if (typeof value.id !== 'string') return { error: 'neither "id" nor "cve" is set' };
  const out = toRecord({ source: defaultSource, fetchedAt, ...value });
  return 'record' in out ? out : { error: `${value.id}: ${out.error}` };
}

function corpusToRecord(
  v: Record<string, unknown>,
  fetchedAt: string,
  source: string,
): { record: VulnRecord } | { error: string } {
  const id = String(v.cve).trim();
  const cvss = makeCvss(v.cvss_score, v.cvss_metrics ?? v.cvss_vector);
  const tags = stringList(v.tags).map((t) => t.toLowerCase());
  const out = toRecord(
    compact({
      id,
      title: cap(str(v.name), 300),
      description: cap(str(v.description) ?? '', 20_000),
      cwes: cweList(stringList(v.cwe ?? v.cwes)),
      cvss,
      severity: severityOf(v.severity, cvss),
      vendor: cap(unescapeCpeValue(str(v.vendor)), 200),
      product: cap(unescapeCpeValue(str(v.product)), 200),
      references: referenceList(stringList(v.references ?? v.reference, /\s+/)),
      kev: v.kev === true || tags.includes('kev'),
      source,
      fetchedAt,
      tags: tags.filter((t) => t.length <= 100),
    }),
  );
  return 'record' in out ? out : { error: `${id}: ${out.error}` };
}

/** Parse JSON Lines text, one record per line. */
export function parseVulnJsonl(text: string, file: string, opts: ImportOptions = {}): ImportResult {
  const result = emptyResult();
  const fetchedAt = fetchedAtOf(opts);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const json = parseJson(i === 0 ? line.replace(/^\ufeff/, '') : line);
    const out = 'error' in json ? { error: json.error } : vulnFromObject(json.value, fetchedAt);
    if ('record' in out) result.records.push(out.record);
    else result.errors.push(atLine(file, i + 1, out.error));
  }
  return result;
}

/** Parse a JSON document holding one record or an array of them (either shape). */
export function parseVulnJson(text: string, file: string, opts: ImportOptions = {}): ImportResult {
  return parseJsonDocument(text, file, opts, vulnJsonFromValue);
}

/** Records from an already JSON-parsed document (`text` is its source, for error lines). */
export function vulnJsonFromValue(
  value: unknown,
  text: string,
  file: string,
  opts: ImportOptions = {},
): ImportResult {
  const fetchedAt = fetchedAtOf(opts);
  return recordsFromOneOrMany(value, text, file, (item) => vulnFromObject(item, fetchedAt));
}
