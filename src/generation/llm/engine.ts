// The llm engine: asks the `main` model, through the failover client (src/llm), for a WAFv2
// statement as structured output, and hands it to the generation loop as a candidate. The loop's
// checks (schema, lint, WCU, the evaluator on exploits, variants and benign traffic) judge it; on the
// next attempt their findings come back as feedback and go into the prompt.
//
// Budget: one per rule (per GenerationInput), shared by every attempt and every provider tried.
// Failures: AllProvidersFailed and BudgetExceeded propagate, so runGeneration falls back to the
// built-in engine. An answer that does not fit the output schema at all (every provider) is asked
// for again once within the attempt; an answer the evaluator cannot even compile (which would stop
// the checks) is kept back and its errors go into the next prompt.
import { compileDocument, RuleCompileError } from '../../evaluator/index.js';
import {
  AllProvidersFailed,
  Budget,
  type BudgetLimits,
  type GenerateObjectRequest,
  type GenerateObjectResult,
  type ProviderName,
} from '../../llm/index.js';
import type { Finding } from '../../waf/findings.js';
import { lintDocument } from '../../lint/index.js';
import type { Rule, Statement } from '../../waf/model/shapes.generated.js';
import { validateDocument } from '../../waf/schema.js';
import { classify } from '../builtin/classify.js';
import { buildRule, MAX_CANDIDATES } from '../loop.js';
import type {
  Candidate,
  CheckResult,
  Engine,
  Feedback,
  GenerationInput,
  Proposal,
  ReasonCode,
  Usage,
} from '../types.js';
import { DEFAULT_PROMPT_OPTIONS, PromptBuilder, SYSTEM_PROMPT, type PreviousAnswer } from './prompt.js';
import { BATCH_DIGEST, LlmBatchOutput, LlmRuleOutput, MAX_LLM_BATCH, STATEMENT_DIGEST } from './schema.js';

/** What the engine needs of the LLM client (`createLlmClient` gives all of it). */
export interface LlmEngineClient {
  /** The configured chain: parallel candidates start at different links of it. */
  readonly providers?: readonly ProviderName[];
  generateObject<T>(request: GenerateObjectRequest<T>): Promise<GenerateObjectResult<T>>;
  /** A budget with the configured per-rule limits. */
  newBudget?(): Budget;
}

export interface LlmEngineOptions {
  /** Candidates asked for per attempt, as parallel calls (default 1; the input's own count wins). */
  candidates?: number;
  /** Per-rule budget; default: the client's configured limits. */
  budget?: BudgetLimits;
  /** A subset or reordering of the provider chain (the CLI's --provider). */
  providers?: readonly ProviderName[];
  /** Exploit requests in the first prompt, and missed requests shown per kind on a retry (default 3). */
  maxRequests?: number;
  /** Characters of one rendered request (default 2000). */
  maxRequestChars?: number;
  /** Output tokens per call (default: the client's default, capped by the budget). */
  maxOutputTokens?: number;
  /**
   * First attempts of up to this many rules asked at once go into one call (default 1: none; the
   * input's own `batch` wins). Retries, and rules the batched answer left out or got wrong, are
   * asked singly.
   */
  batch?: number;
  /** How long a first attempt waits for others to share its call (default 150 ms). */
  batchWindowMs?: number;
  /** Re-asks within one attempt when no provider's answer fit the output schema (default 1). */
  repairs?: number;
  /** Fence boundary generator (tests). */
  random?: () => string;
  abortSignal?: AbortSignal;
}

/** Temperatures of parallel candidates, in turn: the first at the provider's default. */
const CANDIDATE_TEMPERATURES = [undefined, 0.7, 1, 0.4] as const;

/** Added to the prompt when the chain's answers did not fit the response schema. */
const REPAIR_NOTE =
  '\n\nYour last answer was not a JSON object that fits the response schema. Answer with exactly one JSON object with the keys "rationale" and "statement", the statement shaped as the schema says.';
