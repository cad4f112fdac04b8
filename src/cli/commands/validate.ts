import { type Command, Option } from 'commander';

import type { ValidationResult } from '../../app/library.js';
import type { Config } from '../../config/index.js';
import { colors, EXIT, printable, printableJson, type Io } from '../io.js';

const KIND_NAMES = {
  rule: 'Rule',
  rules: 'list of Rules',
  'rule-group': 'RuleGroup',
  'web-acl': 'WebACL',
} as const;

function formatValidation(file: string, report: ValidationResult, io: Io): string {
  const c = colors(io);
  const lines: string[] = [];
  const what = report.kind ? KIND_NAMES[report.kind] : 'document';
  const verdict = report.valid ? c.green('valid') : c.red('invalid');
  const wcu = report.wcu === undefined ? '' : `, ${report.wcu} WCU`;
  // The WCU total is there when the document could be read as one.
  const rules =
    report.wcu !== undefined && report.kind !== 'rule'
      ? `, ${report.rules} rule${report.rules === 1 ? '' : 's'}`
      : '';
  // File names, paths and messages quote the document: shown escaped (io.ts, printable).
  lines.push(`${c.bold(printable(file))}: ${what} ${verdict}${rules}${wcu}`);
  for (const f of report.findings) {
    const sev = f.severity === 'error' ? c.red('error  ') : c.yellow('warning');
    lines.push(`  ${sev} ${c.cyan(f.code)} ${c.dim(printable(f.path))}`);
    lines.push(`          ${printable(f.message)}`);
    if (f.fix) lines.push(`          ${c.dim('fix:')} ${printable(f.fix)}`);
  }
  const { errors, warnings } = report.summary;
  if (errors + warnings > 0)
    lines.push(`${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
  return lines.join('\n') + '\n';
}

export function registerValidate(
  program: Command,
  io: Io,
  config: () => Config,
  setExit: (code: number) => void,
): void {
  program
    .command('validate')
    .description('check a WAFv2 rule document against the AWS API model, service limits and lint; print WCU')
    .argument(
      '<file>',
      'a Rule, an array of Rules, a RuleGroup, a WebACL, or `aws wafv2 get-web-acl`/`get-rule-group` output (JSON); - for stdin',
    )
    .option('--json', 'print one JSON object: {valid, kind, wcu, findings, summary}')
    .option('--cve <id>', 'the CVE the rules patch; names and metric names are checked against it')
    .addOption(
      new Option('--search-string-encoding <enc>', 'how ByteMatch SearchStrings are written')
        .choices(['auto', 'text', 'base64'])
        .default('auto'),
    )
    .addHelpText(
      'after',
      `
Exit status: 0 valid (warnings allowed), 1 invalid, 2 unreadable input.
SearchString: text in hand-written documents, base64 in get-* output ("auto" tells them apart).

Examples:
  wafgen validate rule.json
  aws wafv2 get-web-acl --name prod --scope REGIONAL --id ... > acl.json && wafgen validate acl.json --json`,
    )
    .action(
      async (
        file: string,
        opts: { json?: boolean; cve?: string; searchStringEncoding: 'auto' | 'text' | 'base64' },
      ) => {
        const { readJsonFile } = await import('../../core/input.js');
        const { validateRules } = await import('../../app/library.js');
        const input = await readJsonFile(file, config().WAFGEN_MAX_INPUT_BYTES);
        const report = validateRules(input, {
          // An input limit's one-line error names the file.
          documentName: file === '-' ? 'stdin' : file,
          searchStringEncoding: opts.searchStringEncoding,
          ...(opts.cve ? { cveId: opts.cve } : {}),
        });
        if (opts.json) {
          io.out(printableJson({ file, ...report }) + '\n');
        } else {
          io.out(formatValidation(file === '-' ? 'stdin' : file, report, io));
        }
        setExit(report.valid ? EXIT.ok : EXIT.failed);
      },
    );
}
