/**
 * @module The rules use case the API and the workers share: cache-through reads, single-flight
 * generation (one per burst, across replicas), and graceful degradation to the last good rule.
 */
import type { Logger } from 'pino';

import { errorMessage as message, InputError } from '../core/errors.js';
import { withTimeout } from '../core/timeout.js';
import { NoRuleError } from '../generation/no-rule.js';
import type { Confidence, GenerationReport, Engine, Verdict } from '../generation/types.js';
import { storedConfidence, storedSummary, storedVerdict } from '../generation/verdict.js';
import { ruleCacheKey, SingleFlight, type JsonCache } from '../kv/index.js';
import { observeGeneration, type Metrics } from '../observability/index.js';
import type { Store, StoredRule } from '../store/index.js';
import { DEGRADED_TTL_MS, degradedEngine, degradedKey, isDegraded } from './degraded.js';
import { generateRule, parseCveId, type GenerateDeps } from './generate.js';
import type { ServiceSettings } from './service-config.js';

/** A rule as the API and the cache hand it out. */
export interface RuleView {
  cveId: string;
  version?: number;
  rule: unknown;
  report: GenerationReport | Record<string, unknown>;
  /** Engine and version that produced it (the cache key's last part). */
  engine: string;
  /** True only when the verdict is `proven`. */
  passed: boolean;
  /** The fallback engine wrote it (every LLM provider failed): cached apart, briefly (degraded.ts). */
  degraded?: boolean;
  /** proven, untested or failed (from the report; derived for reports older than verdicts). */
  verdict: Verdict;
  /** From what the checks proved. */
  confidence: Confidence;
  /** The report's one-line headline. */
  summary: string;
  createdAt?: string;
  /** When this view was produced (milliseconds since the epoch). */
  generatedAt: number;
}

export interface GenerateOutcome {
  result: RuleView;
  /** hit: served from the cache; miss: generated now; bypass: `force` skipped the cache. */
  cache: 'hit' | 'miss' | 'bypass';
  /** ran: this call generated; joined/waited: another request's generation answered it. */
  how?: 'ran' | 'joined' | 'waited';
  /** Generation failed and this is the last good rule. */
  degraded?: { reason: string; source: 'cache' | 'store' };
}

export interface GenerateOptions {
  maxAttempts?: number;
  /** LLM candidates per attempt, and the judge `provider[:model]` (GenerateRequest). */
  candidates?: number;
  judge?: string;
  /** First attempts of up to this many generations at once share one LLM call. */
  llmBatch?: number;
  force?: boolean;
  /** On failure, answer with the last good rule instead of throwing (default true). */
  degrade?: boolean;
  /** For the generation log line and metrics. */
  requestId?: string;
  principal?: string;
}

/** Generation failed and there was no earlier rule to fall back on. */
export class GenerationFailedError extends Error {
  override name = 'GenerationFailedError';
}

/** The verdict, confidence and headline of a report, however old. */
function verdictFields(
  report: unknown,
  cveId: string,
): Pick<RuleView, 'passed' | 'verdict' | 'confidence' | 'summary'> {
  const verdict = storedVerdict(report);
  return {
    passed: verdict === 'proven',
    verdict,
    confidence: storedConfidence(report),
    summary: storedSummary(report, cveId),
  };
}

/** A cached view; one cached before views carried a verdict gets it from its report. */
export function acceptRuleView(value: unknown): RuleView | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Partial<RuleView>;
  if (!(typeof v.cveId === 'string' && typeof v.engine === 'string' && v.rule !== undefined && v.report))
    return undefined;
  return v.verdict ? (v as RuleView) : ({ ...v, ...verdictFields(v.report, v.cveId) } as RuleView);
}

/** A stored rule version with what its report proved. */
export type RuleVersionView = StoredRule & Pick<RuleView, 'passed' | 'verdict' | 'confidence' | 'summary'>;

function storedProven(s: StoredRule): boolean {
  return storedVerdict(s.report) === 'proven';
}

function viewOfStored(s: StoredRule, engine: string): RuleView {
  return {
    cveId: s.cveId,
    version: s.version,
    rule: s.rule,
    report: s.report as RuleView['report'],
    engine,
    ...verdictFields(s.report, s.cveId),
    createdAt: s.createdAt,
    generatedAt: Date.parse(s.createdAt),
  };
}

export class RuleService {
  private readonly flights: SingleFlight;

