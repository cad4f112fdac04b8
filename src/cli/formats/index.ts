/**
 * @module What `wafgen test` and `wafgen validate` can print (`--format`): text for people, JSON for
 * programs, SARIF 2.1.0 for code-scanning dashboards, JUnit XML for test reporters. Light: the
 * writers (./sarif.ts, ./junit.ts, and the XML library) are loaded only by the command that prints them.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';

import { InputError } from '../../core/errors.js';

export const OUTPUT_FORMATS = ['text', 'json', 'sarif', 'junit'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * The output format from `--format` and the older `--json` (the same as `--format json`). Both given
 * and disagreeing is a usage error, said with its fix.
 */
export function outputFormat(opts: { format?: string; json?: boolean }): OutputFormat {
  const format = (opts.format ?? (opts.json ? 'json' : 'text')) as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format))
    throw new InputError(
      `unknown --format ${JSON.stringify(format)}; use one of ${OUTPUT_FORMATS.join(', ')}`,
    );
  if (opts.json && format !== 'json')
    throw new InputError(`--json and --format ${format} disagree; pass one of them`);
  return format;
}

/**
 * A file name as a SARIF artifact URI: a relative path stays relative (code scanning resolves it
 * against the repository), with `/` separators and URI escapes; an absolute path becomes a file: URL;
 * stdin is named `stdin`.
 */
export function artifactUri(file: string): string {
  if (file === '-') return 'stdin';
  if (isAbsolute(file)) return pathToFileURL(file).href;
  return encodeURI(file.replace(/\\/g, '/'));
}
