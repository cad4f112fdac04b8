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
  /** Where each piece of evidence came from, for the report. */
  evidenceSources: string[];
}

export interface Candidate {
  statement: Statement;
  /** How it was built, for the report: e.g. "signature", "endpoint+signature". */
  strategy: string;
  attackClass?: AttackClass;
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
  /** Engine's own confidence: low when it had no evidence to learn from. */
  confidence: 'high' | 'medium' | 'low';
  notes?: string[];
}

export interface Feedback {
  attempt: number;
  /** The best candidate so far and why it failed. */
  previous: { rule: Rule; checks: CheckResult };
}

export interface Engine {
  readonly name: string;
  propose(input: GenerationInput, feedback?: Feedback): Promise<Proposal>;
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
  'other',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface CheckResult {
  /** Schema and API-constraint errors, and lint errors. */
  errors: Finding[];
  warnings: Finding[];
  wcu: number;
  evidence: { total: number; blocked: number; missed: RequestOutcome[] };
  variants: { total: number; blocked: number; missed: RequestOutcome[] };
  benign: { total: number; blocked: number; falsePositives: RequestOutcome[] };
  passed: boolean;
  /** Why it did not pass, one line each, for people. */
  reasons: string[];
  /** The code of each line of `reasons`, in the same order, for programs. */
  reasonCodes: ReasonCode[];
}

export interface GenerationReport {
  cveId: string;
  passed: boolean;
  attempts: number;
  engine: string;
  /** The engine that produced the rule: `builtin` also when every LLM provider failed. */
  producedBy: string;
  provider?: string;
  model?: string;
  fallback?: string;
  attackClass?: AttackClass;
  strategy?: string;
  confidence: 'high' | 'medium' | 'low';
  usage: Usage;
  costUsd: number;
  wcu: number;
  tests: Pick<CheckResult, 'evidence' | 'variants' | 'benign'>;
  warnings: Finding[];
  reasons: string[];
  /** The code of each line of `reasons`, in the same order. */
  reasonCodes: ReasonCode[];
  evidenceUsed: string[];
  durationMs: number;
  notes: string[];
}

export interface GenerationResult {
  rule: Rule;
  report: GenerationReport;
}
