// Live look-up of a CVE the store does not have: NVD for the record, the CISA KEV catalog for the
// known-exploited mark, the nuclei template for more fields and the exploit requests (evidence). The
// three are asked at the same time and combined in that order (NVD's fields win over the template's);
// what was obtained is stored. A source that fails becomes a warning and the others still count; only
// when none of NVD and the template gives a record does the look-up fail, with one line saying why.

import { InputError } from '../core/errors.js';
import type { Evidence } from '../vulns/evidence.js';
import { type Store, mergeVulnRecords } from '../store/index.js';
import { markKev } from '../vulns/importers/kev.js';
import { CveIdSchema, type VulnRecord } from '../vulns/model.js';
import type { LiveConfig } from '../vulns/live/config.js';
import type { FetchImpl } from '../vulns/live/http.js';
import { type KevCatalogOptions, KevCatalog } from '../vulns/live/kev.js';
import { type NucleiTemplatesOptions, NucleiTemplates } from '../vulns/live/nuclei.js';
import { type NvdClientOptions, NvdClient } from '../vulns/live/nvd.js';

type LiveSource = 'nvd' | 'kev' | 'nuclei';

export interface SourceOutcome {
  source: LiveSource;
  /** found: it gave something; not-found: it answered that it has nothing; failed; skipped: not asked. */
  status: 'found' | 'not-found' | 'failed' | 'skipped';
  /** What it gave or why it failed, one line. */
  detail?: string;
}

export interface LookupOptions {
  store: Store;
  /** WAFGEN_OFFLINE: no network at all, the look-up fails at once. */
  offline: boolean;
  /** A client, or options for one (false: do not ask NVD). */
  nvd?: NvdClient | NvdClientOptions | false;
  kev?: KevCatalog | KevCatalogOptions | false;
  nuclei?: NucleiTemplates | NucleiTemplatesOptions | false;
  /** Used by the clients made from options (default: the global fetch). */
  fetchImpl?: FetchImpl;
  signal?: AbortSignal;
}

export interface LookupResult {
  /** The record as stored after the look-up. */
  record: VulnRecord;
  /** The evidence obtained (nuclei requests and template), as given to the store. */
  evidence: Evidence[];
  sources: SourceOutcome[];
  /** Failed sources, skipped template requests, a stale KEV copy: things a caller may want to show. */
  warnings: string[];
}

/** The CVE is not in the store and the look-up could not (or may not) get it. One line; exit 2 in the CLI. */
export class CveNotFoundError extends InputError {
  override name = 'CveNotFoundError';
  constructor(
    readonly cveId: string,
    readonly reason: string,
    readonly offline: boolean,
    readonly sources: readonly SourceOutcome[] = [],
  ) {
    super(notInStoreMessage(cveId, reason, offline));
  }
}

/** "CVE-X is not in the local store and <reason>; import it with …" on one line. */
export function notInStoreMessage(cveId: string, reason: string, offline: boolean): string {
  const advice = 'import it with `wafgen import <file>` or pass --vuln FILE';
  const network = offline ? ', or allow the network (unset WAFGEN_OFFLINE)' : '';
  return `${cveId} is not in the local store and ${oneLine(reason, 600)}; ${advice}${network}`;
}

function oneLine(s: string, max = 240): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function messageOf(err: unknown): string {
  return oneLine(err instanceof Error ? err.message : String(err));
}

/** The sources' options for `config`, so findRecord and the CLI build them the same way. */
export function liveSources(config: LiveConfig): {
  nvd: NvdClientOptions;
  kev: KevCatalogOptions;
  nuclei: NucleiTemplatesOptions;
} {
  return {
    nvd: {
      baseUrl: config.nvdUrl,
      timeoutMs: config.timeoutMs,
      ...(config.nvdApiKey !== undefined ? { apiKey: config.nvdApiKey } : {}),
    },
    kev: {
      url: config.kevUrl,
      timeoutMs: config.timeoutMs,
      ...(config.cacheDir !== undefined ? { cacheDir: config.cacheDir } : {}),
    },
    nuclei: { base: config.nucleiTemplates, timeoutMs: config.timeoutMs },
  };
}

function client<C, O>(
  given: C | O | false | undefined,
  Ctor: new (opts: O) => C,
  fetchImpl: FetchImpl | undefined,
): C | undefined {
  if (given === false) return undefined;
  if (given instanceof Ctor) return given;
  const opts = (given ?? {}) as O & { fetchImpl?: FetchImpl };
  return new Ctor(fetchImpl && !opts.fetchImpl ? { ...opts, fetchImpl } : opts);
}

type Answer<T> = { state: 'skipped' } | { state: 'ok'; value: T } | { state: 'error'; reason: unknown };

/** Run one source's look-up (if it is enabled), never rejecting. */
async function ask<T>(run: (() => Promise<T>) | undefined): Promise<Answer<T>> {
  if (run === undefined) return { state: 'skipped' };
  try {
    return { state: 'ok', value: await run() };
  } catch (reason) {
    return { state: 'error', reason };
  }
}

