// CVE JSON 5.x records (the CVE Program's format: cvelistV5, the CVE Services API) → vulnerability records.
//
//   {"dataType":"CVE_RECORD","dataVersion":"5.1","cveMetadata":{"cveId":"CVE-2021-44228",...},
//    "containers":{"cna":{...},"adp":[{...}]}}
//
// A file may hold one record or a JSON array of them. Mapping:
//   id                   ← cveMetadata.cveId
//   title                ← containers.cna.title
//   description          ← cna.descriptions[lang=en].value (rejected records: cna.rejectedReasons)
//   cwes                 ← problemTypes[].descriptions[].cweId (or a CWE-n in the description text),
//                          the CNA's first, then each ADP container's
//   cvss, severity       ← metrics[] cvssV3_1, then cvssV3_0, cvssV4_0, cvssV2_0; the CNA's metrics
//                          before the ADPs' (CISA's ADP often scores what the CNA did not)
//   cpes                 ← affected[].cpes (CNA and ADP)
//   vendor, product      ← from the first CPE when there is one (NVD's names); else the first
//                          cna.affected[] entry with a real vendor and product (not "n/a"), lower-cased
//                          with spaces as underscores (`Confluence Data Center` → `confluence_data_center`)
//   references           ← cna.references[].url, then the ADPs'
//   published, modified  ← cveMetadata.datePublished, dateUpdated
//   kev, kevDateAdded    ← an ADP metric `other` of type "kev" (CISA's Vulnrichment), content.dateAdded
//   tags                 ← `rejected` when cveMetadata.state is REJECTED
// source is "cve5".

import {
  type ImportOptions,
  type ImportResult,
  parseJsonDocument,
  recordsFromOneOrMany,
  asArray,
  cap,
  compact,
  cweList,
  fetchedAtOf,
  isObject,
  makeCvss,
  referenceList,
  severityOf,
  str,
  toRecord,
  uniq,
  vendorProductFromCpes,
  type Cvss,
} from './common.js';

import type { VulnRecord } from '../model.js';

/** A CVE JSON 5 record: `dataType: "CVE_RECORD"` or a `cveMetadata` object. */
function isCve5Record(value: unknown): value is Record<string, unknown> {
  return isObject(value) && (value.dataType === 'CVE_RECORD' || isObject(value.cveMetadata));
}

/** One CVE JSON 5 record, or an array whose first element is one. */
export function looksLikeCve5(value: unknown): boolean {
  return isCve5Record(value) || (Array.isArray(value) && isCve5Record(value[0]));
}

/** Parse the text of a CVE JSON 5 file (one record, or an array of records). */
export function parseCve5(text: string, file: string, opts: ImportOptions = {}): ImportResult {
  return parseJsonDocument(text, file, opts, cve5FromValue);
}

/** Parse already JSON-parsed CVE JSON 5 content (`text` is its source, for error lines). */
export function cve5FromValue(
  value: unknown,
  text: string,
  file: string,
  opts: ImportOptions = {},
): ImportResult {
  const fetchedAt = fetchedAtOf(opts);
  return recordsFromOneOrMany(value, text, file, (item) => cve5ToRecord(item, fetchedAt));
}

type Container = Record<string, unknown>;

function englishText(list: unknown): string | undefined {
  const entries = asArray(list).filter(isObject);
  const en = entries.find((d) => str(d.lang)?.toLowerCase().startsWith('en') && str(d.value));
  return str((en ?? entries.find((d) => str(d.value)))?.value);
}

function problemTypeCwes(container: Container): string[] {
  const out: unknown[] = [];
  for (const pt of asArray(container.problemTypes)) {
    if (!isObject(pt)) continue;
    for (const d of asArray(pt.descriptions)) {
      if (!isObject(d)) continue;
      out.push(d.cweId ?? /\bCWE-\d+\b/i.exec(str(d.description) ?? '')?.[0]);
    }
  }
  return cweList(out);
}

const METRIC_KEYS = ['cvssV3_1', 'cvssV3_0', 'cvssV4_0', 'cvssV2_0'] as const;