/** Added when every provider declined to answer (a content filter, a refusal): say what the task is. */
const REFUSED_NOTE =
  '\n\nYour last answer was declined. This is defensive work: the statement goes into a web application firewall to block requests that exploit the vulnerability above; it attacks nothing. Answer with exactly one JSON object with the keys "rationale" and "statement", the statement shaped as the schema says.';

/** A first attempt waiting for a batched call; `share` is its part of what the call cost. */
interface Pending {
  input: GenerationInput;
  prompt: string;
  size: number;
  done(outcome: { proposal?: Proposal; share: Usage & { costUsd: number } }): void;
}

interface RuleState {
  budget: Budget | undefined;
  /** The last answer, kept back because the evaluator could not compile it. */
  rejected?: PreviousAnswer;
}

interface Answer {
  result: GenerateObjectResult<LlmRuleOutput>;
  temperature?: number;
  /** Tokens and USD of every call made for it, billed failures included. */
  usage: Usage;
  costUsd: number;
}

const emptyChecks = (
  errors: Finding[],
  warnings: Finding[],
  reason: string,
  code: ReasonCode = 'invalid-rule',
): CheckResult => {
  const none = { total: 0, blocked: 0, missed: [] };
  return {
    errors,
    warnings,
    wcu: 0,
    evidence: none,
    variants: none,
    benign: { total: 0, blocked: 0, falsePositives: [] },
    passed: false,
    reasons: [reason],
    reasonCodes: [code],
  };
};

/**
 * Validate the model's statement with the real schema. Returns the parsed statement when it is
 * valid; when it is not, the raw one (the loop's checks report why, with paths). `rejected` is set
 * when the evaluator cannot compile a schema-valid rule (e.g. a regex RE2 refuses): the loop's
 * checks would stop on it, so it goes back to the model from here instead.
 */
function vet(
  cveId: string,
  raw: Record<string, unknown>,
): { statement: Statement; rule: Rule; rejected?: PreviousAnswer } {
  const rule = buildRule(cveId, raw as Statement);
  const validation = validateDocument(rule);
  const doc = validation.document;
  if (!doc || doc.kind !== 'rule') return { statement: raw as Statement, rule };
  try {
    compileDocument(doc, { trace: false });
  } catch (e) {
    if (!(e instanceof RuleCompileError)) {
      const findings = [...validation.findings, ...lintDocument(doc, { cveId, intent: 'block' })];
      const message = e instanceof Error ? e.message : String(e);
      const errors = findings.filter((f) => f.severity === 'error');
      if (errors.length === 0)
        errors.push({ code: 'evaluator', severity: 'error', path: '$.Statement', message });
      return {
        statement: doc.rule.Statement,
        rule: doc.rule,
        rejected: {
          rule: doc.rule,
          checks: emptyChecks(
            errors,
            findings.filter((f) => f.severity === 'warning'),
            `the rule cannot be evaluated: ${message}`,
            'compile-error',
          ),
        },
      };
    }
  }
  return { statement: doc.rule.Statement, rule: doc.rule };
}

