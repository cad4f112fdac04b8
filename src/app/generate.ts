// The `generate` use case: CVE ID (or record file) + evidence → a checked rule and its report,
// saved as a new rule version when something changed. Shared by the CLI, the API and the workers.
import { createHash, randomUUID } from 'node:crypto';

import { generationEvent } from '../audit/event.js';
import type { AuditLog } from '../audit/index.js';
import type { GenerationObservation } from '../observability/index.js';

import { testCaseToRequest } from '../requests/jsonl.js';
import type { HttpRequest } from '../requests/model.js';
import type { Fetcher } from '../evidence/collect.js';
import type { ExtractAsk } from '../evidence/model-extract.js';
import type { Evidence } from '../vulns/evidence.js';
import { loadBenignSample } from '../generation/benign.js';
import { mergeFacts } from '../generation/facts.js';
import { runGeneration, type LoopOptions } from '../generation/loop.js';
import type { Engine, GenerationReport, GenerationResult, Judge } from '../generation/types.js';
import type { Store } from '../store/index.js';
import type { LiveConfig } from '../vulns/live/config.js';
import { bundledExploits } from '../vulns/bundled.js';
import { CveIdSchema, type VulnRecord } from '../vulns/model.js';
import { InputError } from '../core/errors.js';
import { readTextFile } from '../core/input.js';

// What only some generations need is imported when they need it: fetching references (linkedom,
// readability), live look-up (NVD, KEV, nuclei clients), record and request file parsers. A
// `wafgen generate` of a stored CVE loads none of them (see the start-up figures in the README).

export interface GenerateRequest {
  cveId: string;
  /** The vulnerability record itself (the programmatic API); wins over `vulnFile` and the store. */
  record?: VulnRecord;
  /** A vulnerability record file (JSON record, NVD/CVE 5 JSON, or a corpus-style JSONL line). */
  vulnFile?: string;
  /** Exploit requests: test-case JSONL, raw HTTP, nuclei templates, WAF logs, HAR. */
  evidenceFiles?: string[];
  /** Exploit requests already read (the programmatic API), beside `evidenceFiles`. */
  exploits?: HttpRequest[];
  /** Benign traffic for the loop (default: the built-in sample). */
  benignFiles?: string[];
  /** Benign requests already read (the programmatic API), beside `benignFiles`; either replaces the built-in sample. */
  benign?: HttpRequest[];
  maxAttempts?: number;
  maxInputBytes: number;
  /** Store the rule as a new version when something changed (default true when there is a store). */
  save?: boolean;
  /** Fetch the record's reference URLs (through the safe fetcher) for evidence. */
  fetch?: boolean;
  /** Candidates asked for per attempt, in parallel (1-8; default: the deps' WAFGEN_CANDIDATES, else 1). */
  candidates?: number;
  /** A judge model, `provider[:model]`, that attacks the chosen rule (default: the deps' WAFGEN_JUDGE). */
  judge?: string;
  /** First attempts of up to this many concurrent generations share one LLM call (default: the deps' WAFGEN_LLM_BATCH, else 1). */
  llmBatch?: number;
  /**
   * Leave-one-out: use nothing wafgen bundles about this CVE (its hand-written exploit facts and its
   * bundled exploit requests), as if it had never seen it. The record's public fields stay.
   */
  withholdBundled?: boolean;
}

export interface GenerateDeps {
  store?: Store;
  /** Live look-up of a CVE missing from the store (NVD, KEV, nuclei-templates) unless offline. */
  /**
   * The network: `offline` (WAFGEN_OFFLINE) stops live look-ups and reference fetches;
   * `fetchReferences: false` (WAFGEN_FETCH_REFERENCES=0) stops reference fetches only.
   */
  lookup?: { offline: boolean; fetchReferences?: boolean; live?: LiveConfig };
  engine: Engine;
  fallback?: Engine;
  onStep?: LoopOptions['onStep'];
  /** One audit event per generation, whether a rule came out or not. */
  audit?: AuditLog;
  /** Called once per generation with what metrics and logs need (the service wires observability here). */
  observe?: (o: GenerationObservation) => void;
  requestId?: string;
  principal?: string;
  /** How reference URLs are fetched (default: the safe fetcher); tests inject a local one. */
  fetcher?: Fetcher;
  /** Candidates per attempt when the request does not say (WAFGEN_CANDIDATES). */
  candidates?: number;
  /** The LLM batch size when the request does not say (WAFGEN_LLM_BATCH). */
  llmBatch?: number;
  /** The judge when the request does not name one (WAFGEN_JUDGE); ignored without the llm engine. */
  judge?: string;
  /** Builds a judge on `provider[:model]`: present with the llm engine only (EngineChoice.judgeFor). */
  judgeFor?: (spec: string) => Judge;
  /** The small model for exploit facts from long fetched text (EngineChoice.extract); else heuristic only. */
  extract?: ExtractAsk;
}

