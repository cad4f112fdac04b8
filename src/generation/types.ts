// The shapes that flow through generation: what an engine gets, what it proposes, what the checks
// say, and the report every interface (CLI, API, audit, metrics) reads.
import type { HttpRequest } from '../requests/model.js';
import type { Finding } from '../waf/findings.js';
import type { Rule, Statement } from '../waf/model/shapes.generated.js';
import type { AttackClass, ExploitFacts, VulnRecord } from '../vulns/model.js';

export interface GenerationInput {
  record: VulnRecord;
  /** Exploit requests (evidence), expected to be blocked. */
  exploits: HttpRequest[];
  /** Exploit facts from the record and from extracted evidence, merged. */
  facts: ExploitFacts;
  /** Ordinary traffic the rule must let through. */
  benign: HttpRequest[];
  /** The benign traffic is the user's own (files given), not only wafgen's built-in sample. */
  benignSupplied?: boolean;
  /** Where each piece of evidence came from, for the report. */
  evidenceSources: string[];
  /** Candidates asked for per attempt, in parallel (engines that cannot vary ignore it; default 1). */
  candidates?: number;
  /** First attempts of up to this many rules may share one LLM call (`--llm-batch`; default 1). */
  batch?: number;
}

export interface Candidate {
  statement: Statement;
  /** How it was built, for the report: e.g. "signature", "endpoint+signature". */
  strategy: string;
  attackClass?: AttackClass;
  /** Who wrote it, when an LLM did (a candidate of several may come from another provider). */
  provider?: string;
  model?: string;
  temperature?: number;
}

/** One candidate the checks ran on, as the report keeps it (every one, chosen or not). */
export interface CandidateRecord {
  attempt: number;
  /** `judge` for the correction round the judge's findings asked for. */
  round?: 'judge';
  strategy: string;
  provider?: string;
  model?: string;
  temperature?: number;
  verdict: Verdict;
  exploitsBlocked: number;
  exploits: number;
  variantsBlocked: number;
  variants: number;
  benignBlocked: number;
  wcu: number;
  errors: number;
  chosen: boolean;
}

/** What a judge model proposed against the best candidate: requests, already validated and bounded. */
export interface JudgeFindings {
  /** Requests the judge says bypass the rule: each must be blocked. */
  bypasses: HttpRequest[];
  /** Legitimate requests the judge says the rule would block: each must be allowed. */
  benign: HttpRequest[];
  provider?: string;
  model?: string;
  usage?: Usage;
  costUsd?: number;
}

/** A second model that attacks the chosen rule (generation/llm/judge.ts). */
export interface Judge {
  readonly name: string;
  review(input: GenerationInput, rule: Rule): Promise<JudgeFindings>;
}

