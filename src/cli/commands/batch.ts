import type { Command } from 'commander';

import { InputError } from '../../core/errors.js';
import type { BatchItemResult } from '../../app/index.js';
import type { Config } from '../../config/index.js';
import {
  colors,
  exitOf,
  GENERATION_EXIT_HELP,
  type GenerationOutcome,
  type Io,
  printable,
  printableJson,
  showsProgress,
} from '../io.js';

/** What each item status counts as for the exit code (an unprocessable CVE counts as a failure). */
const OUTCOME: Record<BatchItemResult['status'], GenerationOutcome> = {
  generated: 'proven',
  skipped: 'proven',
  untested: 'untested',
  'failed-checks': 'failed',
  error: 'failed',
  'no-rule': 'no-rule',
};

function progressBar(done: number, total: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/**
 * CVEs per shared generation call unless --llm-batch or WAFGEN_LLM_BATCH says. Measured with
 * `npm run bench:llm -- --modes-only` (12 bundled CVEs, WAFGEN_LLM_OUTPUT=digest): prompt tokens
 * per rule 1,986 single, 1,565 at 2, 1,308 at 4, 1,224 at 8; output the same (~540). 4 takes most
 * of the saving (-34%); 8 adds 6% more for twice the rules redone singly when one call fails and
 * twice the output (and wait) in one answer.
 */
const DEFAULT_LLM_BATCH = 4;

export function registerBatch(
  program: Command,
  io: Io,
  config: () => Config,
  setExit: (code: number) => void,
): void {
  program
    .command('batch')
    .description(
      'generate rules for many CVEs, a few at a time; CVEs that already have a stored rule are skipped (resume), unless it is degraded and an LLM is configured',
    )
    .requiredOption(
      '--from <file>',
      'CVE IDs (one per line, # comments) or vulnerability records (JSON Lines)',
    )
    .option('--concurrency <n>', 'CVEs generated at once', '4')
    .option('--force', 'regenerate CVEs that already have a rule')
    .option('--max-attempts <n>', 'generation attempts with feedback', '3')
    .option('--no-fetch', 'do not fetch reference URLs for evidence')
    .option('--json', 'print the results as JSON')
    .option(
      '--candidates <n>',
      'LLM candidates per attempt, in parallel across providers and temperatures (1-8; default WAFGEN_CANDIDATES, else 1)',
    )
    .option(
      '--llm-batch <n>',
      'with the llm engine, first attempts of up to n CVEs share one generation call; each rule is then checked on its own and retried singly (1-8; default WAFGEN_LLM_BATCH, else 4)',
    )
    .option(
      '--judge <provider[:model]>',
      'a second model attacks each chosen rule; its findings become tests (default WAFGEN_JUDGE)',
    )
    .addHelpText(
      'after',
      `
Each CVE gets the headline \`generate\` prints (proven, untested, failed, or no rule) below the table.
Skipped CVEs (a rule is already stored) count as done. A degraded rule (the built-in engine's,
written because every LLM provider failed) is not skipped with the llm engine: the providers are
asked again and their rule replaces it. As with \`generate\`, each CVE's reference pages are fetched
for evidence unless --no-fetch or --offline, and long pages go to the provider's small model for
exploit facts when an LLM is configured.

${GENERATION_EXIT_HELP}`,
    )
    .action(
      async (opts: {
        from: string;
        concurrency: string;
        force?: boolean;
        maxAttempts: string;
        fetch: boolean;
        json?: boolean;
        candidates?: string;
        judge?: string;
        llmBatch?: string;
      }) => {
        const [{ openGenerationParts }, { readBatchInput, runBatch }] = await Promise.all([
          import('../../app/root.js'),
          import('../../app/batch.js'),
        ]);
        const { cliPrincipal } = await import('../../audit/event.js');
        const concurrency = Number(opts.concurrency);
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
          throw new InputError('--concurrency must be a whole number from 1 to 64');
        const maxAttempts = Number(opts.maxAttempts);
        if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10)
          throw new InputError('--max-attempts must be a whole number from 1 to 10');
        const { parseCandidates, parseLlmBatch } = await import('../../app/engines.js');
        const given = opts.llmBatch !== undefined ? parseLlmBatch(opts.llmBatch, '--llm-batch') : undefined;
        const candidates =
          opts.candidates !== undefined ? parseCandidates(opts.candidates, '--candidates') : undefined;
        const cfg = config();
        const parts = await openGenerationParts(cfg, { principal: cliPrincipal() });
        const store = parts.deps.store!;
        try {
          if (opts.judge && !parts.deps.judgeFor)
            throw new InputError('--judge needs the llm engine (a configured LLM provider)');
          const ids = await readBatchInput(opts.from, store, cfg.WAFGEN_MAX_INPUT_BYTES);
          const c = colors(io);
          const { store: _store, engine, ...deps } = parts.deps;
          const llmBatch = given ?? deps.llmBatch ?? DEFAULT_LLM_BATCH;
          const results = await runBatch(ids, store, engine, {
            ...deps,
            // Rules share a call only when they run at once: at least as many at once as the batch.
            concurrency: engine.name === 'llm' ? Math.max(concurrency, llmBatch) : concurrency,
            force: Boolean(opts.force),
            maxInputBytes: cfg.WAFGEN_MAX_INPUT_BYTES,
            maxAttempts,
            // Offline stops it in generation too (deps.lookup.offline), as for `generate`.
            fetch: opts.fetch && !cfg.WAFGEN_OFFLINE,
            ...(candidates ? { candidates } : {}),
            ...(opts.judge ? { judge: opts.judge } : {}),
            llmBatch,
            onItem: (r, done, total) => {
              if (showsProgress(io)) io.err(`\r${progressBar(done, total)} ${r.cveId.padEnd(18)}`);
              else if (r.status === 'error') io.err(`${r.cveId}: ${printable(r.error ?? '')}\n`);
            },
          });
          // The bar vanishes when done (a terminal only: redirected stderr never had it).
          if (showsProgress(io)) io.err('\r\x1b[K');
          if (opts.json) {
            io.out(
              printableJson(
                results.map(({ report, ...r }) => ({
                  ...r,
                  ...(report
                    ? {
                        verdict: report.verdict,
                        summary: report.summary,
                        confidence: report.confidence,
                        passed: report.passed,
                        wcu: report.wcu,
                        tests: report.tests,
                        notTestedAgainst: report.notTestedAgainst,
                      }
                    : {}),
                })),
              ) + '\n',
            );
          } else {
            io.out(
              `${'CVE'.padEnd(18)} ${'status'.padEnd(14)} version  WCU  exploits  variants  benign  confidence\n`,
            );
            for (const r of results) io.out(row(r, c) + '\n');
            // The same headline generate prints, one per CVE that came to an outcome.
            const headlines = results.flatMap((r) =>
              r.report ? [r.report.summary] : r.status === 'no-rule' && r.error ? [r.error] : [],
            );
            if (headlines.length > 0) io.out('\n' + headlines.map((h) => printable(h)).join('\n') + '\n\n');
            const count = (s: BatchItemResult['status']) => results.filter((r) => r.status === s).length;
            io.out(
              `${results.length} CVE(s): ${count('generated')} proven, ${count('untested')} untested (no exploit request to test), ` +
                `${count('failed-checks')} failed their checks, ${count('no-rule')} with no rule, ${count('skipped')} skipped (already done), ${count('error')} errors\n`,
            );
          }
          setExit(exitOf(results.map((r) => OUTCOME[r.status])));
        } finally {
          await parts.close();
        }
      },
    );
}

function row(r: BatchItemResult, c: ReturnType<typeof colors>): string {
  const status =
    r.status === 'generated'
      ? c.green(r.status.padEnd(14))
      : r.status === 'skipped'
        ? c.dim(r.status.padEnd(14))
        : r.status === 'untested' || r.status === 'no-rule'
          ? c.yellow(r.status.padEnd(14))
          : c.red(r.status.padEnd(14));
  const t = r.report?.tests;
  const cell = (a?: number, b?: number) => (a === undefined ? '-' : `${a}/${b}`);
  const error = r.status === 'error' && r.error ? `  ${printable(r.error)}` : '';
  return `${r.cveId.padEnd(18)} ${status} ${String(r.version ?? '-').padStart(7)} ${String(r.report?.wcu ?? '-').padStart(4)}  ${cell(t?.evidence.blocked, t?.evidence.total).padStart(8)}  ${cell(t?.variants.blocked, t?.variants.total).padStart(8)}  ${cell(t?.benign.blocked, t?.benign.total).padStart(6)}  ${(r.report?.confidence ?? '-').padEnd(10)}${error}`;
}