export function parseCveId(value: string): string {
  const r = CveIdSchema.safeParse(value);
  if (!r.success) throw new InputError(`${JSON.stringify(value)} is not a CVE ID (expected CVE-YYYY-NNNN)`);
  return r.data;
}

async function recordFromFile(file: string, cveId: string, maxBytes: number): Promise<VulnRecord> {
  const text = await readTextFile(file, maxBytes);
  const { importText } = await import('../vulns/importers/index.js');
  const result = importText(text, file);
  const record =
    result.records.find((r) => r.id === cveId) ??
    (result.records.length === 1 ? result.records[0] : undefined);
  if (!record) {
    const why = result.errors[0] ? `: ${result.errors[0].position} ${result.errors[0].message}` : '';
    throw new InputError(`${file}: no vulnerability record for ${cveId}${why}`);
  }
  return { ...record, id: cveId };
}

/**
 * The stored record for `cveId`. One the store lacks is looked up live (NVD, CISA KEV, nuclei
 * templates) and stored, when `live` options are given, there is a store, and the network is allowed.
 */
export async function findRecord(
  cveId: string,
  store: Store | undefined,
  live?: { offline: boolean; live?: LiveConfig },
): Promise<VulnRecord> {
  const record = await store?.vulns.get(cveId);
  if (record) return record;
  const [{ liveSources, lookupCve, notInStoreMessage }, { defaultLiveConfig }] = await Promise.all([
    import('./lookup.js'),
    import('../vulns/live/config.js'),
  ]);
  if (live && store) {
    const found = await lookupCve(cveId, {
      store,
      offline: live.offline,
      ...liveSources(live.live ?? defaultLiveConfig()),
    });
    return found.record;
  }
  throw new InputError(
    notInStoreMessage(
      cveId,
      store ? 'no live look-up was requested' : 'there is no store to look it up in',
      live?.offline ?? false,
    ),
  );
}

function evidenceToRequest(e: Evidence, cveId: string): HttpRequest | undefined {
  if (e.kind !== 'request' || !e.request) return undefined;
  const r = testCaseToRequest(
    { ...e.request, cve: cveId, expect: 'block', source: e.source },
    { file: e.source, line: 0 },
  );
  return 'request' in r ? r.request : undefined;
}

/** Evidence given for this CVE is exploit traffic unless it says otherwise. */
const asExploits = (requests: readonly HttpRequest[], cveId: string): HttpRequest[] =>
  requests
    .filter((r) => r.expect !== 'allow')
    .map((r) => ({ ...r, cve: r.cve ?? cveId, expect: 'block' as const }));

async function evidenceFromFiles(files: readonly string[], cveId: string): Promise<HttpRequest[]> {
  const { readAllRequests, RequestFileError } = await import('../requests/index.js');
  try {
    const { requests, errors } = await readAllRequests(files, { expect: 'block' });
    if (requests.length === 0 && errors.length > 0)
      throw new InputError(`${errors[0]!.file}:${errors[0]!.line}: ${errors[0]!.message}`);
    return asExploits(requests, cveId);
  } catch (e) {
    if (e instanceof RequestFileError) throw new InputError(e.message);
    throw e;
  }
}

type Extraction = NonNullable<GenerationReport['extraction']>;

/**
 * Exploit facts from each long article by the small model, cross-checked against the text, as one
 * more signature beside the heuristic's (the offline path, which stays). A failed call leaves the
 * heuristic's facts alone.
 */