/** Look `cveId` up live and store what is found; throws CveNotFoundError when offline or nothing is. */
export async function lookupCve(cveIdInput: string, opts: LookupOptions): Promise<LookupResult> {
  const parsedId = CveIdSchema.safeParse(cveIdInput);
  if (!parsedId.success) {
    throw new InputError(`${JSON.stringify(cveIdInput)} is not a CVE ID (expected CVE-YYYY-NNNN)`);
  }
  const cveId = parsedId.data;
  if (opts.offline) throw new CveNotFoundError(cveId, 'the network is off (WAFGEN_OFFLINE is set)', true);

  const nvd = client(opts.nvd, NvdClient, opts.fetchImpl);
  const kev = client(opts.kev, KevCatalog, opts.fetchImpl);
  const nuclei = client(opts.nuclei, NucleiTemplates, opts.fetchImpl);
  const { signal } = opts;
  const [nvdAnswer, kevAnswer, nucleiAnswer] = await Promise.all([
    ask(nvd && (() => nvd.getCve(cveId, signal))),
    ask(kev && (() => kev.lookup(cveId, signal))),
    ask(nuclei && (() => nuclei.lookup(cveId, signal))),
  ]);
  signal?.throwIfAborted();

  const sources: SourceOutcome[] = [];
  const warnings: string[] = [];
  const failed = (source: LiveSource, name: string, reason: unknown) => {
    sources.push({ source, status: 'failed', detail: messageOf(reason) });
    warnings.push(`${name} look-up failed: ${messageOf(reason)}`);
  };

  // NVD
  let nvdRecord: VulnRecord | undefined;
  if (nvdAnswer.state === 'error') failed('nvd', 'NVD', nvdAnswer.reason);
  else if (nvdAnswer.state === 'skipped') sources.push({ source: 'nvd', status: 'skipped' });
  else if (nvdAnswer.value === undefined) sources.push({ source: 'nvd', status: 'not-found' });
  else {
    nvdRecord = nvdAnswer.value;
    sources.push({ source: 'nvd', status: 'found', detail: nvd?.urlFor(cveId) ?? 'NVD' });
  }

  // CISA KEV
  let mark: VulnRecord | undefined;
  if (kevAnswer.state === 'error') failed('kev', 'CISA KEV', kevAnswer.reason);
  else if (kevAnswer.state === 'skipped') sources.push({ source: 'kev', status: 'skipped' });
  else if (kevAnswer.value === undefined) sources.push({ source: 'kev', status: 'not-found' });
  else {
    mark = kevAnswer.value;
    sources.push({ source: 'kev', status: 'found', detail: `added ${mark.kevDateAdded ?? '(no date)'}` });
  }
  if (kev) warnings.push(...kev.warnings.splice(0));

  // nuclei template
  let nucleiRecord: VulnRecord | undefined;
  let evidence: Evidence[] = [];
  if (nucleiAnswer.state === 'error') failed('nuclei', 'nuclei template', nucleiAnswer.reason);
  else if (nucleiAnswer.state === 'skipped') sources.push({ source: 'nuclei', status: 'skipped' });
  else if (nucleiAnswer.value === undefined) sources.push({ source: 'nuclei', status: 'not-found' });
  else {
    const t = nucleiAnswer.value;
    nucleiRecord = t.records.find((r) => r.id === cveId);
    for (const w of [...t.errors, ...t.warnings].slice(0, 20)) {
      warnings.push(`nuclei template ${w.file} ${w.position}: ${oneLine(w.message)}`);
    }
    if (nucleiRecord) {
      evidence = t.evidence.filter((e) => e.cveId.toUpperCase() === cveId);
      sources.push({ source: 'nuclei', status: 'found', detail: t.source });
    } else {
      const named = t.records.map((r) => r.id).join(', ');
      const detail = named ? `the template names ${named}, not ${cveId}` : 'the template could not be read';
      sources.push({ source: 'nuclei', status: 'failed', detail: `${detail} (${t.source})` });
      warnings.push(`nuclei template ${t.source}: ${detail}`);
    }
  }

  let record =
    nvdRecord && nucleiRecord ? mergeVulnRecords(nvdRecord, nucleiRecord) : (nvdRecord ?? nucleiRecord);
  if (record === undefined) throw new CveNotFoundError(cveId, nothingFound(sources), false, sources);
  if (mark) record = markKev(record, mark);

  await opts.store.vulns.upsert(record);
  if (mark?.kevDateAdded) await opts.store.vulns.markKev([cveId], mark.kevDateAdded);
  const stored: Evidence[] = [];
  for (const e of evidence) {
    try {
      await opts.store.evidence.add(e);
      stored.push(e);
    } catch (err) {
      warnings.push(`evidence from ${e.source} not stored: ${messageOf(err)}`);
    }
  }
  const saved = await opts.store.vulns.get(cveId);
  if (saved === undefined) throw new Error(`${cveId} was stored but cannot be read back`);
  return { record: saved, evidence: stored, sources, warnings };
}

/** Why nothing was found, from each source's outcome. */
function nothingFound(sources: readonly SourceOutcome[]): string {
  const parts: string[] = [];
  for (const s of sources) {
    const name = s.source === 'nvd' ? 'NVD' : s.source === 'kev' ? 'CISA KEV' : 'nuclei-templates';
    if (s.status === 'not-found') {
      if (s.source === 'nvd') parts.push('NVD has no record of it');
      else if (s.source === 'nuclei') parts.push('nuclei-templates has no template for it');
    } else if (s.status === 'failed') {
      parts.push(`${name} failed (${oneLine(s.detail ?? 'unknown error', 160)})`);
    } else if (s.status === 'found' && s.source === 'kev') {
      parts.push(`CISA KEV lists it (${s.detail}) but gives no details`);
    }
  }
  const asked = sources.filter((s) => s.source !== 'kev' && s.status !== 'skipped');
  if (asked.length === 0) parts.unshift('no live source that gives records is enabled');
  return `the live look-up found nothing: ${parts.join('; ') || 'no source had it'}`;
}
