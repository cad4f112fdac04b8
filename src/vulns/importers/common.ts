// What every vulnerability importer returns, and the small helpers they share: error positions,
// record validation, CVSS/severity/CWE/CPE normalisation, content hashes.
//
// Importers are pure: file contents in, records out. A malformed entry becomes one error (with the
// file and where in it) and is skipped; the other entries still import. Nothing is written anywhere.

import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { Evidence } from '../evidence.js';
import { zodMessage } from '../../requests/jsonl.js';
import { LineIndex } from '../../requests/io.js';
import { arrayElementOffsets, parseJson } from '../../requests/json-scan.js';
import { type Severity, type VulnRecord, severityFromScore, VulnRecordSchema } from '../model.js';

/** One problem with one entry of an input file. */
export interface ImportError {
  file: string;
  /**
   * Where in the file, for people: `line 7` (JSON Lines, YAML), `vulnerabilities[2] (line 41)` (an
   * element of a JSON array), or `file` when the whole file is the problem.
   */
  position: string;
  /** 1-based line, when known. */
  line?: number;
  /** 0-based index of the entry in its JSON array, when the entry is an array element. */
  index?: number;
  message: string;
}

export interface ImportResult {
  records: VulnRecord[];
  /** Exploit evidence found beside the records (nuclei requests and template text). */
  evidence: Evidence[];
  /** Malformed entries, each skipped. */
  errors: ImportError[];
  /**
   * Entries that were read but only partly used, or deliberately skipped (a nuclei request that needs
   * runtime values, a template without a CVE id). Not failures of the file.
   */
  warnings: ImportError[];
}

export interface ImportOptions {
  /** `fetchedAt` for every record and evidence; default: now. Fix it to make imports reproducible. */
  fetchedAt?: string;
}

export function emptyResult(): ImportResult {
  return { records: [], evidence: [], errors: [], warnings: [] };
}

export function fetchedAtOf(opts: ImportOptions): string {
  return opts.fetchedAt ?? new Date().toISOString();
}

// ---------------------------------------------------------------------------------------------------
// Positions

export function wholeFile(file: string, message: string, line?: number): ImportError {
  return line === undefined
    ? { file, position: 'file', message }
    : { file, position: `line ${line}`, line, message };
}

export function atLine(file: string, line: number, message: string): ImportError {
  return { file, position: `line ${line}`, line, message };
}

/**
 * Positions of the elements of the JSON array at `path` in `text` (`[]`: the root is the array).
 * Lines are only computed when an error needs one.
 */
export class ArrayPositions {
  private offsets: number[] | undefined;
  private lines: LineIndex | undefined;

  constructor(
    private readonly text: string,
    private readonly path: readonly string[],
  ) {}

  error(file: string, index: number, message: string): ImportError {
    this.offsets ??= arrayElementOffsets(this.text, this.path);
    this.lines ??= new LineIndex(this.text);
    const offset = this.offsets[index];
    const name = `${this.path.length ? this.path.join('.') : ''}[${index}]`;
    if (offset === undefined) return { file, position: name, index, message };
    const line = this.lines.lineAt(offset);
    return { file, position: `${name} (line ${line})`, line, index, message };
  }
}

/** Line of a character offset in `text`. */
function lineOfOffset(text: string, offset: number | undefined): number {
  return offset === undefined ? 1 : new LineIndex(text).lineAt(offset);
}

/** A JSON syntax error as a whole-file error at its line (a truncated file: the last line). */
export function jsonSyntaxError(
  file: string,
  text: string,
  json: { error: string; offset?: number },
): ImportError {
  const offset = json.offset ?? (/end of JSON input/i.test(json.error) ? text.trimEnd().length : undefined);
  return wholeFile(file, json.error, lineOfOffset(text, offset));
}

/** Parse a JSON file's text and hand the value to `fromValue`; a syntax error is one whole-file error. */
export function parseJsonDocument(
  text: string,
  file: string,
  opts: ImportOptions,
  fromValue: (value: unknown, text: string, file: string, opts: ImportOptions) => ImportResult,
): ImportResult {
  const json = parseJson(text);
  if (!('error' in json)) return fromValue(json.value, text, file, opts);
  const result = emptyResult();
  result.errors.push(jsonSyntaxError(file, text, json));
  return result;
}

