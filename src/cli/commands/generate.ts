import { writeFile } from 'node:fs/promises';

import { type Command, Option } from 'commander';

import { InputError } from '../../core/errors.js';
import { formatCount } from '../../core/format.js';
import type { Config } from '../../config/index.js';
import type { NoRuleFacts } from '../../generation/no-rule.js';
import type { GenerationReport } from '../../generation/types.js';
import { EXPORT_FORMATS, type ExportFormat } from '../../waf/export/index.js';
import type { Rule } from '../../waf/model/shapes.generated.js';
import {
  colors,
  exitOf,
  GENERATION_EXIT_HELP,
  type GenerationOutcome,
  type Io,
  note,
  printable,
  printableJsonText,
} from '../io.js';

/**
 * Report text names evidence files and request ids, and quotes lint findings on rules built from
 * exploit requests: shown escaped (io.ts, printable).
 */
const p = (text: string): string => printable(text);

interface GenerateOptions {
  engine: 'auto' | 'builtin' | 'llm';
  provider?: string;
  evidence: string[];
  vuln?: string;
  format: ExportFormat;
  output?: string;
  maxAttempts: string;
  fetch: boolean;
  json?: boolean;
  benign: string[];
  save: boolean;
  candidates?: string;
  judge?: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** What a CVE ID looks like, checked loosely before the store starts early (parseCveId decides). */
export const CVE_SHAPE = /^\s*cve-\d{4}-\d{4,19}\s*$/i;

function formatReport(report: GenerationReport & { version?: number }, io: Io): string {
  const c = colors(io);
  const t = report.tests;
  const n = formatCount;
  const tint = report.verdict === 'proven' ? c.green : report.verdict === 'untested' ? c.yellow : c.red;
  // The headline is the report's own summary (the API and batch say the same words), coloured.
  const prefix = `${report.cveId}: ${report.verdict}`;
  const headline = report.summary.startsWith(prefix)
    ? `${c.bold(report.cveId)}: ${tint(c.bold(report.verdict))}${p(report.summary.slice(prefix.length))}`
    : p(report.summary);
  const lines = [
    `${headline}${report.version ? c.dim(` (version ${report.version})`) : ''}`,
    `  confidence ${report.confidence}; not tested against: ${p(report.notTestedAgainst.join('; '))}`,
    `  engine ${report.producedBy}${report.provider ? ` (${p(`${report.provider}/${report.model}`)})` : ''}, ${report.attempts} attempt(s), strategy ${report.strategy}, ` +
      `class ${p(report.attackClass ?? '?')}, ${report.wcu} WCU, ${report.durationMs} ms; ` +
      `exploit requests blocked ${n(t.evidence.blocked)}/${n(t.evidence.total)}, evasion variants ${n(t.variants.blocked)}/${n(t.variants.total)}, benign ${n(t.benign.blocked)}/${n(t.benign.total)}`,
  ];
  if (report.usage.inputTokens + report.usage.outputTokens > 0) {
    lines.push(
      `  tokens ${report.usage.inputTokens} in / ${report.usage.outputTokens} out, cost $${report.costUsd.toFixed(4)}`,
    );
  }
  const x = report.extraction;
  if (x)
    lines.push(
      `  extraction ${x.calls} call(s)${x.model ? ` (${p(`${x.provider}/${x.model}`)})` : ''}: tokens ${x.usage.inputTokens} in / ${x.usage.outputTokens} out, cost $${x.costUsd.toFixed(4)}, ${x.dropped} claim(s) not in the text dropped${x.failed ? `, ${x.failed} failed` : ''}`,
    );
  if (report.fallback)
    lines.push(c.yellow(`  LLM failed (${p(report.fallback)}); the built-in engine answered`));
  lines.push(...candidateLines(report, io));
  for (const n of report.notes) lines.push(c.dim(`  ${p(n)}`));
  if (report.verdict === 'failed') for (const r of report.reasons) lines.push(c.red(`  ✗ ${p(r)}`));
  for (const w of report.warnings) lines.push(c.yellow(`  warning ${w.code} ${p(w.path)}: ${p(w.message)}`));
  if (report.evidenceUsed.length > 0) lines.push(c.dim(`  evidence: ${p(report.evidenceUsed.join(', '))}`));
  return lines.join('\n') + '\n';
}

/** Every candidate checked and the judge's verdict, one line each (also `wafgen info`). */
export function candidateLines(report: Pick<GenerationReport, 'candidates' | 'judge'>, io: Io): string[] {
  const c = colors(io);
  const lines: string[] = [];
  for (const k of report.candidates ?? [])
    lines.push(
      (k.chosen ? (s: string) => s : c.dim)(
        `  ${k.chosen ? '*' : ' '} candidate (attempt ${k.attempt}${k.round ? `, ${k.round} round` : ''}) ${p(k.provider ? `${k.provider}/${k.model ?? '?'}` : k.strategy)}${k.temperature !== undefined ? ` t=${k.temperature}` : ''}: ${k.verdict}, exploits ${k.exploitsBlocked}/${k.exploits}, variants ${k.variantsBlocked}/${k.variants}, benign blocked ${k.benignBlocked}, ${k.wcu} WCU${k.errors ? `, ${k.errors} error(s)` : ''}`,
      ),
    );
  const j = report.judge;
  if (j) {
    const tint = j.outcome === 'upheld' || j.outcome === 'corrected' ? c.green : c.yellow;
    lines.push(
      tint(
        `  judge ${p(j.judge)}: ${j.outcome}${j.error ? ` (${p(j.error)})` : ''}; proposed ${j.bypassesProposed} bypass(es), ${j.benignProposed} legitimate request(s); first rule missed ${j.bypassesMissed.length}, blocked ${j.benignBlocked.length}`,
      ),
    );
  }
  return lines;
}

/** The no-rule outcome, as a normal message: what the engine recognised and what it needs. */
function formatNoRule(facts: NoRuleFacts, io: Io): string {
  const c = colors(io);
  const what = facts.attackClass
    ? [`attack class ${p(facts.attackClass)}${facts.basis ? ` (from ${p(facts.basis)})` : ''}`]
    : facts.notes.length > 0
      ? facts.notes.map(p)
      : ['no attack class'];
  const recognised = [
    ...what,
    facts.endpoints.length > 0 ? `endpoints ${p(facts.endpoints.join(', '))}` : 'no endpoint',
    `${facts.exploitRequests} exploit request(s)`,
  ];
  const lines = [
    `${c.bold(facts.cveId)}: ${c.yellow(c.bold('no rule'))} — the ${facts.engine} engine found nothing specific enough to match`,
    `  recognised: ${recognised.join('; ')}`,
    ...(facts.attackClass ? facts.notes.map((n) => c.dim(`  ${p(n)}`)) : []),
    '  to write one it needs:',
    ...facts.needs.map((n) => `    - ${p(n)}`),
  ];
  return lines.join('\n') + '\n';
}

export function registerGenerate(
  program: Command,
  io: Io,
  config: () => Config,
  setExit: (code: number) => void,
): void {
  program
    .command('generate')
    .description(
      'generate an AWS WAFv2 rule for CVEs, checked against the exploit, its evasion variants and benign traffic',
    )
    .argument('<cve...>', 'one or more CVE IDs, e.g. CVE-2021-44228')
    .addOption(
      new Option('--engine <engine>', 'built-in engine, an LLM, or auto (LLM when a provider is configured)')
        .choices(['auto', 'builtin', 'llm'])
        .default('auto'),
    )
    .option('--provider <list>', 'LLM provider chain, e.g. openai,anthropic,google')
    .option(
      '--evidence <file>',
      'exploit requests: test-case JSONL, raw HTTP, nuclei template, WAF log, HAR (repeatable)',
      collect,
      [],
    )
    .option(
      '--vuln <file>',
      'vulnerability record to use instead of the store (JSON, NVD, CVE JSON 5, corpus JSONL)',
    )
    .addOption(new Option('--format <format>', 'output format').choices([...EXPORT_FORMATS]).default('json'))
    .option('--output <file>', 'write the rule there instead of stdout')
    .option('--max-attempts <n>', 'generation attempts with feedback', '3')
    .option('--no-fetch', 'do not fetch reference URLs for evidence')
    .option('--json', 'print one JSON object {rule, report} (or an array for several CVEs)')
    .option(
      '--benign <file>',
      'benign traffic the rule must not block (default: the built-in sample; repeatable)',
      collect,
      [],
    )
    .option('--no-save', 'do not store the rule as a new version')
    .option(
      '--candidates <n>',
      'LLM candidates per attempt, asked in parallel across providers and temperatures, each checked, the best kept (1-8; default WAFGEN_CANDIDATES, else 1)',
    )
    .option(
      '--judge <provider[:model]>',
      'a second model attacks the chosen rule; its bypasses and legitimate requests become tests (default WAFGEN_JUDGE)',
    )
    .addHelpText(
      'after',
      `
The rule goes to stdout (or --output) and the report to stderr. Its headline says what was proven:
  CVE-…: proven — blocks 3/3 exploit requests and 36/36 evasion variants; 0 of 3,412 benign requests blocked
  CVE-…: untested — no exploit request to test the rule against, …; supply exploit requests with --evidence <file>
  CVE-…: failed — <the checks that failed>
then the confidence (high, medium, low: from what the checks proved) and what it was not tested against.

${GENERATION_EXIT_HELP}

Examples:
  wafgen generate CVE-2021-44228
  wafgen generate CVE-2022-22965 --evidence exploit.http --format terraform --output spring4shell.tf.json
  wafgen generate CVE-2099-0001 --vuln record.json --evidence poc.yaml --json`,
    )
    .action(async (cves: string[], opts: GenerateOptions) => {
      const cfg = config();
      // A record given on the command line and nothing to save: no store to open. Otherwise the
      // embedded store's PGlite starts now, on a thread of its own, while the modules below load
      // and the checks warm up (app/store-early.ts; see bench:cli for what it saves).
      // Input that is plainly bad starts nothing (its error comes at once, below).
      const useStore = !(opts.vuln && !opts.save);
      const plausible = cves.every((id) => CVE_SHAPE.test(id)) && /^(?:[1-9]|10)$/.test(opts.maxAttempts);
      const early =
        useStore && plausible
          ? await (await import('../../app/store-early.js')).startStoreEarly(cfg)
          : async () => {};
      let failed = true;
      try {
        await generateAction(cves, opts, cfg);
        failed = false;
      } finally {
        // After a failure, the failure is what the user sees, not a close that failed behind it.
        await (failed ? early().catch(() => {}) : early());
      }
    });

  async function generateAction(cves: string[], opts: GenerateOptions, cfg: Config): Promise<void> {
    // The use case's own modules, not the app layer's face: a generate loads no service part.
    const [{ generateRule, parseCveId }, { openGenerationParts }, { NoRuleError }] = await Promise.all([
      import('../../app/generate.js'),
      import('../../app/root.js'),
      import('../../generation/no-rule.js'),
    ]);
    const { cliPrincipal } = await import('../../audit/event.js');
    const { exportRules } = await import('../../waf/export/index.js');
    const ids = cves.map(parseCveId);
    const maxAttempts = Number(opts.maxAttempts);
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10)
      throw new InputError('--max-attempts must be a whole number from 1 to 10');
    const { parseCandidates } = await import('../../app/engines.js');
    const candidates =
      opts.candidates !== undefined ? parseCandidates(opts.candidates, '--candidates') : undefined;
    const c = colors(io);
    const step =
      (io.color && !io.quiet) || io.verbose ? (m: string) => io.err(c.dim(`  … ${m}\n`)) : undefined;
    // `-` in --evidence, --benign or --vuln reads stdin (once).
    const { withStdin, unmaskStdin } = await import('../stdin.js');
    const evidenceFiles = await withStdin(opts.evidence, cfg.WAFGEN_MAX_INPUT_BYTES);
    const benignFiles = await withStdin(opts.benign, cfg.WAFGEN_MAX_INPUT_BYTES);
    const [vulnFile] = opts.vuln ? await withStdin([opts.vuln], cfg.WAFGEN_MAX_INPUT_BYTES) : [];
    // A record given on the command line and nothing to save: no need to open the store. The
    // store opens (PGlite compiles and starts) while the built-in benign corpus is read, with the
    // leaf outcomes an earlier run kept (a cache in the data directory), and the engine prepares
    // what it learns from it: they overlap instead of queueing (see bench:cli).
    const benignModule = opts.benign.length === 0 ? import('../../generation/benign.js') : undefined;
    const sample = benignModule?.then((m) => m.loadBenignSample());
    const [opened, benign] = await Promise.allSettled([
      openGenerationParts(cfg, {
        engineMode: opts.engine,
        ...(opts.provider ? { providers: opts.provider } : {}),
        ...(opts.vuln && !opts.save ? { store: false as const } : { storeThread: true }),
        principal: cliPrincipal(),
        ...(sample ? { benign: sample } : {}),
      }),
      // The kept leaves are read while the engine prepares its view of the same corpus.
      sample?.then(async (requests) => {
        await (await benignModule)!.recallBenignLeaves(cfg.dataDir);
        return requests;
      }),
    ]);
    // Neither may be left behind when the other failed: an open store holds its folder (and its
    // PGlite thread keeps the process alive).
    if (opened.status === 'rejected') throw opened.reason;
    const parts = opened.value;
    if (benign.status === 'rejected') {
      await parts.close().catch(() => {});
      throw benign.reason;
    }
    try {
      // Recalled above, kept below: the built-in corpus's leaf outcomes (benign-leaves.v8).
      const results: { rule: Rule; report: GenerationReport & { version?: number } }[] = [];
      const json: unknown[] = [];
      const outcomes: GenerationOutcome[] = [];
      for (const cveId of ids) {
        let r;
        try {
          r = await generateRule(
            {
              cveId,
              ...(vulnFile ? { vulnFile } : {}),
              evidenceFiles,
              benignFiles,
              maxAttempts,
              maxInputBytes: cfg.WAFGEN_MAX_INPUT_BYTES,
              save: opts.save,
              fetch: opts.fetch,
              ...(candidates ? { candidates } : {}),
              ...(opts.judge ? { judge: opts.judge } : {}),
            },
            { ...parts.deps, ...(step ? { onStep: step } : {}) },
          );
        } catch (e) {
          // No rule is an outcome like the others: said plainly, and the next CVE still runs.
          if (!(e instanceof NoRuleError)) throw e;
          outcomes.push('no-rule');
          json.push({ cveId, outcome: 'no-rule', message: e.message, noRule: e.facts });
          if (!opts.json) note(io, unmaskStdin(formatNoRule(e.facts, io)));
          continue;
        }
        const report = { ...r.report, ...(r.version ? { version: r.version } : {}) };
        results.push({ rule: r.rule, report });
        json.push({ rule: r.rule, report });
        outcomes.push(report.verdict);
        if (!opts.json) note(io, unmaskStdin(formatReport(report, io)));
      }
      // JSON either way; strings from exploit requests keep their C1 and bidi characters as
      // \u escapes (the same document, safe on a terminal).
      const out = printableJsonText(
        opts.json
          ? JSON.stringify(ids.length === 1 ? json[0] : json, null, 2) + '\n'
          : results.length > 0
            ? exportRules(
                results.map((r) => r.rule),
                opts.format,
              )
            : '',
      );
      if (opts.output && out) {
        await writeFile(opts.output, out);
        note(io, `wrote ${opts.output}\n`);
      } else io.out(out);
      setExit(exitOf(outcomes));
      if (benign.value) await (await benignModule)?.rememberBenignLeaves(cfg.dataDir);
    } finally {
      await parts.close();
    }
  }
}