  constructor(
    private readonly store: Store,
    readonly cache: JsonCache<RuleView>,
    private readonly engine: Engine,
    readonly engineVersion: string,
    private readonly generationDeps: Omit<GenerateDeps, 'store' | 'engine'>,
    private readonly settings: Pick<ServiceSettings, 'generateTimeoutMs' | 'lockTtlMs'> & {
      maxInputBytes: number;
      /** Fetch the record's reference URLs for evidence (not when offline). */
      fetch: boolean;
    },
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.flights = new SingleFlight(cache.kv);
  }

  /**
   * The cache key of a CVE ID, kept per ID: a hot rule read passes the same ID string each time (its
   * hash computed once), and the key string kept here keeps its hash for the cache's look-ups, where
   * a key built per read was flattened and hashed each time (~1% of a cache-hit GET's server CPU,
   * perf record under bench:api). Bounded: past 1,000 IDs it starts again.
   */
  key(cveId: string): string {
    let key = this.keys.get(cveId);
    if (key === undefined) {
      if (this.keys.size >= 1000) this.keys.clear();
      key = ruleCacheKey(cveId, this.engineVersion);
      this.keys.set(cveId, key);
    }
    return key;
  }
  private readonly keys = new Map<string, string>();

  /** Cache reads never fail a request: Redis away reads as a miss. */
  private async cached(key: string): Promise<RuleView | undefined> {
    try {
      return await this.cache.get(key);
    } catch (e) {
      this.log.debug({ err: message(e) }, 'cache read failed');
      return undefined;
    }
  }

  private async remember(key: string, view: RuleView): Promise<void> {
    try {
      // A degraded rule never takes the engine's key; a rule of the engine replaces the degraded one.
      if (view.degraded) await this.cache.set(degradedKey(key), view, DEGRADED_TTL_MS);
      else {
        await this.cache.set(key, view);
        if (this.engine.name === 'llm') await this.cache.delete(degradedKey(key));
      }
    } catch (e) {
      this.log.debug({ err: message(e) }, 'cache write failed');
    }
  }

  /** The latest rule for the CVE: from the cache, else from the store (and cached when this engine made it). */
  async latest(cveId: string): Promise<{ view: RuleView; cache: 'hit' | 'miss' } | undefined> {
    const id = parseCveId(cveId);
    const key = this.key(id);
    const hit = await this.cached(key);
    this.metrics.recordCache(hit ? 'hit' : 'miss');
    if (hit) return { view: hit, cache: 'hit' };
    const stored = await this.store.rules.latest(id);
    if (!stored) return undefined;
    const sameEngine = stored.engine === this.engine.name;
    const view = viewOfStored(stored, sameEngine ? this.engineVersion : stored.engine);
    if (sameEngine) await this.remember(key, view);
    return { view, cache: 'miss' };
  }

  /**
   * The latest rule when the cache's in-process layer holds it (nothing awaited; a hot key may
   * start a background read from the store, JsonCache.peek), else undefined: then
   * {@link latest}. `cveId` must already be a valid, upper-case CVE ID.
   */
  latestNear(cveId: string): RuleView | undefined {
    const hit = this.peekNear(cveId);
    if (hit) this.recordNearHit();
    return hit;
  }

  /** {@link latestNear} without counting the cache hit (the caller counts it with {@link recordNearHit}). */
  peekNear(cveId: string): RuleView | undefined {
    return this.cache.peek(this.key(cveId));
  }

  recordNearHit(): void {
    this.metrics.recordCache('hit');
  }

  async version(cveId: string, version: number): Promise<RuleView | undefined> {
    const stored = await this.store.rules.get(parseCveId(cveId), version);
    return stored ? viewOfStored(stored, stored.engine) : undefined;
  }

  async versions(cveId: string): Promise<RuleVersionView[]> {
    const versions = await this.store.rules.versions(parseCveId(cveId));
    return versions.map((v) => ({ ...v, ...verdictFields(v.report, v.cveId) }));
  }

