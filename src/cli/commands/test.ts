import { type Command, Option } from 'commander';

import { InputError } from '../../core/errors.js';
import { readTextFile } from '../../core/input.js';
import type { TestRequestResult, TestRulesResult } from '../../app/library.js';
import type { Config } from '../../config/index.js';
import { byteStringToUtf8 } from '../../core/bytes.js';
// Constants from their own light modules: the folders' faces load the parsers and RE2.
import { BODY_LIMITS, type ResourceType } from '../../evaluator/options.js';
import { REQUEST_FORMATS, type RequestFormat } from '../../requests/formats.js';
import { OUTPUT_FORMATS, outputFormat, type OutputFormat } from '../formats/index.js';
import { colors, EXIT, printable, printableJson, printableJsonText, type Io } from '../io.js';

interface TestOptions {
  rule: string;
  requests: string[];
  variants?: boolean;
  explain?: boolean;
  json?: boolean;
  resource: ResourceType;
  format?: string;
  requestsFormat?: RequestFormat;
  ipSet: string[];
  patternSet: string[];
  onlyMismatches?: boolean;
  skipInvalid?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

async function namedLists(
  specs: readonly string[],
  maxBytes: number,
  what: string,
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const spec of specs) {
    const at = spec.lastIndexOf('=');
    if (at <= 0) throw new InputError(`--${what} expects ARN=FILE, got ${JSON.stringify(spec)}`);
    const text = await readTextFile(spec.slice(at + 1), maxBytes);
    out[spec.slice(0, at)] = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
  }
  return out;
}

function formatResults(results: readonly TestRequestResult[], opts: TestOptions, io: Io): string {
  const c = colors(io);
  const show = opts.onlyMismatches ? results.filter((r) => r.mismatch) : results;
  // Ids, names, values and reasons come from the input files: shown escaped (io.ts, printable).
  const p = (text: string) => printable(text);
  const idWidth = Math.min(48, Math.max(8, ...show.map((r) => p(r.id).length)));
  const lines = [`${'request'.padEnd(idWidth)}  expect  result  ${''.padEnd(2)}decided by`];
  for (const r of show) {
    const result = r.matched ? c.red(r.action.padEnd(6)) : c.green(r.action.padEnd(6));
    const ok = r.expect === undefined ? ' ' : r.mismatch ? c.red('✗') : c.green('✓');
    const by =
      r.terminatingRule === 'Default_Action'
        ? c.dim('default action')
        : `${p(r.terminatingRule)}${r.terminatingStatement ? c.dim(' ' + p(r.terminatingStatement)) : ''}`;
    const shownId = p(r.id);
    const id = shownId.length > idWidth ? shownId.slice(0, idWidth - 1) + '…' : shownId.padEnd(idWidth);
    lines.push(
      `${id}  ${(r.expect ?? '-').padEnd(6)}  ${result}  ${ok} ${by}${r.uncertain ? c.yellow(' (uncertain)') : ''}`,
    );
    if (opts.explain) {
      for (const rule of r.rules ?? []) {
        lines.push(
          `    rule ${p(rule.rule)}: ${rule.verdict === 'unknown' ? 'not judged' : rule.verdict ? 'matched' : 'no match'} → ${p(rule.action)}${rule.overriddenFrom ? ` (configured ${p(rule.overriddenFrom)})` : ''}`,
        );
        for (const t of rule.trace) {
          const verdict = t.verdict === 'unknown' ? c.yellow('?') : t.verdict ? c.red('match') : c.dim('no');
          const detail = [
            t.where && `on ${p(t.where)}`,
            t.transformations && `after ${p(t.transformations.join(' → '))}`,
            t.offset !== undefined && `at offset ${t.offset}`,
            t.value !== undefined && `value ${p(JSON.stringify(byteStringToUtf8(t.value)))}`,
            t.reason && p(t.reason),
          ].filter(Boolean);
          lines.push(
            `      ${verdict} ${p(t.statement)} ${c.dim(p(t.path))}${detail.length ? ': ' + detail.join(', ') : ''}`,
          );
        }
      }
    }
  }
  return lines.join('\n') + '\n';
}

