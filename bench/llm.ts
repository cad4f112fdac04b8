/**
 * @module npm run bench:llm — what the llm engine sends and spends per rule, against the local
 * OpenAI-compatible test server (test/support/fake-llm), through the public API (`generateRule` with
 * `engine: 'llm'`), for a spread of bundled CVEs with their bundled exploit requests.
 *
 * The scripted model answers with the statement the built-in engine writes for the CVE (so the rule
 * is proven and the call count is the engine's, not the model's luck). Each scenario runs with the
 * output schema sent natively (WAFGEN_LLM_OUTPUT=native, the default: strict json_schema) and as a
 * digest in the system prompt with JSON mode (WAFGEN_LLM_OUTPUT=digest). Two scenarios:
 *   * one-shot: the first answer is proven: 1 call per rule;
 *   * one retry: the first answer blocks nothing, so the second prompt carries the previous rule and
 *     the missed exploit requests: 2 calls per rule.
 * Each runs twice: with the default per-rule budget (to measure), then with the roadmap's budget of
 * 4,000 input tokens per rule (WAFGEN_MAX_INPUT_TOKENS=4000): does the rule still come from the LLM,
 * or does the budget refuse a call and the built-in engine answer?
 *
 * Tokens are counted on what went over the wire (every message's text plus the output schema sent
 * with the request) with OpenAI's o200k_base tokenizer (gpt-tokenizer), and the fake server reports
 * those counts as the call's usage, so the budget records real figures. Beside them: the budget's
 * own pre-call estimate (characters / 4 of the same text). Cost per rule at list prices from
 * src/llm/prices.ts for a few models (a self-hosted OpenAI-compatible server itself costs $0).
 *
 * Then the modes of issue 15 (WAFGEN_LLM_OUTPUT=digest, so the schema is counted in the prompt):
 * per rule, the calls, prompt and output tokens and the cost at gpt-4.1's list price, for single
 * generation, batched (--llm-batch 2, 4, 8: every rule generating at once), three candidates, a
 * judge, and the mini model's extraction from a long article (gpt-4.1-mini's price).
 *
 * Usage: npm run bench:llm [-- --cves N] [--cve CVE-…] [--verbose] [--modes-only]
 */
import { parseArgs } from 'node:util';

import { countTokens } from 'gpt-tokenizer';

import { startFakeLlm, promptTextOf, type RecordedRequest } from '../test/support/fake-llm/server.js';

const { values: opts } = parseArgs({
  options: {
    cves: { type: 'string', default: '12' },
    cve: { type: 'string', multiple: true },
    verbose: { type: 'boolean', default: false },
    'modes-only': { type: 'boolean', default: false },
  },
});

/** Models whose list price turns the measured tokens into dollars per rule. */
const PRICED = ['gpt-4.1', 'claude-sonnet-4-5', 'gemini-2.5-flash'] as const;
const ROADMAP_BUDGET = 4000;

interface Call {
  promptTokens: number;
  /** Of which: the output schema (response_format), or the digest in the system prompt. */
  schemaTokens: number;
  /** The budget's estimate before the call: characters / 4 of the same text. */
  estimate: number;
  outputTokens: number;
}

interface Run {
  cve: string;
  calls: Call[];
  producedBy: string;
  verdict: string;
  fallback?: string;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)]!;
};
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const usd = (n: number) => `$${n.toFixed(4)}`;

function callOf(req: RecordedRequest, answer: string, digest: string): Call {
  const text = promptTextOf(req.body);
  const body = req.body as { response_format?: { type?: string } };
  const schema = body.response_format?.type === 'json_schema' ? JSON.stringify(body.response_format) : '';
  return {
    promptTokens: countTokens(text),
    schemaTokens: schema ? countTokens(schema) : text.includes(digest) ? countTokens(digest) : 0,
    estimate: Math.ceil(text.length / 4),
    outputTokens: countTokens(answer),
  };
}