async function modelSignatures(
  record: VulnRecord,
  articles: readonly Evidence[],
  ask: ExtractAsk,
  deps: GenerateDeps,
): Promise<{ evidence: Evidence[]; extraction?: Extraction }> {
  const [{ extractWithModel }, { hasFacts }, { EvidenceSchema }] = await Promise.all([
    import('../evidence/model-extract.js'),
    import('../evidence/extract.js'),
    import('../vulns/evidence.js'),
  ]);
  const out: Evidence[] = [];
  const x: Extraction = {
    calls: 0,
    usage: { inputTokens: 0, outputTokens: 0 },
    costUsd: 0,
    dropped: 0,
    failed: 0,
  };
  for (const a of articles) {
    if (!a.text) continue;
    let r;
    try {
      r = await extractWithModel(a.text, a.source, ask);
    } catch (e) {
      x.calls++;
      x.failed++;
      deps.onStep?.(
        `model extraction failed for ${a.source} (${e instanceof Error ? e.name : 'error'}); heuristic facts only`,
      );
      continue;
    }
    if (!r) continue;
    x.calls++;
    x.provider = r.provider;
    x.model = r.model;
    x.usage.inputTokens += r.usage.inputTokens;
    x.usage.outputTokens += r.usage.outputTokens;
    x.costUsd += r.costUsd;
    x.dropped += r.dropped;
    if (!hasFacts(r.facts)) continue;
    out.push(
      EvidenceSchema.parse({
        cveId: record.id,
        kind: 'signature',
        source: a.source,
        ...(a.title ? { title: a.title } : {}),
        signature: r.facts,
        extractor: `llm:${r.model}`.slice(0, 100),
        fetchedAt: a.fetchedAt,
        contentHash: sha256({ source: a.source, extractor: r.model, signature: r.facts }),
      }),
    );
  }
  return { evidence: out, ...(x.calls > 0 ? { extraction: x } : {}) };
}

/** Articles and extracted signatures from the record's references; kept in the store when there is one. */
async function fetchEvidence(
  record: VulnRecord,
  deps: GenerateDeps,
): Promise<{ evidence: Evidence[]; extraction?: Extraction }> {
  let skipped = 0;
  const { collectEvidence } = await import('../evidence/collect.js');
  const evidence = await collectEvidence(record, {
    fetch: true,
    ...(deps.fetcher ? { fetcher: deps.fetcher } : {}),
    logger: {
      warn: (message) => {
        skipped++;
        deps.onStep?.(message);
      },
    },
  });
  if (record.references.length > 0)
    deps.onStep?.(
      `fetched evidence from ${evidence.filter((e) => e.kind === 'article').length} reference(s), ${skipped} skipped`,
    );
  const byModel = deps.extract
    ? await modelSignatures(
        record,
        evidence.filter((e) => e.kind === 'article'),
        deps.extract,
        deps,
      )
    : { evidence: [] };
  evidence.push(...byModel.evidence);
  for (const e of evidence) await deps.store?.evidence.add(e);
  return { evidence, ...(byModel.extraction ? { extraction: byModel.extraction } : {}) };
}

/**
 * The judge asked for: the request's, else the configured default. One named in the request with no
 * llm engine to ask is bad input; the configured default then just does not apply (an offline run).
 */
function judgeOf(request: GenerateRequest, deps: GenerateDeps): Judge | undefined {
  const spec = request.judge ?? deps.judge;
  if (!spec) return undefined;
  if (!deps.judgeFor) {
    if (request.judge) throw new InputError('a judge needs the llm engine (a configured LLM provider)');
    return undefined;
  }
  try {
    return deps.judgeFor(spec);
  } catch (e) {
    throw new InputError(e instanceof Error ? e.message : String(e));
  }
}

const sha256 = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