export function registerTest(
  program: Command,
  io: Io,
  config: () => Config,
  setExit: (code: number) => void,
): void {
  program
    .command('test')
    .description('evaluate a rule, rule group or web ACL against requests locally, as AWS WAF would')
    .requiredOption('--rule <file>', 'a Rule, list of Rules, RuleGroup or WebACL (JSON)')
    .requiredOption(
      '--requests <file...>',
      'request files: test-case JSONL, raw HTTP, nuclei templates, AWS WAF logs, HAR',
    )
    .option('--variants', 'add evasion variants of every request expected to be blocked')
    .option('--explain', 'print the trace of every decision: statement, field, transformed value, offset')
    .option('--json', 'print {"results":[...],"summary":{...}} (the same as --format json)')
    .option('--format <format>', `output: ${OUTPUT_FORMATS.join(', ')} (SARIF 2.1.0, JUnit XML)`)
    .option('--only-mismatches', 'list only requests whose expectation was not met')
    .option(
      '--skip-invalid',
      'test the requests that can be read and report the others (default: an unreadable request entry is bad input, exit 2)',
    )
    .addOption(
      new Option('--resource <type>', 'protected resource type (sets the body inspection limit)')
        .choices(Object.keys(BODY_LIMITS))
        .default('ALB'),
    )
    .addOption(
      new Option('--requests-format <format>', 'read every request file as this format').choices([
        ...REQUEST_FORMATS,
      ]),
    )
    .option(
      '--ip-set <arn=file>',
      'contents of an IP set referenced by ARN (one CIDR per line); repeatable',
      collect,
      [],
    )
    .option(
      '--pattern-set <arn=file>',
      'contents of a regex pattern set referenced by ARN (one regex per line); repeatable',
      collect,
      [],
    )
    .addHelpText(
      'after',
      `
Exit status: 0 every expectation met, 1 a request's "expect" was not met, 2 bad input: the rule or
a request file cannot be read, or a request entry in one cannot be (each is reported with file and
line, and the others are still tested; with --skip-invalid they are only reported and counted).

Examples:
  wafgen test --rule rule.json --requests ../shared/corpus/exploits.dev.jsonl ../shared/corpus/benign.dev.jsonl
  wafgen test --rule rule.json --requests exploit.http --variants --explain
  wafgen test --rule acl.json --requests waf-logs.json --json --only-mismatches
  wafgen test --rule rule.json --requests cases.jsonl --format sarif > wafgen.sarif
  wafgen test --rule rule.json --requests cases.jsonl --format junit > wafgen-junit.xml`,
    )
    .action(async (opts: TestOptions) => {
      // `--format jsonl|har|nuclei|waf-log|raw` named the request files' format before --format named
      // the output: still read that way.
      const legacy = REQUEST_FORMATS.find(
        (f) => f === opts.format && !(OUTPUT_FORMATS as readonly string[]).includes(f),
      );
      const requestsFormat = opts.requestsFormat ?? legacy;
      const format: OutputFormat = outputFormat({
        ...(opts.json ? { json: true } : {}),
        ...(opts.format && !legacy ? { format: opts.format } : {}),
      });
      const { readJsonFile } = await import('../../core/input.js');
      // The library module itself, not the app layer's face: that loads the composition root.
      const { testRules, WafgenInputError } = await import('../../app/library.js');
      const cfg = config();
      const document = await readJsonFile(opts.rule, cfg.WAFGEN_MAX_INPUT_BYTES);
      let outcome: TestRulesResult;
      try {
        // `-` in --requests reads stdin (once); --rule - reads it directly.
        const { withStdin } = await import('../stdin.js');
        const requestFiles = await withStdin(opts.requests, cfg.WAFGEN_MAX_INPUT_BYTES);
        outcome = await testRules(document, requestFiles, {
          resource: opts.resource,
          maxInputBytes: cfg.WAFGEN_MAX_INPUT_BYTES,
          // An input limit's one-line error names the file.
          documentName: opts.rule === '-' ? 'stdin' : opts.rule,
          ...(requestsFormat ? { format: requestsFormat } : {}),
          ...(opts.variants ? { variants: true } : {}),
          ...(opts.explain ? { explain: true } : {}),
          ipSets: await namedLists(opts.ipSet, cfg.WAFGEN_MAX_INPUT_BYTES, 'ip-set'),
          regexPatternSets: await namedLists(opts.patternSet, cfg.WAFGEN_MAX_INPUT_BYTES, 'pattern-set'),
        });
      } catch (e) {
        if (e instanceof WafgenInputError && e.code === 'invalid-document')
          throw new InputError(`${opts.rule}: ${e.message}; run wafgen validate ${opts.rule}`);
        throw e;
      }
      const { unmaskStdin } = await import('../stdin.js');
      outcome.parseErrors = outcome.parseErrors.map((e) => ({ ...e, file: unmaskStdin(e.file) }));
      const { results, summary, parseErrors } = outcome;
      for (const e of parseErrors) io.err(`${printable(e.file)}:${e.line}: ${printable(e.message)}\n`);
      const unreadable = parseErrors.length;
      if (format === 'json') {
        // The library's result as it is (parseErrors lists the unreadable entries): CLI and API agree.
        io.out(printableJson({ results, summary, parseErrors }) + '\n');
      } else if (format === 'sarif') {
        const { testSarif } = await import('../formats/sarif.js');
        io.out(printableJsonText(JSON.stringify(testSarif(opts.rule, outcome), null, 2)) + '\n');
      } else if (format === 'junit') {
        const { testJunit } = await import('../formats/junit.js');
        io.out(testJunit(opts.rule, outcome));
      } else {
        io.out(formatResults(results, opts, io));
        const c = colors(io);
        io.out(
          `${summary.total} requests${summary.variants ? ` (${summary.variants} evasion variants)` : ''}: ${summary.matched} blocked, ${summary.allowed} allowed, ` +
            `${summary.mismatches ? c.red(`${summary.mismatches} expectation mismatches`) : c.green('0 expectation mismatches')}` +
            `${summary.uncertain ? c.yellow(`, ${summary.uncertain} uncertain`) : ''}` +
            `${unreadable ? `, ${unreadable} unreadable ${unreadable === 1 ? 'entry' : 'entries'}${opts.skipInvalid ? ' skipped' : ''}` : ''}\n`,
        );
      }
      // A request that could not be read is a test case lost: bad input, unless asked to skip it.
      if (unreadable > 0 && !opts.skipInvalid) {
        io.err(
          `wafgen: ${unreadable} request ${unreadable === 1 ? 'entry' : 'entries'} could not be read (above); fix ${unreadable === 1 ? 'it' : 'them'} or pass --skip-invalid\n`,
        );
        setExit(EXIT.badInput);
        return;
      }
      setExit(summary.mismatches > 0 ? EXIT.failed : EXIT.ok);
    });
}