/** The judge's verdict, as the report keeps it. */
export interface JudgeRecord {
  /** `provider:model` as asked for. */
  judge: string;
  provider?: string;
  model?: string;
  /**
   * upheld: the rule blocks every proposed bypass and lets every proposed benign request through;
   * corrected: it did not, and a correction round wrote one that does; vetoed: no rule that does
   * was found (the verdict is then failed); unavailable: the judge did not answer.
   */
  outcome: 'upheld' | 'corrected' | 'vetoed' | 'unavailable';
  bypassesProposed: number;
  benignProposed: number;
  /** Ids of the proposed bypasses the first reviewed rule missed. */
  bypassesMissed: string[];
  /** Ids of the proposed benign requests the first reviewed rule blocked. */
  benignBlocked: string[];
  /** Why the judge was unavailable (its failure kind, never a provider's text). */
  error?: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface Proposal {
  candidates: Candidate[];
  provider?: string;
  model?: string;
  usage?: Usage;
  costUsd?: number;
  /**
   * The engine's own guess. Ignored by the report: its confidence is computed from what the checks
   * proved (confidence.ts, `confidenceOf`).
   */
  confidence?: Confidence;
  notes?: string[];
  /**
   * What the engine recognised about the vulnerability, whether or not it could write a rule: the
   * no-rule outcome (`NoRuleError`) reports it. Falls back to the record's facts when absent.
   */
  recognised?: Recognised;
}

export interface Recognised {
  attackClass?: AttackClass;
  /** Where the class came from: the record's facts, the evidence's labels, a CWE, the description... */
  basis?: string;
  /** Vulnerable endpoints (paths) it knows of. */
  endpoints?: string[];
}

export interface Feedback {
  attempt: number;
  /** The best candidate so far and why it failed. */
  previous: { rule: Rule; checks: CheckResult };
  /** The judge's requests, when its findings asked for this round (their ids are in the checks). */
  judged?: Pick<JudgeFindings, 'bypasses' | 'benign'>;
}

export interface Engine {
  readonly name: string;
  propose(input: GenerationInput, feedback?: Feedback): Promise<Proposal>;
  /**
   * Works out ahead what the engine learns from this benign traffic alone, whatever the CVE, so
   * that a later `propose` on the same array finds it done (the built-in engine's view of the
   * decoded corpus). Called while something else is awaited: a warm `wafgen generate` waits for
   * the embedded store to open. Optional; never required for correctness, provided the array is not
   * changed afterwards (what an engine learns from it is kept per array, as it was when first seen).
   */
  prepare?(benign: readonly HttpRequest[]): void;
}

export interface RequestOutcome {
  id: string;
  technique?: string;
  /** For a benign request that was blocked: the statement that matched. */
  statement?: string;
}

/** Why a rule failed its checks, as a small fixed vocabulary: metrics, logs, audit events and stats use these, never the wording. */
export const REASON_CODES = [
  'invalid-rule',
  'compile-error',
  'rule-errors',
  'wcu-over-budget',
  'exploit-missed',
  'variants-missed',
  'false-positive',
  // Every check that ran passed, but there was no exploit request to run: the verdict is `untested`.
  'no-exploit-tested',
  'other',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

/**
 * What a report says was shown, in one word:
 * - `proven`: every check passed and at least one exploit request was tested, and blocked;
 * - `untested`: no check failed, but there was no exploit request to test the rule against;
 * - `failed`: a check failed (`reasons` say which).
 */
export type Verdict = 'proven' | 'untested' | 'failed';
export const VERDICTS: readonly Verdict[] = ['proven', 'untested', 'failed'];

/** How much the checks proved, from `confidenceOf` (confidence.ts); never the engine's own guess. */
export type Confidence = 'high' | 'medium' | 'low';

export interface CheckResult {
  /** Schema and API-constraint errors, and lint errors. */
  errors: Finding[];
  warnings: Finding[];
  wcu: number;
  evidence: { total: number; blocked: number; missed: RequestOutcome[] };
  variants: { total: number; blocked: number; missed: RequestOutcome[] };
  benign: { total: number; blocked: number; falsePositives: RequestOutcome[] };
  /** Every check that ran passed (the verdict still needs an exploit request: see verdictOf). */
  passed: boolean;
  /** Why it did not pass, one line each, for people. */
  reasons: string[];
  /** The code of each line of `reasons`, in the same order, for programs. */
  reasonCodes: ReasonCode[];
}

export interface GenerationReport {
  cveId: string;
  /** What was shown: proven, untested (no exploit request to test), failed (a check failed). */
  verdict: Verdict;
  /** The headline, one line: the verdict and the figures behind it (verdict.ts, `summaryOf`). */
  summary: string;
  /** What the rule was not tested against, one item each (verdict.ts, `notTestedAgainst`). */
  notTestedAgainst: string[];
  /** True only when the verdict is `proven` (kept for older readers). */
  passed: boolean;
  attempts: number;
  engine: string;
  /** The engine that produced the rule: `builtin` also when every LLM provider failed. */
  producedBy: string;
  provider?: string;
  model?: string;
  /** Why the engine asked for failed and the fallback answered. */
  fallback?: string;
  /**
   * The fallback wrote the rule (every LLM provider failed, or the budget said no): `engine` is then
   * the fallback's, and the rule is cached apart, briefly, until a provider answers again.
   */
  degraded?: boolean;
  attackClass?: AttackClass;
  strategy?: string;
  /** From what the checks proved (`confidenceOf`). */
  confidence: Confidence;
  usage: Usage;
  costUsd: number;
  wcu: number;
  tests: Pick<CheckResult, 'evidence' | 'variants' | 'benign'>;
  warnings: Finding[];
  /**
   * Why the verdict is not `proven`, one line each: the checks that failed, and a
   * `no-exploit-tested` line when there was no exploit request to test. Empty when proven.
   */
  reasons: string[];
  /** The code of each line of `reasons`, in the same order. */
  reasonCodes: ReasonCode[];
  evidenceUsed: string[];
  durationMs: number;
  notes: string[];
  /** Every candidate checked, when more than one was asked for per attempt or a judge reviewed. */
  candidates?: CandidateRecord[];
  judge?: JudgeRecord;
  /**
   * The small model's extraction of exploit facts from long fetched text, counted apart from the
   * generation's `usage` and `costUsd` (which cover the rule-writing calls and the judge).
   */
  extraction?: {
    calls: number;
    provider?: string;
    model?: string;
    usage: Usage;
    costUsd: number;
    /** Values the model claimed that the text does not contain, dropped. */
    dropped: number;
    /** Calls that failed (the heuristic's facts stood alone). */
    failed: number;
  };
}

export interface GenerationResult {
  rule: Rule;
  report: GenerationReport;
}