async function generateAndSave(
  request: GenerateRequest,
  deps: GenerateDeps,
): Promise<GenerationResult & { version?: number }> {
  const cveId = parseCveId(request.cveId);
  const found = request.record
    ? { ...request.record, id: cveId }
    : request.vulnFile
      ? await recordFromFile(request.vulnFile, cveId, request.maxInputBytes)
      : await findRecord(cveId, deps.store, deps.lookup);
  const withhold = request.withholdBundled === true;
  const record = withhold && found.source === 'bundled' ? { ...found, exploit: undefined } : found;
  const bundled = withhold ? [] : await bundledExploits(cveId);
  const fetchedAll =
    request.fetch && !deps.lookup?.offline && deps.lookup?.fetchReferences !== false
      ? await fetchEvidence(record, deps)
      : { evidence: [] };
  const fetched = fetchedAll.evidence;
  const stored = [...((await deps.store?.evidence.forCve(cveId)) ?? []), ...(deps.store ? [] : fetched)];
  const exploits = [
    ...bundled,
    ...stored.map((e) => evidenceToRequest(e, cveId)).filter((r): r is HttpRequest => r !== undefined),
    ...(request.evidenceFiles?.length ? await evidenceFromFiles(request.evidenceFiles, cveId) : []),
    ...asExploits(request.exploits ?? [], cveId),
  ];
  const signatures = stored.filter((e) => e.kind === 'signature' && e.signature).map((e) => e.signature!);
  const facts = mergeFacts(record, signatures);
  const ownBenign = (request.benign ?? []).map((r) => ({ ...r, expect: 'allow' as const }));
  const loaded =
    ownBenign.length === 0 || request.benignFiles?.length ? await loadBenignSample(request.benignFiles) : [];
  // The built-in corpus alone stays the same array: the checks keep its leaf outcomes per array
  // (evaluator/request-set.ts), so the next generation in this process reuses them.
  const benign = ownBenign.length === 0 ? loaded : [...loaded, ...ownBenign];
  const evidenceSources = [
    ...new Set([
      ...stored.map((e) => e.source),
      ...(request.evidenceFiles ?? []),
      ...(request.exploits ?? []).map((r) => r.source ?? 'exploit requests passed in'),
      ...(record.exploit ? [`${record.source} record`] : []),
      ...bundled.map((r) => `bundled exploit ${r.id}${r.source ? ` (${r.source})` : ''}`),
    ]),
  ];
  const benignSupplied = (request.benignFiles?.length ?? 0) > 0 || ownBenign.length > 0;
  const candidates = request.candidates ?? deps.candidates;
  const batch = request.llmBatch ?? deps.llmBatch;
  const input = {
    record,
    exploits,
    facts,
    benign,
    benignSupplied,
    evidenceSources,
    ...(candidates ? { candidates } : {}),
    ...(batch && batch > 1 ? { batch } : {}),
  };
  const judge = judgeOf(request, deps);
  const result = await runGeneration(input, deps.engine, {
    ...(request.maxAttempts ? { maxAttempts: request.maxAttempts } : {}),
    ...(deps.fallback ? { fallback: deps.fallback } : {}),
    ...(judge ? { judge } : {}),
    ...(deps.onStep ? { onStep: deps.onStep } : {}),
  });
  // The extraction's calls are reported apart from the generation's (a stage of their own).
  if ('extraction' in fetchedAll && fetchedAll.extraction) result.report.extraction = fetchedAll.extraction;
  if (!deps.store || request.save === false) return result;
  const saved = await deps.store.rules.saveVersion(cveId, {
    rule: result.rule,
    inputsHash: sha256({
      record: { ...record, fetchedAt: undefined },
      exploits: exploits.map((r) => r.uri + (r.body ?? '')),
      // The engine that wrote the rule, not the one asked: a degraded built-in fallback and the
      // LLM's later answer with the same statement must differ, else the store kept the degraded
      // version as "unchanged" and the LLM's rule never replaced it.
      engine: result.report.producedBy,
    }),
    engine: result.report.producedBy,
    ...(result.report.provider ? { provider: result.report.provider } : {}),
    ...(result.report.model ? { model: result.report.model } : {}),
    report: result.report,
  });
  return { ...result, version: saved.version };
}

/** Generate (and save) a rule, with one audit event and one observation per generation. */
export async function generateRule(
  request: GenerateRequest,
  deps: GenerateDeps,
): Promise<GenerationResult & { version?: number }> {
  const started = Date.now();
  const requestId = deps.requestId ?? randomUUID();
  const principal = deps.principal ?? 'unknown';
  const cveId = request.cveId.toUpperCase();
  let result: Awaited<ReturnType<typeof generateAndSave>>;
  try {
    result = await generateAndSave(request, deps);
  } catch (error) {
    // Bad input (an unknown CVE, an unreadable file) is not a generation: no event for it.
    if (!(error instanceof InputError)) {
      deps.observe?.({
        requestId,
        cveId,
        principal,
        error,
        engine: deps.engine.name,
        latencyMs: Date.now() - started,
      });
      // An audit log that cannot take the event fails the call with its own error (a job retries
      // it, so the event is not lost); the generation's error is in the observation's log line.
      await deps.audit?.emit(
        generationEvent({ requestId, cveId, principal, error, engine: deps.engine.name }),
      );
    }
    throw error;
  }
  // Outside the try: the generation succeeded (and its rule is saved), so an audit log that cannot
  // take its event fails the call with its own error, not as a second, failed generation (observed
  // twice, a failure event after the success's).
  deps.observe?.({
    requestId,
    cveId,
    principal,
    report: result.report,
    latencyMs: Date.now() - started,
    ruleName: result.rule.Name,
    ...(result.version !== undefined ? { version: result.version } : {}),
  });
  await deps.audit?.emit(
    generationEvent({
      requestId,
      cveId,
      principal,
      report: result.report,
      ruleName: result.rule.Name,
      ...(result.version !== undefined ? { ruleVersion: result.version } : {}),
    }),
  );
  return result;
}