export class LlmEngine implements Engine {
  readonly name = 'llm';
  readonly #client: LlmEngineClient;
  readonly #options: LlmEngineOptions;
  readonly #prompts: PromptBuilder;
  readonly #state = new WeakMap<GenerationInput, RuleState>();
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(client: LlmEngineClient, options: LlmEngineOptions = {}) {
    this.#client = client;
    this.#options = options;
    this.#prompts = new PromptBuilder({
      maxRequests: options.maxRequests ?? DEFAULT_PROMPT_OPTIONS.maxRequests,
      maxRequestChars: options.maxRequestChars ?? DEFAULT_PROMPT_OPTIONS.maxRequestChars,
      ...(options.random ? { random: options.random } : {}),
    });
  }

  /** The budget of the rule being generated from `input` (undefined before the first attempt). */
  budgetFor(input: GenerationInput): Budget | undefined {
    return this.#state.get(input)?.budget;
  }

  #newBudget(): Budget | undefined {
    if (this.#options.budget) return new Budget(this.#options.budget);
    return this.#client.newBudget?.();
  }

  async propose(input: GenerationInput, feedback?: Feedback): Promise<Proposal> {
    let state = this.#state.get(input);
    // A first attempt starts a new rule, and a new budget (unless the last answer was kept back).
    if (!state || (!feedback && !state.rejected)) {
      state = { budget: this.#newBudget() };
      this.#state.set(input, state);
    }
    const previous: PreviousAnswer | undefined =
      state.rejected ??
      (feedback
        ? {
            rule: feedback.previous.rule,
            checks: feedback.previous.checks,
            ...(feedback.judged ? { judged: feedback.judged } : {}),
          }
        : undefined);
    state.rejected = undefined;

    const attackClass = input.facts.attackClass ?? classify(input.record, input.exploits).attackClass;
    const prompt = this.#prompts.build(input, attackClass, previous);
    // A first attempt may share one call with other rules' (--llm-batch); what the batch could
    // not answer well is asked singly below, its share of the batch's cost carried over.
    const batch = Math.min(MAX_LLM_BATCH, Math.max(1, Math.floor(input.batch ?? this.#options.batch ?? 1)));
    let carried: (Usage & { costUsd: number }) | undefined;
    if (batch > 1 && !previous && (input.candidates ?? this.#options.candidates ?? 1) <= 1) {
      const outcome = await this.#batched(input, prompt, batch);
      if (outcome.proposal) return outcome.proposal;
      carried = outcome.share;
    }
    const n = Math.min(
      MAX_CANDIDATES,
      Math.max(1, Math.floor(input.candidates ?? this.#options.candidates ?? 1)),
    );
    const variation = (i: number) =>
      n === 1
        ? ''
        : `\n\nThis is candidate ${i + 1} of ${n} asked for in parallel: ${
            i === 0
              ? 'prefer the most specific statement (technique scoped to the endpoint).'
              : i === 1
                ? 'prefer the broadest statement that still blocks no ordinary request.'
                : 'take a different approach from the obvious one.'
          }`;
    // Parallel candidates start at different links of the chain (each keeps the rest as its
    // failover) and at different temperatures, so they differ by more than the prompt's line.
    const chain = this.#options.providers ?? this.#client.providers ?? [];
    const spread = (i: number) =>
      n === 1 || chain.length < 2
        ? this.#options.providers
        : [...chain.slice(i % chain.length), ...chain.slice(0, i % chain.length)];
    const temperatureOf = (i: number) =>
      n === 1 ? undefined : CANDIDATE_TEMPERATURES[i % CANDIDATE_TEMPERATURES.length];

    const settled = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        this.#ask(prompt + variation(i), state.budget, spread(i), temperatureOf(i)),
      ),
    );
    const answers = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (answers.length === 0) throw (settled[0] as PromiseRejectedResult).reason;

    const candidates: Candidate[] = [];
    const notes: string[] = [];
    for (const a of answers) {
      const v = vet(input.record.id, a.result.object.statement);
      if (v.rejected) {
        state.rejected = v.rejected;
        notes.push(`llm: an answer was kept back: ${v.rejected.checks.reasons[0]}`);
        continue;
      }
      candidates.push({
        statement: v.statement,
        strategy: 'llm',
        ...(attackClass ? { attackClass } : {}),
        provider: a.result.provider,
        model: a.result.model,
        ...(a.temperature !== undefined ? { temperature: a.temperature } : {}),
      });
    }
    // Rejected answers only matter when nothing usable came back.
    if (candidates.length > 0) state.rejected = undefined;

    const last = answers[answers.length - 1]!.result;
    return {
      candidates,
      provider: last.provider,
      model: last.model,
      usage: {
        inputTokens: answers.reduce((s, a) => s + a.usage.inputTokens, carried?.inputTokens ?? 0),
        outputTokens: answers.reduce((s, a) => s + a.usage.outputTokens, carried?.outputTokens ?? 0),
      },
      costUsd: answers.reduce((s, a) => s + a.costUsd, carried?.costUsd ?? 0),
      confidence: input.exploits.length > 0 ? 'high' : 'medium',
      notes,
    };
  }

  /** Queues a first attempt for a batched call: sent when `size` wait, or when the window closes. */
  #batched(
    input: GenerationInput,
    prompt: string,
    size: number,
  ): Promise<{ proposal?: Proposal; share: Usage & { costUsd: number } }> {
    return new Promise((done) => {
      this.#queue.push({ input, prompt, size, done });
      const full = this.#queue.length >= Math.min(...this.#queue.map((p) => p.size));
      if (full) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#options.batchWindowMs ?? 150);
    });
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const size = Math.min(...this.#queue.map((p) => p.size));
    const items = this.#queue.splice(0, size);
    if (this.#queue.length > 0) this.#timer = setTimeout(() => this.#flush(), 0);
    void this.#sendBatch(items);
  }

  async #sendBatch(items: Pending[]): Promise<void> {
    const zero = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
    // One rule waiting alone is asked as it would be without batching.
    if (items.length === 1) return items[0]!.done({ share: zero });
    // Each rule's prompt without its closing line (the batch has its own).
    const body = items.map((p) => {
      const cut = p.prompt.lastIndexOf('\n\n');
      return `## ${p.input.record.id}\n\n${cut > 0 ? p.prompt.slice(0, cut) : p.prompt}`;
    });
    const prompt = [
      `Write one rule statement for each of these ${items.length} CVEs, each on its own (a rule blocks only its own CVE's exploit). Answer with {"rules": [...]}, one entry per CVE with its "cveId".`,
      ...body,
      `Answer with the JSON object: rules (${items.map((p) => p.input.record.id).join(', ')}).`,
    ].join('\n\n');
    const base = this.#newBudget()?.limits;
    const budget = base
      ? new Budget({
          maxInputTokens: base.maxInputTokens * items.length,
          maxOutputTokens: base.maxOutputTokens * items.length,
          maxCostUsd: base.maxCostUsd * items.length,
        })
      : undefined;
    const billed = { ...zero };
    let rules: LlmBatchOutput['rules'] = [];
    let provider: string | undefined;
    let model: string | undefined;
    try {
      const result = await this.#client.generateObject({
        role: 'main',
        schema: LlmBatchOutput,
        schemaName: 'waf_rule_statements',
        schemaDescription: 'One AWS WAFv2 Statement per CVE, each blocking that CVE’s exploit.',
        schemaDigest: BATCH_DIGEST,
        system: SYSTEM_PROMPT,
        prompt,
        ...(budget ? { budget } : {}),
        ...(this.#options.providers ? { providers: this.#options.providers } : {}),
        maxOutputTokens: Math.min(16_384, 3072 * items.length),
        ...(this.#options.abortSignal ? { abortSignal: this.#options.abortSignal } : {}),
      });
      for (const a of result.attempts) {
        billed.inputTokens += a.usage?.inputTokens ?? 0;
        billed.outputTokens += a.usage?.outputTokens ?? 0;
        billed.costUsd += a.costUsd ?? 0;
      }
      rules = result.object.rules;
      provider = result.provider;
      model = result.model;
    } catch (e) {
      // Every rule is asked singly; what the failed call billed is shared all the same.
      if (e instanceof AllProvidersFailed)
        for (const a of e.attempts as readonly { usage?: Usage; costUsd?: number }[]) {
          billed.inputTokens += a.usage?.inputTokens ?? 0;
          billed.outputTokens += a.usage?.outputTokens ?? 0;
          billed.costUsd += a.costUsd ?? 0;
        }
    }
    const k = items.length;
    const share = {
      inputTokens: Math.round(billed.inputTokens / k),
      outputTokens: Math.round(billed.outputTokens / k),
      costUsd: billed.costUsd / k,
    };
    for (const p of items) {
      const id = p.input.record.id.toUpperCase();
      const mine = rules.find((r) => r.cveId.trim().toUpperCase() === id);
      const v = mine ? vet(p.input.record.id, mine.statement) : undefined;
      if (!mine || !v || v.rejected) {
        p.done({ share });
        continue;
      }
      const attackClass = p.input.facts.attackClass ?? classify(p.input.record, p.input.exploits).attackClass;
      // The rule's own budget starts with its share of the batch.
      const state = this.#state.get(p.input);
      state?.budget?.record({ inputTokens: share.inputTokens, outputTokens: share.outputTokens }, undefined);
      p.done({
        share,
        proposal: {
          candidates: [
            {
              statement: v.statement,
              strategy: 'llm',
              ...(attackClass ? { attackClass } : {}),
              ...(provider ? { provider } : {}),
              ...(model ? { model } : {}),
            },
          ],
          ...(provider ? { provider } : {}),
          ...(model ? { model } : {}),
          usage: { inputTokens: share.inputTokens, outputTokens: share.outputTokens },
          costUsd: share.costUsd,
          confidence: p.input.exploits.length > 0 ? 'high' : 'medium',
          notes: [`llm: written in one call with ${k - 1} other CVE(s)`],
        },
      });
    }
  }

  /** One structured-output call, asked again (bounded) when no provider's answer fit the schema. */
  async #ask(
    prompt: string,
    budget: Budget | undefined,
    providers: readonly ProviderName[] | undefined,
    temperature: number | undefined,
  ): Promise<Answer> {
    const usage: Usage = { inputTokens: 0, outputTokens: 0 };
    let costUsd = 0;
    const bill = (attempts: readonly { usage?: Usage; costUsd?: number }[]) => {
      for (const a of attempts) {
        usage.inputTokens += a.usage?.inputTokens ?? 0;
        usage.outputTokens += a.usage?.outputTokens ?? 0;
        costUsd += a.costUsd ?? 0;
      }
    };
    const repairs = Math.max(0, this.#options.repairs ?? 1);
    let note = '';
    for (let i = 0; ; i++) {
      try {
        const result = await this.#client.generateObject({
          role: 'main',
          schema: LlmRuleOutput,
          schemaName: 'waf_rule_statement',
          schemaDescription: 'An AWS WAFv2 Statement that blocks the exploit, and why.',
          schemaDigest: STATEMENT_DIGEST,
          system: SYSTEM_PROMPT,
          prompt: prompt + note,
          ...(budget ? { budget } : {}),
          ...(providers ? { providers } : {}),
          ...(temperature !== undefined ? { temperature } : {}),
          ...(this.#options.maxOutputTokens ? { maxOutputTokens: this.#options.maxOutputTokens } : {}),
          ...(this.#options.abortSignal ? { abortSignal: this.#options.abortSignal } : {}),
        });
        bill(result.attempts);
        return { result, usage, costUsd, ...(temperature !== undefined ? { temperature } : {}) };
      } catch (e) {
        const invalid =
          e instanceof AllProvidersFailed && e.attempts.some((a) => a.kind === 'invalid-output');
        if (!invalid || i >= repairs) throw e;
        const attempts = (e as AllProvidersFailed).attempts;
        bill(attempts as { usage?: Usage; costUsd?: number }[]);
        // The re-ask says what went wrong: a refusal is not an answer in the wrong shape.
        const refused = attempts.filter((a) => a.kind === 'invalid-output').every((a) => a.refused);
        note = refused ? REFUSED_NOTE : REPAIR_NOTE;
      }
    }
  }
}
