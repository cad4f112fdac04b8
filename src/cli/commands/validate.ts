import { type Command, Option } from 'commander';

import type { ValidationResult } from '../../app/library.js';
import type { Config } from '../../config/index.js';
import { OUTPUT_FORMATS, outputFormat } from '../formats/index.js';
import { colors, EXIT, printable, printableJson, printableJsonText, type Io } from '../io.js';

/** The result with what the file was recognised as (formats/documents.ts). */
type Report = ValidationResult & { format?: string; recognised?: string; records?: string };

const KIND_NAMES = {
  rule: 'Rule',
  rules: 'list of Rules',
  'rule-group': 'RuleGroup',
  'web-acl': 'WebACL',
} as const;

function formatValidation(file: string, report: Report, io: Io): string {
  const c = colors(io);
  const lines: string[] = [];
  const what = report.kind ? KIND_NAMES[report.kind] : 'document';
  const isReport = report.records !== undefined;
  const verdict = report.valid
    ? c.green(isReport ? 'well-formed' : 'valid')
    : c.red(isReport ? 'malformed' : 'invalid');
  const wcu = report.wcu === undefined ? '' : `, ${report.wcu} WCU`;
  // The WCU total is there when the document could be read as one.
  const rules =
    report.wcu !== undefined && report.kind !== 'rule'
      ? `, ${report.rules} rule${report.rules === 1 ? '' : 's'}`
      : '';
  // File names, paths and messages quote the document: shown escaped (io.ts, printable).
  const records = isReport ? ` (it records ${printable(report.records ?? '')})` : '';
  lines.push(`${c.bold(printable(file))}: ${isReport ? 'report' : what} ${verdict}${rules}${wcu}${records}`);
  if (report.recognised && report.format !== 'wafv2-json')
    lines.push(c.dim(`  recognised: ${report.recognised}`));
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
      'a Rule, an array of Rules, a RuleGroup, a WebACL, `aws wafv2 get-web-acl`/`get-rule-group` output, or anything wafgen writes (generate --json, Terraform, CloudFormation, --json reports, SARIF, JUnit); - for stdin',
    )
    .option(
      '--json',
      'print one JSON object: {file, valid, kind, wcu, findings, summary}, and format when not plain WAFv2 JSON (= --format json)',
    )
    .option('--format <format>', `output: ${OUTPUT_FORMATS.join(', ')} (SARIF 2.1.0, JUnit XML)`)
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
Recognised: WAFv2 JSON; what wafgen writes: generate --json (its rules are validated, against
its CVE unless --cve), --format terraform (each aws_wafv2_rule_group's rule_json), --format
cloudformation (each AWS::WAFv2 resource's Properties); the --json reports of test and validate,
SARIF and JUnit XML (checked for shape and consistent counts; they hold no rules). The first line
after the verdict says which.

Examples:
  wafgen validate rule.json
  aws wafv2 get-web-acl --name prod --scope REGIONAL --id ... > acl.json && wafgen validate acl.json --json
  wafgen generate CVE-2021-44228 --format terraform | wafgen validate -
  wafgen validate rule.json --format sarif > wafgen.sarif`,
    )
    .action(
      async (
        file: string,
        opts: {
          json?: boolean;
          format?: string;
          cve?: string;
          searchStringEncoding: 'auto' | 'text' | 'base64';
        },
      ) => {
        const format = outputFormat(opts);
        const [{ readTextFile, parseJson }, { validateRules }, { recognise, validateRecognised }] =
          await Promise.all([
            import('../../core/input.js'),
            import('../../app/library.js'),
            import('../formats/documents.js'),
          ]);
        const name = file === '-' ? 'stdin' : file;
        const text = await readTextFile(file, config().WAFGEN_MAX_INPUT_BYTES);
        const found = await recognise(text, (t) => parseJson(t, name));
        const report: Report = validateRecognised(found, (part) => {
          const cveId = opts.cve ?? part.cveId;
          return validateRules(part.document, {
            // An input limit's one-line error names the file.
            documentName: name,
            searchStringEncoding: opts.searchStringEncoding,
            ...(cveId ? { cveId } : {}),
          });
        });
        if (format === 'json') {
          // Plain WAFv2 JSON prints the library's result as it is (CLI and API agree); anything
          // else wafgen wrote adds what it was recognised as (format, recognised, records).
          const { format: read, recognised, ...result } = report;
          const shown = read === 'wafv2-json' ? result : { ...result, format: read, recognised };
          io.out(printableJson({ file, ...shown }) + '\n');
        } else if (format === 'sarif') {
          const { validationSarif } = await import('../formats/sarif.js');
          io.out(printableJsonText(JSON.stringify(validationSarif(file, report), null, 2)) + '\n');
        } else if (format === 'junit') {
          const { validationJunit } = await import('../formats/junit.js');
          io.out(validationJunit(file, report));
        } else {
          io.out(formatValidation(file === '-' ? 'stdin' : file, report, io));
        }
        setExit(report.valid ? EXIT.ok : EXIT.failed);
      },
    );
}