async function main(): Promise<void> {
  const fake = await startFakeLlm({ countTokens: (t) => countTokens(t) });
  // Only the fake endpoint: no real key may leak into a bench run.
  for (const k of Object.keys(process.env))
    if (/^(OPENAI|ANTHROPIC|GOOGLE|AWS|WAFGEN_(LLM|OPENAI|ANTHROPIC|GOOGLE|BEDROCK|MAX))_/.test(k))
      delete process.env[k];
  Object.assign(process.env, {
    WAFGEN_LLM_PROVIDERS: 'openai-compatible',
    WAFGEN_OPENAI_COMPATIBLE_URL: fake.baseURL('openai-compatible'),
    WAFGEN_OPENAI_COMPATIBLE_MODEL: 'bench-model',
    WAFGEN_LLM_RETRIES: '0',
    WAFGEN_LLM_TIMEOUT_MS: '30000',
  });

  const { generateRule } = await import('../src/index.js');
  const { loadBundled } = await import('../src/vulns/bundled.js');
  const { BUILTIN_PRICES, priceFor } = await import('../src/llm/prices.js');
  const { STATEMENT_DIGEST } = await import('../src/generation/llm/schema.js');

  const all = loadBundled();
  const wanted = opts.cve?.map((c) => c.toUpperCase());
  const n = Math.max(1, Number(opts.cves));
  const records = wanted
    ? all.filter((r) => wanted.includes(r.id))
    : all.filter((_, i) => i % Math.max(1, Math.floor(all.length / n)) === 0).slice(0, n);

  // What the scripted model answers: the built-in engine's statement for the CVE.
  const good = new Map<string, unknown>();
  for (const r of records) {
    const { rule } = await generateRule(r.id);
    good.set(r.id, rule.Statement);
  }
  const miss = {
    ByteMatchStatement: {
      SearchString: 'wafgen-bench-never-sent',
      FieldToMatch: { UriPath: {} },
      TextTransformations: [{ Priority: 0, Type: 'NONE' }],
      PositionalConstraint: 'CONTAINS',
    },
  };
  const answer = (statement: unknown) => ({
    rationale:
      'The exploit sends its payload in the request; the statement matches the technique, decoded, where it travels.',
    statement,
  });

  async function run(scenario: 'one-shot' | 'one retry', output: string, budget?: number): Promise<Run[]> {
    process.env.WAFGEN_LLM_OUTPUT = output;
    if (budget) process.env.WAFGEN_MAX_INPUT_TOKENS = String(budget);
    else delete process.env.WAFGEN_MAX_INPUT_TOKENS;
    const runs: Run[] = [];
    for (const r of records) {
      fake.reset();
      const replies =
        scenario === 'one-shot' ? [answer(good.get(r.id))] : [answer(miss), answer(good.get(r.id))];
      fake.script('openai-compatible', ...replies.map((json) => ({ json })));
      const { report } = await generateRule(r.id, { engine: 'llm', providers: 'openai-compatible' });
      const sent = fake.requestsFor('openai-compatible');
      runs.push({
        cve: r.id,
        calls: sent.map((req, i) => callOf(req, JSON.stringify(replies[i]), STATEMENT_DIGEST)),
        producedBy: report.producedBy,
        verdict: report.verdict,
        ...(report.fallback ? { fallback: report.fallback } : {}),
      });
    }
    return runs;
  }

  const costPerRule = (run: Run, model: string) => {
    const price =
      priceFor(BUILTIN_PRICES, 'openai', model) ??
      priceFor(BUILTIN_PRICES, 'anthropic', model) ??
      priceFor(BUILTIN_PRICES, 'google', model);
    if (!price) return NaN;
    const input = sum(run.calls.map((c) => c.promptTokens));
    const output = sum(run.calls.map((c) => c.outputTokens));
    return (input * price.input + output * price.output) / 1_000_000;
  };

  console.log(
    `bench:llm — ${records.length} bundled CVEs, OpenAI-compatible test server; tokens: o200k_base (gpt-tokenizer); estimate: the budget's characters/4\n`,
  );
  for (const [scenario, output] of opts['modes-only']
    ? []
    : ([
        ['one-shot', 'native'],
        ['one-shot', 'digest'],
        ['one retry', 'native'],
        ['one retry', 'digest'],
      ] as const)) {
    const measured = await run(scenario, output);
    const capped = await run(scenario, output, ROADMAP_BUDGET);
    console.log(`## ${scenario}, WAFGEN_LLM_OUTPUT=${output}`);
    console.log(
      [
        'CVE',
        'calls',
        'prompt tok/call',
        'schema or digest tok/call',
        'estimate/call',
        'output tok/rule',
        'input tok/rule',
        ...PRICED.map((m) => `$/rule ${m}`),
        `4,000 budget`,
      ].join(' | '),
    );
    for (const [i, run] of measured.entries()) {
      const c = capped[i]!;
      const per = (f: (c: Call) => number) => fmt(sum(run.calls.map(f)) / Math.max(1, run.calls.length));
      console.log(
        [
          run.cve,
          run.calls.length,
          per((c) => c.promptTokens),
          per((c) => c.schemaTokens),
          per((c) => c.estimate),
          fmt(sum(run.calls.map((c) => c.outputTokens))),
          fmt(sum(run.calls.map((c) => c.promptTokens))),
          ...PRICED.map((m) => usd(costPerRule(run, m))),
          c.producedBy === 'llm'
            ? `llm rule (${c.calls.length} call(s))`
            : `refused: ${c.producedBy} answered`,
        ].join(' | '),
      );
      if (opts.verbose && c.fallback) console.log(`    ${c.fallback}`);
    }
    const calls = measured.flatMap((r) => r.calls);
    const fits = capped.filter((r) => r.producedBy === 'llm').length;
    console.log(
      `median per call: ${fmt(median(calls.map((c) => c.promptTokens)))} prompt tokens (schema ${fmt(median(calls.map((c) => c.schemaTokens)))}), estimate ${fmt(median(calls.map((c) => c.estimate)))}; ` +
        `median per rule: ${fmt(median(measured.map((r) => sum(r.calls.map((c) => c.promptTokens)))))} input + ${fmt(median(measured.map((r) => sum(r.calls.map((c) => c.outputTokens)))))} output tokens, ` +
        PRICED.map((m) => `${m} ${usd(median(measured.map((r) => costPerRule(r, m))))}`).join(', ') +
        `; within ${fmt(ROADMAP_BUDGET)} input tokens per rule: ${fits}/${capped.length} rules from the LLM; ` +
        `verdicts ${measured.filter((r) => r.verdict === 'proven').length}/${measured.length} proven\n`,
    );
  }
  await modes(fake, records, good, answer);
  await fake.close();
}

