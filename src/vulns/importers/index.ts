// Import vulnerability data from files and directory trees, detecting each file's format by content:
//
//   nvd     NVD CVE API 2.0 response: `vulnerabilities[].cve`
//   kev     CISA KEV catalog: `catalogVersion`, or `vulnerabilities[].cveID`
//   cve5    CVE JSON 5 record(s): `dataType: "CVE_RECORD"` / `cveMetadata` (one, or an array)
//   nuclei  nuclei template: a `.yaml`/`.yml` file, or YAML text with `id:` and `info:` at the top level
//   jsonl   JSON Lines of records (corpus `cves.*.jsonl` lines or wafgen records): `.jsonl`/`.ndjson`,
//           or several lines that each hold a JSON object
//   json    one record, or an array of records, in either JSON Lines shape
//
// `importPath` walks a directory (sorted, skipping dot-folders and node_modules, not following
// symlinked folders) and yields one result per file, so a caller can store as it goes and report
// progress on trees as large as cvelistV5. Nothing here touches a database or the network.

import { createReadStream, type Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { checkByteCount, InputLimitError, limitOf } from '../../core/limits.js';
import { readLimited } from '../../core/read-limited.js';
import { parseJson } from '../../requests/json-scan.js';
import {
  type ImportError,
  type ImportOptions,
  type ImportResult,
  emptyResult,
  isObject,
  jsonSyntaxError,
  wholeFile,
} from './common.js';
import { cve5FromValue, looksLikeCve5 } from './cve5.js';
import { parseVulnJsonl, vulnJsonFromValue, looksLikeVulnObject } from './jsonl.js';
import { kevFromValue, looksLikeKev } from './kev.js';
import { nvdFromValue, looksLikeNvd } from './nvd.js';
import { parseNucleiVuln } from './nuclei.js';

export type { ImportError, ImportResult } from './common.js';
export type ImportFormat = 'nvd' | 'kev' | 'cve5' | 'nuclei' | 'jsonl' | 'json';

/** What one file gave. `format` is 'unknown' when the file could not be read or recognised. */
export interface FileImport extends ImportResult {
  file: string;
  format: ImportFormat | 'unknown';
  /** The file was over an input limit (`import-bytes`) and was not read; also in `errors`. */
  limitExceeded?: InputLimitError;
}

export interface ImportPathOptions extends ImportOptions {
  /** Read every file as this format instead of detecting it. */
  format?: ImportFormat;
  /** Called with (0, total) once the tree is listed, then after each file. */
  onProgress?: (filesDone: number, filesTotal: number) => void;
  /**
   * Files larger than this are reported as errors, not read: the `import-bytes` limit (default
   * 256 MiB). Enforced while reading, so a device or FIFO that never ends costs no more.
   */
  maxFileBytes?: number;
}

/** File name endings read when walking a directory (a file named directly is read whatever its name). */
const IMPORT_EXTENSIONS = ['.json', '.jsonl', '.ndjson', '.yaml', '.yml'] as const;

function isYamlName(name: string): boolean {
  const ext = extname(name).toLowerCase();
  return ext === '.yaml' || ext === '.yml';
}

function isJsonlName(name: string): boolean {
  const ext = extname(name).toLowerCase();
  return ext === '.jsonl' || ext === '.ndjson';
}

/** The format of an already JSON-parsed document, if it is one this module reads. */
function detectJsonFormat(value: unknown): ImportFormat | undefined {
  if (looksLikeKev(value)) return 'kev';
  if (looksLikeNvd(value)) return 'nvd';
  if (looksLikeCve5(value)) return 'cve5';
  if (looksLikeVulnObject(value) || (Array.isArray(value) && looksLikeVulnObject(value[0]))) return 'json';
  return undefined;
}

/** Several non-blank lines, each a JSON object on its own. */
function looksLikeJsonLines(text: string): boolean {
  const lines = text.split('\n', 50).filter((l) => l.trim() !== '');
  if (lines.length < 2) return false;
  return lines.slice(0, 3).every((l) => {
    const json = parseJson(l);
    return 'value' in json && isObject(json.value);
  });
}

/** Top-level `id:` and `info:` keys: the shape of a nuclei template. */
function looksLikeNucleiYaml(text: string): boolean {
  return /^id\s*:/m.test(text) && /^info\s*:/m.test(text);
}

/** Detect the format of `text` (named `name`, for its extension); undefined when unrecognised. */
export function detectFormat(text: string, name = ''): ImportFormat | undefined {
  if (isYamlName(name)) return 'nuclei';
  if (isJsonlName(name)) return 'jsonl';
  const head = text.replace(/^\ufeff/, '').trimStart();
  if (head.startsWith('{') || head.startsWith('[')) {
    const json = parseJson(head);
    if ('value' in json) return detectJsonFormat(json.value);
    return looksLikeJsonLines(head) ? 'jsonl' : undefined;
  }
  return looksLikeNucleiYaml(head) ? 'nuclei' : undefined;
}

/** Import the contents of one file (`file` names it in errors and evidence). */
export function importText(text: string, file: string, opts: ImportPathOptions = {}): FileImport {
  const body = text.replace(/^\ufeff/, '');
  const fail = (error: ImportError): FileImport => ({
    file,
    format: 'unknown',
    ...emptyResult(),
    errors: [error],
  });
  let format = opts.format;
  if (format === undefined) {
    if (isYamlName(file)) format = 'nuclei';
    else if (isJsonlName(file)) format = 'jsonl';
  }
  if (format === 'nuclei') return { file, format, ...parseNucleiVuln(body, file, opts) };
  if (format === 'jsonl') return { file, format, ...parseVulnJsonl(body, file, opts) };

  const head = body.trimStart();
  const isJson = head.startsWith('{') || head.startsWith('[');
  if (!isJson) {
    if (format === undefined && looksLikeNucleiYaml(head)) {
      return { file, format: 'nuclei', ...parseNucleiVuln(body, file, opts) };
    }
    return fail(
      format === undefined
        ? wholeFile(file, unrecognised(file))
        : wholeFile(file, `not JSON (expected ${format})`),
    );
  }
  // Parse once; detect from the value.
  const json = parseJson(body);
  if ('error' in json) {
    if (format === undefined && looksLikeJsonLines(head)) {
      return { file, format: 'jsonl', ...parseVulnJsonl(body, file, opts) };
    }
    return fail(jsonSyntaxError(file, body, json));
  }
  format ??= detectJsonFormat(json.value);
  switch (format) {
    case 'nvd':
      return { file, format, ...nvdFromValue(json.value, body, file, opts) };
    case 'kev':
      return { file, format, ...kevFromValue(json.value, body, file, opts) };
    case 'cve5':
      return { file, format, ...cve5FromValue(json.value, body, file, opts) };
    case 'json':
      return { file, format, ...vulnJsonFromValue(json.value, body, file, opts) };
    default:
      return fail(wholeFile(file, unrecognised(file)));
  }
}

function unrecognised(file: string): string {
  return (
    `unrecognised format in ${file}: expected an NVD API 2.0 response, a CVE JSON 5 record, the CISA KEV ` +
    'catalog, a nuclei template (YAML) or JSON Lines of vulnerability records'
  );
}

function readError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}