/** Records from a document holding one item or an array of them, errors at the item's position. */
export function recordsFromOneOrMany(
  value: unknown,
  text: string,
  file: string,
  toRecordOf: (item: unknown) => { record: VulnRecord } | { error: string },
): ImportResult {
  const result = emptyResult();
  if (Array.isArray(value)) {
    const positions = new ArrayPositions(text, []);
    value.forEach((item, i) => {
      const out = toRecordOf(item);
      if ('record' in out) result.records.push(out.record);
      else result.errors.push(positions.error(file, i, out.error));
    });
    return result;
  }
  const out = toRecordOf(value);
  if ('record' in out) result.records.push(out.record);
  else result.errors.push(wholeFile(file, out.error));
  return result;
}

// ---------------------------------------------------------------------------------------------------
// Records

/** Validate a record input; the record, or a one-line reason. */
export function toRecord(input: Record<string, unknown>): { record: VulnRecord } | { error: string } {
  const parsed = VulnRecordSchema.safeParse(input);
  if (parsed.success) return { record: parsed.data };
  return { error: `invalid vulnerability record: ${zodMessage(parsed.error as z.ZodError)}` };
}

/** Drop keys whose value is undefined, so records compare and serialise cleanly. */
export function compact<T extends Record<string, unknown>>(obj: T): T {
  for (const key of Object.keys(obj)) if (obj[key] === undefined) delete obj[key];
  return obj;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A trimmed, non-empty string, or undefined. */
export function str(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

export function uniq<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

/** `text` cut to `max` characters (the record schema caps lengths). */
export function cap(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

/** Strings from a string, a comma-separated string, or an array of them. */
export function stringList(v: unknown, split = /,/): string[] {
  const items = typeof v === 'string' ? v.split(split) : asArray(v).filter((x) => typeof x === 'string');
  return uniq(items.map((s) => (s as string).trim()).filter((s) => s !== ''));
}

/** Reference URLs, de-duplicated, order kept, capped to the schema's length. */
export function referenceList(urls: Iterable<unknown>): string[] {
  const out: string[] = [];
  for (const u of urls) {
    const s = str(u);
    if (s !== undefined && s.length <= 2000) out.push(s);
  }
  return uniq(out);
}

// ---------------------------------------------------------------------------------------------------
// CWE, CVSS, severity

const SPECIFIC_CWE = /^CWE-\d+$/;
const NVD_CWE = /^NVD-CWE-(?:Other|noinfo)$/;

/** `CWE-79` from `CWE-79`, `cwe-79`, ` CWE-79 `; NVD's placeholders kept; anything else undefined. */
function normalizeCwe(v: unknown): string | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const upper = s.toUpperCase();
  if (SPECIFIC_CWE.test(upper)) return upper;
  const nvd = /^NVD-CWE-(OTHER|NOINFO)$/.exec(upper);
  if (nvd) return nvd[1] === 'OTHER' ? 'NVD-CWE-Other' : 'NVD-CWE-noinfo';
  return undefined;
}

/** CWE ids in order, de-duplicated; NVD's `NVD-CWE-*` placeholders only when nothing specific is known. */
export function cweList(values: Iterable<unknown>): string[] {
  const all = uniq([...values].map(normalizeCwe).filter((c): c is string => c !== undefined));
  const specific = all.filter((c) => SPECIFIC_CWE.test(c));
  return specific.length ? specific : all.filter((c) => NVD_CWE.test(c));
}

/** Severity from a vendor's or scanner's word for it. */
export function normalizeSeverity(v: unknown): Severity | undefined {
  const s = str(v)?.toLowerCase();
  switch (s) {
    case 'critical':
    case 'high':
    case 'medium':
    case 'low':
    case 'none':
      return s;
    case 'moderate':
      return 'medium';
    case 'important':
      return 'high';
    case 'info':
    case 'informational':
      return 'none';
    case 'unknown':
      return 'unknown';
    default:
      return undefined;
  }
}

/** CVSS v2 qualitative bands (NVD): low < 4, medium < 7, high otherwise. */
function severityFromV2Score(score: number): Severity {
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  return 'high';
}

export interface Cvss {
  score: number;
  vector?: string;
  version?: string;
}

/** CVSS version from a vector string: `CVSS:3.1/...` → `3.1`; a bare v2 vector (`AV:N/...`) → `2.0`. */
export function cvssVersionFromVector(vector: string | undefined): string | undefined {
  if (vector === undefined) return undefined;
  const m = /^CVSS:(\d+\.\d+)\//.exec(vector);
  if (m) return m[1];
  return /^\(?AV:[LAN]\/AC:[HML]\/Au:[MSN]\//.test(vector) ? '2.0' : undefined;
}

export function makeCvss(score: unknown, vector?: unknown, version?: unknown): Cvss | undefined {
  const s = num(score);
  if (s === undefined || s < 0 || s > 10) return undefined;
  const vec = cap(str(vector), 200);
  const ver = str(typeof version === 'number' ? version.toFixed(1) : version) ?? cvssVersionFromVector(vec);
  return compact({ score: s, vector: vec, version: ver !== undefined && ver.length <= 10 ? ver : undefined });
}

/** The stated severity when it is usable, else one derived from the score (v2 bands for v2). */
export function severityOf(stated: unknown, cvss: Cvss | undefined): Severity {
  const s = normalizeSeverity(stated);
  if (s !== undefined && s !== 'unknown') return s;
  if (cvss === undefined) return s ?? 'unknown';
  return cvss.version?.startsWith('2') ? severityFromV2Score(cvss.score) : severityFromScore(cvss.score);
}

// ---------------------------------------------------------------------------------------------------
// CPE

export interface Cpe {
  part: string;
  vendor?: string;
  product?: string;
  version?: string;
}

/** Split on `:` that is not escaped with a backslash. */
function splitCpe(cpe: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < cpe.length; i++) {
    const c = cpe[i]!;
    if (c === '\\' && i + 1 < cpe.length) {
      cur += c + cpe[i + 1]!;
      i++;
    } else if (c === ':') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** A CPE attribute with its escapes removed (`joomla\!` → `joomla!`); `*` and `-` (any, n/a) → undefined. */
export function unescapeCpeValue(v: string | undefined): string | undefined {
  if (v === undefined || v === '' || v === '*' || v === '-') return undefined;
  return v.replace(/\\(.)/g, '$1');
}

/** Parse a CPE 2.3 formatted string (`cpe:2.3:a:apache:log4j:2.14.1:*:...`) or a CPE 2.2 URI (`cpe:/a:apache:log4j`). */
export function parseCpe(cpe: string): Cpe | undefined {
  const parts = splitCpe(cpe.trim());
  if (parts[0]?.toLowerCase() !== 'cpe') return undefined;
  let fields: string[];
  if (parts[1] === '2.3') fields = parts.slice(2);
  else if (parts[1]?.startsWith('/')) fields = [parts[1].slice(1), ...parts.slice(2)];
  else return undefined;
  const part = fields[0]?.toLowerCase();
  if (part !== 'a' && part !== 'o' && part !== 'h') return undefined;
  return compact({
    part,
    vendor: unescapeCpeValue(fields[1]),
    product: unescapeCpeValue(fields[2]),
    version: unescapeCpeValue(fields[3]),
  });
}

/**
 * Vendor and product named by a list of CPEs: the first application, then operating system, then
 * hardware CPE that names both (appliance records list the firmware before the box it runs on).
 */
export function vendorProductFromCpes(cpes: readonly string[]): { vendor?: string; product?: string } {
  const parsed = cpes.map(parseCpe).filter((c): c is Cpe => c?.vendor !== undefined);
  for (const part of ['a', 'o', 'h']) {
    const hit = parsed.find((c) => c.part === part && c.product !== undefined);
    if (hit) return { vendor: hit.vendor, product: hit.product };
  }
  const any = parsed[0];
  return any ? { vendor: any.vendor } : {};
}

// ---------------------------------------------------------------------------------------------------

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
