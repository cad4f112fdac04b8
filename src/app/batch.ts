// The `batch` use case: many CVEs, a few at a time, resumable. The input is a list of CVE IDs (one
// per line, `#` comments) or vulnerability records (JSON Lines, corpus-style or wafgen's own);
// records are imported first. CVEs that already have a stored rule are skipped unless forced, so a
// batch that was interrupted picks up where it stopped; a degraded rule (the built-in engine's,
// written because every LLM provider failed: degraded.ts) is not skipped by the llm engine, which
// asks the providers again. Like `generate`, each CVE's reference pages are fetched (unless told
// not to, or offline) and long ones go to the small model for exploit facts when one is configured.
import type { Fetcher } from '../evidence/collect.js';
import type { ExtractAsk } from '../evidence/model-extract.js';
import { NoRuleError, type NoRuleFacts } from '../generation/no-rule.js';
import type { Engine, GenerationReport } from '../generation/types.js';
import type { Store } from '../store/index.js';
import { importText } from '../vulns/importers/index.js';
import { CVE_ID } from '../vulns/model.js';
import { InputError } from '../core/errors.js';
import { generateRule, type GenerateDeps } from './generate.js';
import { readTextFile } from '../core/input.js';
import { isDegraded } from './degraded.js';

export interface BatchItemResult {
  cveId: string;
  /**
   * generated: a proven rule; untested: a rule with no exploit request to test it against;
   * failed-checks: a rule that failed a check; no-rule: the engine could write none (`error` says
   * what it recognised and needs); skipped: a rule was already stored (not a degraded one, with the
   * llm engine); error: the CVE could not be processed.
   */
  status: 'generated' | 'untested' | 'failed-checks' | 'no-rule' | 'skipped' | 'error';
  version?: number;
  report?: GenerationReport;
  /** What the engine recognised, for no-rule. */
  noRule?: NoRuleFacts;
  error?: string;
}

const STATUS = { proven: 'generated', untested: 'untested', failed: 'failed-checks' } as const;

export interface BatchOptions {
  concurrency: number;
  force: boolean;
  maxInputBytes: number;
  maxAttempts?: number;
  /** The engine to fall back to when the main one fails outright (LLM providers all down). */
  fallback?: Engine;
  /** Live look-up of CVEs missing from the store; its `offline` also stops reference fetching. */
  lookup?: GenerateDeps['lookup'];
  /** Fetch each record's reference URLs for evidence (as `generate` does; never when offline). */
  fetch?: boolean;
  /** How reference URLs are fetched (default: the safe fetcher); tests inject a local one. */
  fetcher?: Fetcher;
  /** The small model for exploit facts from long fetched text (EngineChoice.extract). */
  extract?: ExtractAsk;
  audit?: GenerateDeps['audit'];
  principal?: string;
  /** Candidates per attempt, and the judge (see GenerateRequest / GenerateDeps). */
  candidates?: number;
  judge?: string;
  judgeFor?: GenerateDeps['judgeFor'];
  /** First attempts of up to this many CVEs share one LLM call (the llm engine; see GenerateRequest). */
  llmBatch?: number;
  onItem?: (result: BatchItemResult, done: number, total: number) => void;
}

/** CVE IDs from the input file, importing any records it holds. */
export async function readBatchInput(file: string, store: Store, maxBytes: number): Promise<string[]> {
  const text = await readTextFile(file, maxBytes);
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (lines.length === 0) throw new InputError(`${file}: no CVE IDs or records`);
  if (lines.every((l) => CVE_ID.test(l))) return [...new Set(lines.map((l) => l.toUpperCase()))];
  const imported = importText(text, file);
  if (imported.records.length === 0) {
    const e = imported.errors[0];
    throw new InputError(
      `${file}: neither CVE IDs nor vulnerability records${e ? ` (${e.position}: ${e.message})` : ''}`,
    );
  }
  await store.vulns.upsertMany(imported.records);
  for (const ev of imported.evidence) await store.evidence.add(ev);
  return [...new Set(imported.records.map((r) => r.id))];
}

export async function runBatch(
  ids: readonly string[],
  store: Store,
  engine: Engine,
  options: BatchOptions,
): Promise<BatchItemResult[]> {
  const results: BatchItemResult[] = new Array(ids.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const index = next++;
      const cveId = ids[index]!;
      let result: BatchItemResult;
      try {
        const stored = options.force ? undefined : await store.rules.latest(cveId);
        // A degraded rule stands in for the LLM's: the llm engine tries again. Another engine
        // would only write the built-in rule again, and without the mark that one is still wanted.
        if (stored && !(engine.name === 'llm' && isDegraded(stored.report))) {
          result = { cveId, status: 'skipped' };
        } else {
          const r = await generateRule(
            {
              cveId,
              maxInputBytes: options.maxInputBytes,
              ...(options.fetch ? { fetch: true } : {}),
              ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
              ...(options.candidates ? { candidates: options.candidates } : {}),
              ...(options.llmBatch ? { llmBatch: options.llmBatch } : {}),
            },
            {
              store,
              engine,
              ...(options.fallback ? { fallback: options.fallback } : {}),
              ...(options.lookup ? { lookup: options.lookup } : {}),
              ...(options.fetcher ? { fetcher: options.fetcher } : {}),
              ...(options.extract ? { extract: options.extract } : {}),
              ...(options.audit ? { audit: options.audit } : {}),
              ...(options.principal ? { principal: options.principal } : {}),
              ...(options.judge ? { judge: options.judge } : {}),
              ...(options.judgeFor ? { judgeFor: options.judgeFor } : {}),
            },
          );
          result = {
            cveId,
            status: STATUS[r.report.verdict],
            report: r.report,
            ...(r.version ? { version: r.version } : {}),
          };
        }
      } catch (e) {
        result =
          e instanceof NoRuleError
            ? { cveId, status: 'no-rule', noRule: e.facts, error: e.message }
            : { cveId, status: 'error', error: e instanceof Error ? e.message : String(e) };
      }
      results[index] = result;
      options.onItem?.(result, ++done, ids.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, ids.length)) }, worker));
  return results;
}
