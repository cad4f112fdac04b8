// CISA Known Exploited Vulnerabilities catalog → KEV marks.
//
//   {"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2025.06.13",
//    "dateReleased":"...","count":1,"vulnerabilities":[{"cveID":"CVE-2021-44228","vendorProject":"Apache",
//    "product":"Log4j2","vulnerabilityName":"...","dateAdded":"2021-12-10","shortDescription":"...",
//    "requiredAction":"...","dueDate":"2021-12-24","knownRansomwareCampaignUse":"Known","notes":"...",
//    "cwes":["CWE-20","CWE-400","CWE-502"]}]}
//
// The catalog says *that* a CVE is exploited, not what it is, so each entry becomes a minimal record
// meant to be merged into the full one (see `markKev`): id ← cveID, kev = true, kevDateAdded ←
// dateAdded, tags ← `kev` and `ransomware` when knownRansomwareCampaignUse is "Known", source "kev".
// CISA's vendor, product and name spellings differ from NVD's CPE names, so they are not copied into
// fields a merge could overwrite.

import {
  type ImportOptions,
  type ImportResult,
  parseJsonDocument,
  ArrayPositions,
  compact,
  emptyResult,
  fetchedAtOf,
  isObject,
  str,
  toRecord,
  wholeFile,
} from './common.js';

import type { VulnRecord } from '../model.js';

/** The KEV catalog: `catalogVersion`, or `vulnerabilities` whose entries carry `cveID`. */
export function looksLikeKev(value: unknown): boolean {
  if (!isObject(value)) return false;
  if ('catalogVersion' in value) return true;
  const first = Array.isArray(value.vulnerabilities) ? value.vulnerabilities[0] : undefined;
  return isObject(first) && typeof first.cveID === 'string';
}

/** Parse the text of the KEV catalog (known_exploited_vulnerabilities.json). */
export function parseKev(text: string, file: string, opts: ImportOptions = {}): ImportResult {
  return parseJsonDocument(text, file, opts, kevFromValue);
}

/** Parse an already JSON-parsed KEV catalog (`text` is its source, for error lines). */
export function kevFromValue(
  value: unknown,
  text: string,
  file: string,
  opts: ImportOptions = {},
): ImportResult {
  const result = emptyResult();
  if (!isObject(value) || !Array.isArray(value.vulnerabilities)) {
    result.errors.push(wholeFile(file, 'not a CISA KEV catalog (expected a "vulnerabilities" array)'));
    return result;
  }
  const fetchedAt = fetchedAtOf(opts);
  const positions = new ArrayPositions(text, ['vulnerabilities']);
  value.vulnerabilities.forEach((entry, i) => {
    const out = kevEntryToRecord(entry, fetchedAt);
    if ('record' in out) result.records.push(out.record);
    else result.errors.push(positions.error(file, i, out.error));
  });
  return result;
}

/** One catalog entry → a KEV mark (a minimal record with kev=true). */
function kevEntryToRecord(entry: unknown, fetchedAt: string): { record: VulnRecord } | { error: string } {
  if (!isObject(entry)) return { error: 'entry is not an object' };
  const id = str(entry.cveID);
  if (id === undefined) return { error: 'missing cveID' };
  const dateAdded = str(entry.dateAdded);
  if (dateAdded !== undefined && !/^\d{4}-\d{2}-\d{2}/.test(dateAdded)) {
    return { error: `${id}: dateAdded is not a date: ${JSON.stringify(dateAdded).slice(0, 60)}` };
  }
  const ransomware = str(entry.knownRansomwareCampaignUse)?.toLowerCase() === 'known';
  const out = toRecord(
    compact({
      id,
      kev: true,
      kevDateAdded: dateAdded,
      source: 'kev',
      fetchedAt,
      tags: ransomware ? ['kev', 'ransomware'] : ['kev'],
    }),
  );
  return 'record' in out ? out : { error: `${id}: ${out.error}` };
}

/** `record` with the KEV facts of `mark` (same id) applied: kev, kevDateAdded, and its tags added. */
export function markKev(record: VulnRecord, mark: VulnRecord): VulnRecord {
  if (record.id !== mark.id) throw new Error(`KEV mark ${mark.id} does not belong to ${record.id}`);
  return compact({
    ...record,
    kev: record.kev || mark.kev,
    kevDateAdded: mark.kevDateAdded ?? record.kevDateAdded,
    tags: [...new Set([...record.tags, ...mark.tags])],
  });
}
