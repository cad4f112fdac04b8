import { type Command, Option } from 'commander';

import { InputError } from '../../core/errors.js';
import { readTextFile } from '../../core/input.js';
import type { TestRequestResult, TestRulesResult } from '../../app/library.js';
import type { Config } from '../../config/index.js';
import { byteStringToUtf8 } from '../../core/bytes.js';
// Constants from their own light modules: the folders' faces load the parsers and RE2.
import { BODY_LIMITS, type ResourceType } from '../../evaluator/options.js';
import { REQUEST_FORMATS, type RequestFormat } from '../../requests/formats.js';
import { colors, EXIT, type Io } from '../io.js';

interface TestOptions {
  rule: string;
  requests: string[];
  variants?: boolean;
  explain?: boolean;
  json?: boolean;
  resource: ResourceType;
  format?: RequestFormat;
  ipSet: string[];
  patternSet: string[];
  onlyMismatches?: boolean;
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
  const idWidth = Math.min(48, Math.max(8, ...show.map((r) => r.id.length)));
  const lines = [`${'request'.padEnd(idWidth)}  expect  result  ${''.padEnd(2)}decided by`];
  for (const r of show) {
    const result = r.matched ? c.red(r.action.padEnd(6)) : c.green(r.action.padEnd(6));
    const ok = r.expect === undefined ? ' ' : r.mismatch ? c.red('✗') : c.green('✓');
    const by =
      r.terminatingRule === 'Default_Action'
        ? c.dim('default action')
        : `${r.terminatingRule}${r.terminatingStatement ? c.dim(' ' + r.terminatingStatement) : ''}`;
    const id = r.id.length > idWidth ? r.id.slice(0, idWidth - 1) + '…' : r.id.padEnd(idWidth);
    lines.push(
      `${id}  ${(r.expect ?? '-').padEnd(6)}  ${result}  ${ok} ${by}${r.uncertain ? c.yellow(' (uncertain)') : ''}`,
    );
    if (opts.explain) {
      for (const rule of r.rules ?? []) {
        lines.push(
          `    rule ${rule.rule}: ${rule.verdict === 'unknown' ? 'not judged' : rule.verdict ? 'matched' : 'no match'} → ${rule.action}${rule.overriddenFrom ? ` (configured ${rule.overriddenFrom})` : ''}`,
        );
        for (const t of rule.trace) {
          const verdict = t.verdict === 'unknown' ? c.yellow('?') : t.verdict ? c.red('match') : c.dim('no');
          const detail = [
            t.where && `on ${t.where}`,
            t.transformations && `after ${t.transformations.join(' → ')}`,
            t.offset !== undefined && `at offset ${t.offset}`,
            t.value !== undefined && `value ${JSON.stringify(byteStringToUtf8(t.value))}`,
            t.reason,
          ].filter(Boolean);
          lines.push(
            `      ${verdict} ${t.statement} ${c.dim(t.path)}${detail.length ? ': ' + detail.join(', ') : ''}`,
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
    .option('--json', 'print {"results":[...],"summary":{...}}')
    .option('--only-mismatches', 'list only requests whose expectation was not met')
    .addOption(
      new Option('--resource <type>', 'protected resource type (sets the body inspection limit)')
        .choices(Object.keys(BODY_LIMITS))
        .default('ALB'),
    )
    .addOption(
      new Option('--format <format>', 'read every request file as this format').choices([...REQUEST_FORMATS]),
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
Exit status: 0 every expectation met, 1 a request's "expect" was not met, 2 bad input.

Examples:
  wafgen test --rule rule.json --requests ../shared/corpus/exploits.dev.jsonl ../shared/corpus/benign.dev.jsonl
  wafgen test --rule rule.json --requests exploit.http --variants --explain
  wafgen test --rule acl.json --requests waf-logs.json --json --only-mismatches`,
    )
    .action(async (opts: TestOptions) => {
      const { readJsonFile } = await import('../../core/input.js');
      // The library module itself, not the app layer's face: that loads the composition root.
      const { testRules, WafgenInputError } = await import('../../app/library.js');
      const cfg = config();
      const document = await readJsonFile(opts.rule, cfg.WAFGEN_MAX_INPUT_BYTES);
      let outcome: TestRulesResult;
      try {
        outcome = await testRules(document, opts.requests, {
          resource: opts.resource,
          ...(opts.format ? { format: opts.format } : {}),
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
      const { results, summary, parseErrors } = outcome;
      for (const e of parseErrors) io.err(`${e.file}:${e.line}: ${e.message}\n`);
      if (opts.json) {
        io.out(JSON.stringify({ results, summary, parseErrors }, null, 2) + '\n');
      } else {
        io.out(formatResults(results, opts, io));
        const c = colors(io);
        io.out(
          `${summary.total} requests${summary.variants ? ` (${summary.variants} evasion variants)` : ''}: ${summary.matched} blocked, ${summary.allowed} allowed, ` +
            `${summary.mismatches ? c.red(`${summary.mismatches} expectation mismatches`) : c.green('0 expectation mismatches')}` +
            `${summary.uncertain ? c.yellow(`, ${summary.uncertain} uncertain`) : ''}` +
            `${parseErrors.length ? `, ${parseErrors.length} unreadable entries` : ''}\n`,
        );
      }
      setExit(summary.mismatches > 0 ? EXIT.failed : EXIT.ok);
    });
}