/** Issue 15's modes: per rule, calls, tokens and cost, single against batched, candidates, judge, extraction. */
async function modes(
  fake: Awaited<ReturnType<typeof startFakeLlm>>,
  records: readonly { id: string; description: string }[],
  good: ReadonlyMap<string, unknown>,
  answer: (statement: unknown) => unknown,
): Promise<void> {
  process.env.WAFGEN_LLM_OUTPUT = 'digest';
  delete process.env.WAFGEN_MAX_INPUT_TOKENS;
  const { generateRule } = await import('../src/app/generate.js');
  const { createEngine } = await import('../src/generation/llm/index.js');
  const { loadLlmConfig } = await import('../src/llm/config.js');
  const { BUILTIN_PRICES, priceFor } = await import('../src/llm/prices.js');
  const { extractWithModel } = await import('../src/evidence/model-extract.js');
  const { loadBundled } = await import('../src/vulns/bundled.js');
  const bundled = new Map(loadBundled().map((r) => [r.id, r]));
  const price = priceFor(BUILTIN_PRICES, 'openai', 'gpt-4.1')!;
  const mini = priceFor(BUILTIN_PRICES, 'openai', 'gpt-4.1-mini')!;
  const costOf = (i: number, o: number, p = price) => (i * p.input + o * p.output) / 1_000_000;
  const ids = records.map((r) => r.id);

  // The scripted model: every rule asked for in the prompt (a batch names them in `## CVE-…`
  // headings; a single prompt names its one CVE first), the judge and the extractor answer empty.
  const respond = (prompt: string): unknown => {
    if (prompt.includes('red-team reviewer') || prompt.includes('How would you bypass it'))
      return { bypasses: [], legitimate: [] };
    if (prompt.includes('Extract the exploit facts'))
      return {
        attackClass: null,
        endpoints: [],
        parameters: [],
        methods: [],
        headers: [],
        payloadTokens: [],
      };
    const batch = [...prompt.matchAll(/^## (CVE-\d{4}-\d+)$/gm)].map((m) => m[1]!);
    if (batch.length > 0)
      return { rules: batch.map((cveId) => ({ cveId, ...(answer(good.get(cveId)) as object) })) };
    const first = ids
      .map((id) => ({ id, at: prompt.indexOf(id) }))
      .filter((x) => x.at >= 0)
      .sort((a, b) => a.at - b.at)[0];
    return answer(good.get(first?.id ?? ids[0]!));
  };

  const choice = createEngine({ mode: 'llm', llmConfig: loadLlmConfig(process.env) });
  async function mode(name: string, extra: { llmBatch?: number; candidates?: number; judge?: string }) {
    fake.reset();
    // Enough scripted answers for every call any mode makes.
    for (let i = 0; i < ids.length * 6; i++) fake.script('openai-compatible', { respond });
    const reports = await Promise.all(
      ids.map((cveId) =>
        generateRule(
          {
            cveId,
            record: bundled.get(cveId)!,
            maxInputBytes: 1 << 20,
            save: false,
            maxAttempts: 1,
            ...extra,
          },
          {
            engine: choice.engine,
            ...(choice.fallback ? { fallback: choice.fallback } : {}),
            judgeFor: choice.judgeFor!,
            lookup: { offline: true },
          },
        ).then((r) => r.report),
      ),
    );
    const calls = fake.requestsFor('openai-compatible').length;
    const input = sum(reports.map((r) => r.usage.inputTokens));
    const output = sum(reports.map((r) => r.usage.outputTokens));
    const k = reports.length;
    console.log(
      [
        name,
        (calls / k).toFixed(2),
        fmt(input / k),
        fmt(output / k),
        usd(costOf(input, output) / k),
        `${reports.filter((r) => r.verdict === 'proven').length}/${k}`,
        `${reports.filter((r) => r.producedBy === 'llm').length}/${k}`,
      ].join(' | '),
    );
  }

  console.log(
    `## modes (issue 15), ${ids.length} CVEs generated at once, WAFGEN_LLM_OUTPUT=digest, one attempt; cost at gpt-4.1 list price`,
  );
  console.log('mode | calls/rule | prompt tok/rule | output tok/rule | $/rule | proven | from the LLM');
  await mode('single', {});
  for (const n of [2, 4, 8]) await mode(`batched --llm-batch ${n}`, { llmBatch: n });
  await mode('--candidates 3', { candidates: 3 });
  await mode('--judge openai-compatible', { judge: 'openai-compatible' });

  // Extraction: one call per long article, on the mini model.
  fake.reset();
  let xi = 0;
  let xo = 0;
  let xc = 0;
  for (const r of records) {
    fake.script('openai-compatible', { respond });
    // A long write-up: the record's description and a PoC walk-through, about 8 KB.
    const text = `${r.description}\n\n${'The proof of concept sends the request below to the vulnerable endpoint and reads the response. '.repeat(80)}`;
    const x = await extractWithModel(text, `https://advisories.example/${r.id}`, choice.extract!);
    if (!x) continue;
    xc++;
    xi += x.usage.inputTokens;
    xo += x.usage.outputTokens;
  }
  console.log(
    `extraction (mini model, ~8 KB article) | ${(xc / records.length).toFixed(2)} | ${fmt(xi / Math.max(1, xc))} | ${fmt(xo / Math.max(1, xc))} | ${usd(costOf(xi, xo, mini) / Math.max(1, xc))} (gpt-4.1-mini) | - | -\n`,
  );
}

await main();
