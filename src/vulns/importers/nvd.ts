// NVD CVE API 2.0 responses → vulnerability records.
//
//   {"resultsPerPage":1,"startIndex":0,"totalResults":1,"format":"NVD_CVE","version":"2.0",
//    "timestamp":"...","vulnerabilities":[{"cve":{"id":"CVE-2021-44228", ...}}]}
//
// Mapping, per `vulnerabilities[i].cve`:
//   id                       ← id
//   description              ← descriptions[lang=en].value (the first English one; else the first)
//   cwes                     ← weaknesses[].description[].value, Primary weaknesses first; NVD-CWE-Other /
//                              NVD-CWE-noinfo only when no specific CWE is listed
//   cvss, severity           ← metrics: cvssMetricV31, then V30, V40, V2; within a version the Primary
//                              (NVD's own) metric first. V2 severity sits beside cvssData, V3/V4 inside it
//   cpes                     ← configurations[].nodes[].cpeMatch[] with vulnerable=true, criteria
//   vendor, product          ← the first application CPE (then OS, then hardware), escapes removed
//   references               ← references[].url
//   published, modified      ← published, lastModified
//   kev, kevDateAdded, title ← cisaExploitAdd (present only for CISA KEV entries), cisaVulnerabilityName
//   tags                     ← `rejected` when vulnStatus is Rejected
// source is "nvd".

import {
  type ImportOptions,
  type ImportResult,
  parseJsonDocument,
  ArrayPositions,
  asArray,
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
  toRecord,
  uniq,
  vendorProductFromCpes,
  wholeFile,
  type Cvss,
} from './common.js';

import type { VulnRecord } from '../model.js';

/** An NVD API 2.0 response: `vulnerabilities` holding `{cve: {...}}` objects. */
export function looksLikeNvd(value: unknown): boolean {
  if (!isObject(value) || !Array.isArray(value.vulnerabilities)) return false;
  const first = value.vulnerabilities[0];
  if (first === undefined) return value.format === 'NVD_CVE' || 'resultsPerPage' in value;
  return isObject(first) && isObject(first.cve);
}

/** Parse the text of an NVD API 2.0 response. */
export function parseNvd(text: string, file: string, opts: ImportOptions = {}): ImportResult {
  return parseJsonDocument(text, file, opts, nvdFromValue);
}

/** Parse an already JSON-parsed NVD response (`text` is its source, for error lines). */
export function nvdFromValue(
  value: unknown,
  text: string,
  file: string,
  opts: ImportOptions = {},
): ImportResult {
  const result = emptyResult();
  if (!isObject(value) || !Array.isArray(value.vulnerabilities)) {
    result.errors.push(wholeFile(file, 'not an NVD API 2.0 response (expected a "vulnerabilities" array)'));
    return result;
  }
  const fetchedAt = fetchedAtOf(opts);
  const positions = new ArrayPositions(text, ['vulnerabilities']);
  value.vulnerabilities.forEach((item, i) => {
    const out = isObject(item) ? nvdCveToRecord(item.cve, fetchedAt) : { error: 'entry is not an object' };
    if ('record' in out) result.records.push(out.record);
    else result.errors.push(positions.error(file, i, out.error));
  });
  return result;
}

interface NvdMetric {
  source?: unknown;
  type?: unknown;
  baseSeverity?: unknown;
  cvssData?: { baseScore?: unknown; vectorString?: unknown; version?: unknown; baseSeverity?: unknown };
}

const METRIC_KEYS = ['cvssMetricV31', 'cvssMetricV30', 'cvssMetricV40', 'cvssMetricV2'] as const;

function bestMetric(metrics: unknown): { cvss: Cvss; severity: unknown } | undefined {
  if (!isObject(metrics)) return undefined;
  for (const key of METRIC_KEYS) {
    const list = asArray(metrics[key]).filter(isObject) as NvdMetric[];
    const ordered = [
      ...list.filter((m) => m.type === 'Primary'),
      ...list.filter((m) => m.type !== 'Primary'),
    ];
    for (const m of ordered) {
      const data = isObject(m.cvssData) ? m.cvssData : undefined;
      const cvss = makeCvss(data?.baseScore, data?.vectorString, data?.version);
      if (cvss) return { cvss, severity: data?.baseSeverity ?? m.baseSeverity };
    }
  }
  return undefined;
}

function description(list: unknown): string {
  const entries = asArray(list).filter(isObject);
  const en = entries.find((d) => str(d.lang)?.toLowerCase().startsWith('en') && str(d.value));
  return str((en ?? entries.find((d) => str(d.value)))?.value) ?? '';
}

function weaknesses(list: unknown): string[] {
  const entries = asArray(list).filter(isObject);
  const ordered = [
    ...entries.filter((w) => w.type === 'Primary'),
    ...entries.filter((w) => w.type !== 'Primary'),
  ];
  return cweList(
    ordered.flatMap((w) => asArray(w.description).map((d) => (isObject(d) ? d.value : undefined))),
  );
}

function vulnerableCpes(configurations: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (!isObject(node)) return;
    for (const m of asArray(node.cpeMatch)) {
      if (isObject(m) && m.vulnerable !== false) {
        const c = str(m.criteria) ?? str(m.cpe23Uri);
        if (c !== undefined && c.length <= 500) out.push(c);
      }
    }
    for (const child of asArray(node.children)) walk(child);
  };
  for (const config of asArray(configurations)) {
    if (isObject(config)) for (const node of asArray(config.nodes)) walk(node);
  }
  return uniq(out);
}

/** One `cve` object of an NVD API 2.0 response → a record, or the reason it cannot be one. */
function nvdCveToRecord(cve: unknown, fetchedAt: string): { record: VulnRecord } | { error: string } {
  if (!isObject(cve)) return { error: 'missing "cve" object' };
  const id = str(cve.id);
  if (id === undefined) return { error: 'missing cve.id' };
  const metric = bestMetric(cve.metrics);
  const cpes = vulnerableCpes(cve.configurations);
  const { vendor, product } = vendorProductFromCpes(cpes);
  const kevAdded = str(cve.cisaExploitAdd);
  const out = toRecord(
    compact({
      id,
      title: cap(str(cve.cisaVulnerabilityName), 300),
      description: cap(description(cve.descriptions), 20_000),
      cwes: weaknesses(cve.weaknesses),
      cvss: metric?.cvss,
      severity: severityOf(metric?.severity, metric?.cvss),
      vendor: cap(vendor, 200),
      product: cap(product, 200),
      cpes,
      references: referenceList(asArray(cve.references).map((r) => (isObject(r) ? r.url : undefined))),
      kev: kevAdded !== undefined,
      kevDateAdded: kevAdded,
      published: str(cve.published),
      modified: str(cve.lastModified),
      source: 'nvd',
      fetchedAt,
      tags: str(cve.vulnStatus)?.toLowerCase() === 'rejected' ? ['rejected'] : [],
    }),
  );
  return 'record' in out ? out : { error: `${id}: ${out.error}` };
}