  /**
   * A rule for the CVE from this engine version: the cached one, else a new generation (one per
   * burst, across replicas). When generation fails, the last good rule with the reason.
   */
  async generate(cveId: string, opts: GenerateOptions = {}): Promise<GenerateOutcome> {
    const id = parseCveId(cveId);
    const key = this.key(id);
    // Several candidates or a judge ask for a rule made that way: the cached one (made however the
    // last caller asked) does not answer them, so they generate as `force` does.
    const force = opts.force === true || (opts.candidates ?? 1) > 1 || opts.judge !== undefined;
    if (!force) {
      const hit = (await this.cached(key)) ?? (await this.cachedDegraded(key));
      this.metrics.recordCache(hit ? 'hit' : 'miss');
      if (hit) return { result: hit, cache: 'hit' };
    }
    const started = Date.now();
    try {
      const flight = await this.flights.run(key, () => this.run(id, key, opts), {
        lockTtlMs: this.settings.lockTtlMs,
        waitMs: this.settings.generateTimeoutMs,
        peek: async () => {
          const v = (await this.cached(key)) ?? (await this.cachedDegraded(key));
          return v && (!force || v.generatedAt >= started) ? v : undefined;
        },
      });
      return { result: flight.value, cache: force ? 'bypass' : 'miss', how: flight.how };
    } catch (e) {
      // Bad input and no rule at all are answers about this input, not failures to hide behind an older rule.
      if (e instanceof InputError || e instanceof NoRuleError || opts.degrade === false) throw e;
      const reason = message(e);
      this.log.warn({ cveId: id, err: reason }, 'generation failed; looking for the last good rule');
      const fallback = await this.lastGood(id, key);
      if (!fallback) throw new GenerationFailedError(`generation failed for ${id}: ${reason}`, { cause: e });
      return {
        result: fallback.view,
        cache: force ? 'bypass' : 'miss',
        // The caller learns that and when, not the cause's text (a driver's host:port, a provider's
        // answer): that is in the log line above. A deadline is wafgen's own words.
        degraded: {
          reason:
            e instanceof Error && e.name === 'TimeoutError'
              ? e.message
              : 'generation failed (the server log has the cause)',
          source: fallback.source,
        },
      };
    }
  }

  private async run(cveId: string, key: string, opts: GenerateOptions): Promise<RuleView> {
    // generateRule records the metrics, the log line and the audit event of each generation.
    const r = await withTimeout(
      generateRule(
        {
          cveId,
          maxInputBytes: this.settings.maxInputBytes,
          save: true,
          fetch: this.settings.fetch,
          ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
          ...(opts.candidates ? { candidates: opts.candidates } : {}),
          ...(opts.judge ? { judge: opts.judge } : {}),
          ...(opts.llmBatch ? { llmBatch: opts.llmBatch } : {}),
        },
        {
          ...this.generationDeps,
          store: this.store,
          engine: this.engine,
          observe: (o) => observeGeneration(o, { metrics: this.metrics, logger: this.log }),
          ...(opts.requestId ? { requestId: opts.requestId } : {}),
          ...(opts.principal ? { principal: opts.principal } : {}),
        },
      ),
      this.settings.generateTimeoutMs,
      `generating a rule for ${cveId}`,
    );
    const degraded = isDegraded(r.report);
    const view: RuleView = {
      cveId,
      ...(r.version !== undefined ? { version: r.version } : {}),
      rule: r.rule,
      report: r.report,
      engine: degraded ? degradedEngine(r.report) : this.engineVersion,
      ...(degraded ? { degraded } : {}),
      passed: r.report.passed,
      verdict: r.report.verdict,
      confidence: r.report.confidence,
      summary: r.report.summary,
      createdAt: new Date().toISOString(),
      generatedAt: Date.now(),
    };
    await this.remember(key, view);
    return view;
  }

  /** The degraded rule standing in for the engine's (degraded.ts), while its short TTL lasts. */
  private async cachedDegraded(key: string): Promise<RuleView | undefined> {
    return this.engine.name === 'llm' ? this.cached(degradedKey(key)) : undefined;
  }

  /** The last good rule: the cached one, else the newest stored version that was proven (else the newest). */
  private async lastGood(
    cveId: string,
    key: string,
  ): Promise<{ view: RuleView; source: 'cache' | 'store' } | undefined> {
    const hit = await this.cached(key);
    if (hit) return { view: hit, source: 'cache' };
    try {
      const versions = await this.store.rules.versions(cveId);
      const pick = [...versions].reverse().find(storedProven) ?? versions.at(-1);
      return pick ? { view: viewOfStored(pick, pick.engine), source: 'store' } : undefined;
    } catch (e) {
      this.log.warn({ cveId, err: message(e) }, 'store read failed while degrading');
      return undefined;
    }
  }
}