/** Import one file from disk. Never throws: an unreadable file is a `FileImport` with one error. */
export async function importFile(file: string, opts: ImportPathOptions = {}): Promise<FileImport> {
  const limit = {
    limit: 'import-bytes',
    max: opts.maxFileBytes ?? limitOf('import-bytes'),
    source: file,
  } as const;
  let text: string;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw Object.assign(new Error('it is a directory'), { code: 'EISDIR' });
    if (info.isFile()) checkByteCount(info.size, limit);
    text = (await readLimited(createReadStream(file), limit)).toString('utf8');
  } catch (err) {
    const result = emptyResult();
    if (err instanceof InputLimitError) {
      result.errors.push(wholeFile(file, err.message));
      return { file, format: 'unknown', ...result, limitExceeded: err };
    }
    result.errors.push(wholeFile(file, `cannot read ${file}: ${readError(err)}`));
    return { file, format: 'unknown', ...result };
  }
  return importText(text, file, opts);
}

/** Files under `dir` with an importable extension, sorted, depth first. */
export async function listImportFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return; // an unreadable subfolder is skipped; the top one is checked by the caller
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if ((e.isFile() || e.isSymbolicLink()) && hasImportExtension(e.name)) {
        if (e.isSymbolicLink()) {
          const info = await stat(p).catch(() => undefined);
          if (!info?.isFile()) continue;
        }
        out.push(p);
      }
    }
  };
  await walk(dir);
  return out;
}

function hasImportExtension(name: string): boolean {
  const ext = extname(name).toLowerCase();
  return (IMPORT_EXTENSIONS as readonly string[]).includes(ext);
}

/**
 * Import a file, or every importable file under a directory, yielding one `FileImport` per file.
 * Never throws for bad input: a missing path or unreadable file is a result with an error.
 */
export async function* importPath(path: string, opts: ImportPathOptions = {}): AsyncGenerator<FileImport> {
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    opts.onProgress?.(0, 1);
    const result = emptyResult();
    result.errors.push(wholeFile(path, `cannot read ${path}: ${readError(err)}`));
    opts.onProgress?.(1, 1);
    yield { file: path, format: 'unknown', ...result };
    return;
  }
  const files = isDir ? await listImportFiles(path) : [path];
  opts.onProgress?.(0, files.length);
  for (let i = 0; i < files.length; i++) {
    const result = await importFile(files[i]!, opts);
    opts.onProgress?.(i + 1, files.length);
    yield result;
  }
}

/** Everything under `path`, gathered: for small inputs and tests. */
export async function importAll(
  path: string,
  opts: ImportPathOptions = {},
): Promise<ImportResult & { files: FileImport[] }> {
  const total = emptyResult();
  const files: FileImport[] = [];
  for await (const f of importPath(path, opts)) {
    files.push(f);
    for (const r of f.records) total.records.push(r);
    for (const e of f.evidence) total.evidence.push(e);
    for (const e of f.errors) total.errors.push(e);
    for (const w of f.warnings) total.warnings.push(w);
  }
  return { ...total, files };
}