function bestMetric(containers: Container[]): { cvss: Cvss; severity: unknown } | undefined {
  for (const key of METRIC_KEYS) {
    for (const c of containers) {
      for (const m of asArray(c.metrics)) {
        const data = isObject(m) ? m[key] : undefined;
        if (!isObject(data)) continue;
        const fallbackVersion = key.slice(5).replace('_', '.');
        const cvss = makeCvss(data.baseScore, data.vectorString, data.version ?? fallbackVersion);
        if (cvss) return { cvss, severity: data.baseSeverity };
      }
    }
  }
  return undefined;
}

function kevDate(adp: Container[]): { kev: boolean; dateAdded?: string } {
  for (const c of adp) {
    for (const m of asArray(c.metrics)) {
      const other = isObject(m) && isObject(m.other) ? m.other : undefined;
      if (other && str(other.type)?.toLowerCase() === 'kev') {
        const content = isObject(other.content) ? other.content : {};
        return { kev: true, dateAdded: str(content.dateAdded) };
      }
    }
  }
  return { kev: false };
}

const NOT_A_NAME = new Set(['n/a', 'na', 'unknown', 'unspecified', '-', '*']);

function realName(v: unknown): string | undefined {
  const s = str(v);
  return s !== undefined && !NOT_A_NAME.has(s.toLowerCase()) ? s : undefined;
}

/**
 * A display name in the style NVD's CPE names use (`Confluence Data Center` → `confluence_data_center`), so
 * records from different sources name a product the same way.
 */
export function cpeStyle(name: string | undefined): string | undefined {
  return name?.trim().toLowerCase().replace(/\s+/g, '_');
}

/** One CVE JSON 5 record → a record, or the reason it cannot be one. */
export function cve5ToRecord(value: unknown, fetchedAt: string): { record: VulnRecord } | { error: string } {
  if (!isCve5Record(value)) return { error: 'not a CVE JSON 5 record (no cveMetadata)' };
  const version =
    str(value.dataVersion) ?? (typeof value.dataVersion === 'number' ? String(value.dataVersion) : undefined);
  if (version !== undefined && !/^5(?:\.|$)/.test(version)) {
    return { error: `unsupported CVE JSON dataVersion ${version} (expected 5.x)` };
  }
  const meta = isObject(value.cveMetadata) ? value.cveMetadata : {};
  const id = str(meta.cveId);
  if (id === undefined) return { error: 'missing cveMetadata.cveId' };
  const containers = isObject(value.containers) ? value.containers : {};
  const cna: Container = isObject(containers.cna) ? containers.cna : {};
  const adp = asArray(containers.adp).filter(isObject);
  const all = [cna, ...adp];
  const rejected = str(meta.state)?.toUpperCase() === 'REJECTED';

  const affected = asArray(cna.affected).filter(isObject);
  const cpes = uniq(
    all
      .flatMap((c) => asArray(c.affected).filter(isObject))
      .flatMap((a) => asArray(a.cpes).filter((x): x is string => typeof x === 'string' && x.length <= 500)),
  );
  const fromCpe = vendorProductFromCpes(cpes);
  const named = affected.find((a) => realName(a.vendor) && realName(a.product));
  const vendor = fromCpe.vendor ?? cpeStyle(realName(named?.vendor ?? affected[0]?.vendor));
  const product = fromCpe.vendor !== undefined ? fromCpe.product : cpeStyle(realName(named?.product));
  const metric = bestMetric(all);
  const kev = kevDate(adp);
  const out = toRecord(
    compact({
      id,
      title: cap(str(cna.title), 300),
      description: cap(englishText(cna.descriptions) ?? englishText(cna.rejectedReasons) ?? '', 20_000),
      cwes: cweList(all.flatMap(problemTypeCwes)),
      cvss: metric?.cvss,
      severity: severityOf(metric?.severity, metric?.cvss),
      vendor: cap(vendor, 200),
      product: cap(product, 200),
      cpes,
      references: referenceList(
        all.flatMap((c) => asArray(c.references).map((r) => (isObject(r) ? r.url : undefined))),
      ),
      kev: kev.kev,
      kevDateAdded: kev.dateAdded,
      published: str(meta.datePublished),
      modified: str(meta.dateUpdated),
      source: 'cve5',
      fetchedAt,
      tags: rejected ? ['rejected'] : [],
    }),
  );
  return 'record' in out ? out : { error: `${id}: ${out.error}` };
}
