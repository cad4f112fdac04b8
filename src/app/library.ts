/**
 * @module The programmatic API: `import { generateRule, testRules, validateRules } from 'wafgen'`.
 * One entry for outside tools, the benchmarks, the CLI (`wafgen test`, `wafgen validate`) and the
 * HTTP API (`POST /v1/rules/validate`, `POST /v1/rules/test`), so they cannot drift apart.
 *
 * Inputs are checked here, at the boundary, with the schemas the rest of wafgen uses (the
 * vulnerability record's, the request test case's); bad input throws a {@link WafgenInputError}
 * naming what is wrong. Validating and testing load only the validator and the evaluator: the
 * generation machinery (engines, the composition root) is loaded when `generateRule` first runs.
 */
import { z } from 'zod';

import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { InputError } from '../core/errors.js';
import { InputLimitError, type LimitName } from '../core/limits.js';
import { RuleCompileError, type Decision } from '../evaluator/index.js';
import { BODY_LIMITS, type ResourceType } from '../evaluator/options.js';
import { testRequests, type TestResult, type TestSummary } from '../evaluator/test-rules.js';
import { awsRefusals, validateRuleDocument } from '../lint/validate.js';
import { REQUEST_FORMATS, type RequestFormat } from '../requests/formats.js';
import { readAllRequests, RequestFileError, type HttpRequest, type ParseError } from '../requests/index.js';
import { assertReadableFile } from '../requests/io.js';
import { testCaseToRequest, zodMessage, type TestCaseInput } from '../requests/jsonl.js';
import { deriveVariants } from '../variants/index.js';
import { findBundled } from '../vulns/bundled.js';
import { CveIdSchema, VulnRecordSchema, type VulnRecordInput as RecordSchemaInput } from '../vulns/model.js';
import type { Finding } from '../waf/findings.js';
import type { Rule } from '../waf/model/shapes.generated.js';
import type { DocumentKind } from '../waf/schema.js';
import type { GenerationReport } from '../generation/types.js';
import type { GenerationParts } from './root.js';

export type { Finding, GenerationReport, Rule, TestSummary };

// --- inputs ----------------------------------------------------------------------------------------

/**
 * One HTTP request in the test-case format (a line of a test-case JSON Lines file):
 * `{"method":"GET","uri":"/a?b=1","headers":[["Host","x"]],"body":"...","expect":"block"}`.
 * Text is ordinary (UTF-8) text; the request is checked with the same schema the file reader uses.
 */
export interface HttpRequestInput {
  /** Default: `request-N`, `exploit-N` or `benign-N` (1-based position in the list). */
  id?: string;
  method: string;
  /** Origin form (`/path?query`) or absolute (`http://host/path`, which sets Host). */
  uri: string;
  headers?: [name: string, value: string][];
  body?: string | null;
  fragment?: string;
  /** What the rules should do with it: `testRules` reports a mismatch when they do otherwise. */
  expect?: 'block' | 'allow' | null;
  cve?: string | null;
  class?: string | null;
  cwe?: string | null;
  source?: string | null;
  clientIp?: string;
  /** ISO 3166-1 alpha-2 country of the client. */
  country?: string;
  asn?: number;
  /** Labels already on the request (added by earlier rules). */
  labels?: string[];
  ja3?: string;
  ja4?: string;
  tags?: string[];
}
// The hand-written shape above is the test-case schema's input: this fails to compile if they part.
const _sameShape: (r: HttpRequestInput) => TestCaseInput = (r) => r;

/**
 * Requests: objects in the test-case format, or paths of files in any format the CLI reads
 * (test-case JSONL, raw HTTP, nuclei templates, AWS WAF logs, HAR), or a mix; one path alone works too.
 */
export type RequestsInput = string | readonly (HttpRequestInput | string)[];

/**
 * A vulnerability record as `VulnRecordSchema` reads it (`id` and `description` are what matter
 * most; `exploit` facts help). `source` defaults to `"api"` and `fetchedAt` to now.
 */
export type VulnRecordInput = Omit<RecordSchemaInput, 'source' | 'fetchedAt'> &
  Partial<Pick<RecordSchemaInput, 'source' | 'fetchedAt'>>;

/** What kind of input was bad, for programs; the message says it for people. */
export type WafgenInputErrorCode =
  | 'invalid-cve'
  | 'invalid-record'
  | 'invalid-request'
  | 'invalid-document'
  | 'invalid-options'
  | 'unreadable-file'
  | 'input-limit';

export interface InputIssue {
  /** Where: `exploits.2`, `requests.0`, `document.Statement.ByteMatchStatement`, `options.maxAttempts`... */
  path: string;
  message: string;
}

/**
 * Bad input to the programmatic API. The CLI answers it with exit status 2, the HTTP API with 400
 * (413 when `limit` says a byte limit was exceeded).
 */
export class WafgenInputError extends InputError {
  override name = 'WafgenInputError';
  readonly code: WafgenInputErrorCode;
  readonly issues: InputIssue[];
  /** With code `input-limit`: the limit exceeded (`core/limits.ts`), its value and HTTP status. */
  readonly limit?: { name: LimitName; max: number; status: 400 | 413 };
  constructor(
    code: WafgenInputErrorCode,
    message: string,
    options: { issues?: InputIssue[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = options.issues ?? [];
    const limit = options.cause instanceof InputLimitError ? options.cause : undefined;
    if (limit) this.limit = { name: limit.limit, max: limit.max, status: limit.status };
  }
}

/** Errors of the layers below, as the API's one typed error. */
function asInputError(e: unknown, code: WafgenInputErrorCode): unknown {
  if (e instanceof WafgenInputError) return e;
  if (e instanceof InputLimitError)
    return new WafgenInputError('input-limit', e.message, {
      issues: [{ path: e.limit, message: e.message }],
      cause: e,
    });
  if (e instanceof RequestFileError) return new WafgenInputError('unreadable-file', e.message, { cause: e });
  if (e instanceof InputError || e instanceof ConfigError)
    return new WafgenInputError(code, e.message, { cause: e });
  return e;
}

function parseOptions<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({
    path: ['options', ...i.path.map(String)].join('.'),
    message: i.message,
  }));
  throw new WafgenInputError('invalid-options', `${what}: invalid options: ${zodMessage(r.error)}`, {
    issues,
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Requests from objects and files. Bad objects throw (every one named); bad entries of a file are
 * returned as `parseErrors` and the others still count, as `wafgen test` does.
 */
async function loadRequests(
  input: RequestsInput,
  what: 'requests' | 'exploits' | 'benign',
  /** `readFiles: false`: only check the files can be read, and hand their paths back unread. */
  opts: { format?: RequestFormat; readFiles?: boolean; maxBytes?: number } = {},
): Promise<{ requests: HttpRequest[]; files: string[]; parseErrors: ParseError[] }> {
  const items = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(items))
    throw new WafgenInputError(
      'invalid-request',
      `${what}: expected an array of requests or file paths, or one file path`,
      { issues: [{ path: what, message: 'expected an array or a string' }] },
    );
  const requests: HttpRequest[] = [];
  const files: string[] = [];
  const parseErrors: ParseError[] = [];
  const issues: InputIssue[] = [];
  const one = what === 'benign' ? 'benign' : what.slice(0, -1);
  for (const [i, item] of (items as readonly unknown[]).entries()) {
    if (typeof item === 'string') {
      files.push(item);
      try {
        if (opts.readFiles === false) {
          await assertReadableFile(item);
          continue;
        }
        const loaded = await readAllRequests(item, {
          ...(opts.format ? { format: opts.format } : {}),
          ...(opts.maxBytes ? { maxBytes: opts.maxBytes } : {}),
        });
        requests.push(...loaded.requests);
        parseErrors.push(...loaded.errors);
      } catch (e) {
        throw asInputError(e, 'unreadable-file');
      }
    } else if (isObject(item)) {
      const r = testCaseToRequest({ id: `${one}-${i + 1}`, ...item }, { file: what, line: i + 1 });
      if ('request' in r) requests.push(r.request);
      else issues.push({ path: `${what}.${i}`, message: r.error.message });
    } else {
      issues.push({ path: `${what}.${i}`, message: 'expected a request object or a file path' });
    }
  }
  if (issues.length > 0) {
    const first = issues[0]!;
    throw new WafgenInputError(
      'invalid-request',
      `${issues.length} invalid ${issues.length === 1 ? 'request' : 'requests'} in ${what} (first: ${first.path}: ${first.message})`,
      { issues },
    );
  }
  return { requests, files, parseErrors };
}

// --- validateRules ---------------------------------------------------------------------------------

export interface ValidateRulesOptions {
  /** The CVE the rules patch: rule and metric names are checked against it. */
  cveId?: string;
  /** How ByteMatch SearchStrings are written: `auto` (default) reads base64 in `aws wafv2 get-*` output. */
  searchStringEncoding?: 'auto' | 'text' | 'base64';
  /** The document's name in error messages (a file name; default `document`). */
  documentName?: string;
}

/** What `wafgen validate --json` prints (without the file name). */
export interface ValidationResult {
  /** No finding of severity error. */
  valid: boolean;
  /** What the document was read as; absent when it is none of them. */
  kind?: DocumentKind;
  /** Rules in the document (0 when it could not be read as a document). */
  rules: number;
  /** Capacity (WCU) of the rules; absent when the document could not be read. */
  wcu?: number;
  /** Schema, API constraint, capacity and lint findings, each with a code, JSON path and fix. */
  findings: Finding[];
  summary: { errors: number; warnings: number };
}

const ValidateOptionsSchema = z
  .object({
    cveId: CveIdSchema.optional(),
    searchStringEncoding: z.enum(['auto', 'text', 'base64']).optional(),
    documentName: z.string().min(1).max(4096).optional(),
  })
  .strict();

/**
 * Validate a rule document (a Rule, an array of Rules, a RuleGroup, a WebACL, or `aws wafv2
 * get-web-acl`/`get-rule-group` output, parsed): schema, API constraints, capacity, lint. Anything
 * that is not a valid document is reported in the result (`valid: false` with findings), never
 * thrown; only bad options, and a document over one of wafgen's input limits (nesting, rules,
 * statements: code `input-limit`, unread), throw.
 */
export function validateRules(document: unknown, options: ValidateRulesOptions = {}): ValidationResult {
  const opts = parseOptions(ValidateOptionsSchema, options, 'validateRules');
  let report: ReturnType<typeof validateRuleDocument>;
  try {
    report = validateRuleDocument(document, {
      source: opts.documentName ?? 'document',
      ...(opts.cveId ? { cveId: opts.cveId } : {}),
      ...(opts.searchStringEncoding ? { searchStringEncoding: opts.searchStringEncoding } : {}),
    });
  } catch (e) {
    throw asInputError(e, 'invalid-document');
  }
  const { document: _parsed, kind, wcu, ...rest } = report;
  return {
    valid: rest.valid,
    ...(kind ? { kind } : {}),
    rules: rest.rules,
    ...(wcu !== undefined ? { wcu } : {}),
    findings: rest.findings,
    summary: rest.summary,
  };
}

// --- testRules -------------------------------------------------------------------------------------

export interface TestRulesOptions {
  /** Also test evasion variants of every request expected to be blocked (as `wafgen test --variants`). */
  variants?: boolean;
  /** Keep, per request, every rule judged with the trace of its statements (as `--explain`). */
  explain?: boolean;
  /** The protected resource, which sets the body inspection limit (default ALB, 8 KB). */
  resource?: ResourceType;
  /** Read every request file as this format instead of detecting it. */
  format?: RequestFormat;
  /** Contents of IP sets referenced by ARN (CIDRs). */
  ipSets?: Record<string, string[]>;
  /** Contents of regex pattern sets referenced by ARN. */
  regexPatternSets?: Record<string, string[]>;
  /** Refuse to evaluate more than this many requests, variants included (a service's guard). */
  maxEvaluations?: number;
  /** Largest request file read, in bytes (the `input-bytes` limit; default 10 MiB). */
  maxInputBytes?: number;
  /** The document's name in error messages (a file name; default `document`). */
  documentName?: string;
}

/**
 * One request's outcome: what `wafgen test --json` prints per request — the use case's result
 * without the raw decision, plus, with `explain`, every rule judged (with its trace) and the labels added.
 */
export type TestRequestResult = Omit<TestResult, 'decision'> & {
  rules?: Decision['rules'];
  labels?: string[];
};

export interface TestRulesResult {
  results: TestRequestResult[];
  summary: TestSummary;
  /** Ids of the requests expected to be blocked that got through. */
  missed: string[];
  /** Ids of the requests expected to be allowed that were stopped. */
  falsePositives: string[];
  /** Entries of request files that could not be read (the others were tested). */
  parseErrors: ParseError[];
}

const TestOptionsSchema = z
  .object({
    variants: z.boolean().optional(),
    explain: z.boolean().optional(),
    resource: z.enum(Object.keys(BODY_LIMITS) as [ResourceType, ...ResourceType[]]).optional(),
    format: z.enum(REQUEST_FORMATS).optional(),
    ipSets: z.record(z.string(), z.array(z.string())).optional(),
    regexPatternSets: z.record(z.string(), z.array(z.string())).optional(),
    maxEvaluations: z.number().int().positive().optional(),
    maxInputBytes: z.number().int().positive().optional(),
    documentName: z.string().min(1).max(4096).optional(),
  })
  .strict();

/**
 * Evaluate a rule document against requests as AWS WAF would, and compare each outcome with the
 * request's `expect`: what `wafgen test` computes. Throws {@link WafgenInputError} when the document
 * is not a valid rule document (`code: 'invalid-document'`, the findings as `issues`), a request
 * object is invalid, a file cannot be read, or there is nothing to test.
 */
export async function testRules(
  document: unknown,
  requests: RequestsInput,
  options: TestRulesOptions = {},
): Promise<TestRulesResult> {
  const opts = parseOptions(TestOptionsSchema, options, 'testRules');
  let report: ReturnType<typeof validateRuleDocument>;
  try {
    report = validateRuleDocument(document, { source: opts.documentName ?? 'document' });
  } catch (e) {
    throw asInputError(e, 'invalid-document');
  }
  // A document AWS would refuse (capacity, SearchString encoding) is not tested: `validate` calls
  // it invalid too.
  const refused = awsRefusals(report);
  if (!report.document || refused.length > 0) {
    const errors = report.document ? refused : report.findings.filter((f) => f.severity === 'error');
    const first = errors[0];
    throw new WafgenInputError(
      'invalid-document',
      `not a valid rule document (${errors.length} error${errors.length === 1 ? '' : 's'}, first: ${first?.path} ${first?.message})`,
      { issues: errors.map((f) => ({ path: `document${f.path.slice(1)}`, message: f.message })) },
    );
  }
  const loaded = await loadRequests(requests, 'requests', {
    ...(opts.format ? { format: opts.format } : {}),
    ...(opts.maxInputBytes ? { maxBytes: opts.maxInputBytes } : {}),
  });
  if (loaded.requests.length === 0) {
    const [first] = loaded.parseErrors;
    throw new WafgenInputError(
      'invalid-request',
      `no requests to test${first ? ` (${loaded.parseErrors.length} unreadable ${loaded.parseErrors.length === 1 ? 'entry' : 'entries'}, first: ${first.file}:${first.line}: ${first.message})` : ''}`,
      {
        issues: loaded.parseErrors.length
          ? loaded.parseErrors.map((e) => ({ path: `${e.file}:${e.line}`, message: e.message }))
          : [{ path: 'requests', message: 'no requests' }],
      },
    );
  }
  const all = opts.variants
    ? loaded.requests.flatMap((r) => (r.expect === 'block' ? [r, ...deriveVariants(r)] : [r]))
    : loaded.requests;
  if (opts.maxEvaluations !== undefined && all.length > opts.maxEvaluations)
    throw new WafgenInputError(
      'invalid-request',
      `too many evaluations (${all.length}; at most ${opts.maxEvaluations})`,
      { issues: [{ path: 'requests', message: 'send fewer requests, or test variants in several calls' }] },
    );
  let outcome: ReturnType<typeof testRequests>;
  try {
    outcome = testRequests(report.document, all, {
      ...(opts.resource ? { resource: opts.resource } : {}),
      // Always traced: the trace names the deciding statement (`terminatingStatement`), at little cost.
      trace: true,
      ...(opts.ipSets ? { ipSets: opts.ipSets } : {}),
      ...(opts.regexPatternSets ? { regexPatternSets: opts.regexPatternSets } : {}),
    });
  } catch (e) {
    if (e instanceof RuleCompileError)
      throw new WafgenInputError('invalid-document', e.message, {
        issues: [{ path: 'document', message: e.message }],
        cause: e,
      });
    throw e;
  }
  const results = outcome.results.map(({ decision, ...r }) => ({
    ...r,
    ...(opts.explain ? { rules: decision.rules, labels: decision.labels } : {}),
  }));
  return {
    results,
    summary: outcome.summary,
    missed: results.filter((r) => r.mismatch && r.expect === 'block').map((r) => r.id),
    falsePositives: results.filter((r) => r.mismatch && r.expect === 'allow').map((r) => r.id),
    parseErrors: loaded.parseErrors,
  };
}

// --- generateRule ----------------------------------------------------------------------------------

export interface GenerateRuleOptions {
  /** Exploit requests the rule must block (objects or files); added to what wafgen bundles for the CVE. */
  exploits?: RequestsInput;
  /** Ordinary traffic the rule must let through (default: the built-in benign sample). */
  benign?: RequestsInput;
  /**
   * Leave-one-out: use nothing wafgen bundles about this CVE (the bundled record's exploit facts and
   * its bundled exploit requests), as if it had never seen it. The record's public fields stay.
   */
  withholdBundled?: boolean;
  /** `builtin` (default, offline) or `llm` (the configured provider chain, the built-in engine as fallback). */
  engine?: 'builtin' | 'llm';
  /** The LLM provider chain, as `wafgen generate --provider`: e.g. `openai,anthropic` or an array. */
  providers?: string | string[];
  /** Attempts with feedback, 1 to 10 (default 3). */
  maxAttempts?: number;
  /** Progress, one line per step. */
  onStep?: (message: string) => void;
  /** Stops the generation at its next step (an LLM call in flight is not interrupted, its answer is dropped). */
  signal?: AbortSignal;
}

export interface GenerateRuleResult {
  /** The best rule found: it passed its checks when `report.passed`. */
  rule: Rule;
  /** How it was made and checked: tests, WCU, warnings, reasons it failed, evidence used. */
  report: GenerationReport;
}

const GenerateOptionsSchema = z
  .object({
    exploits: z.unknown().optional(),
    benign: z.unknown().optional(),
    withholdBundled: z.boolean().optional(),
    engine: z.enum(['builtin', 'llm']).optional(),
    providers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    maxAttempts: z.number().int().min(1).max(10).optional(),
    onStep: z
      .custom<(message: string) => void>((v) => typeof v === 'function', 'expected a function')
      .optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'expected an AbortSignal').optional(),
  })
  .strict();

function recordFor(cve: string | VulnRecordInput): z.output<typeof VulnRecordSchema> {
  if (typeof cve === 'string') {
    const id = CveIdSchema.safeParse(cve);
    if (!id.success)
      throw new WafgenInputError(
        'invalid-cve',
        `${JSON.stringify(cve)} is not a CVE ID (expected CVE-YYYY-NNNN)`,
        {
          issues: [{ path: 'cve', message: 'must look like CVE-2021-44228' }],
        },
      );
    const bundled = findBundled(id.data);
    if (!bundled)
      throw new WafgenInputError(
        'invalid-cve',
        `${id.data} is not in wafgen's bundled dataset; pass its vulnerability record ({ id, description, ... }) instead`,
        { issues: [{ path: 'cve', message: 'not bundled' }] },
      );
    return bundled;
  }
  if (!isObject(cve))
    throw new WafgenInputError('invalid-record', 'expected a CVE ID or a vulnerability record object', {
      issues: [{ path: 'cve', message: 'expected a string or an object' }],
    });
  const parsed = VulnRecordSchema.safeParse({ source: 'api', fetchedAt: new Date().toISOString(), ...cve });
  if (!parsed.success)
    throw new WafgenInputError(
      'invalid-record',
      `invalid vulnerability record: ${zodMessage(parsed.error)}`,
      {
        issues: parsed.error.issues.map((i) => ({
          path: ['record', ...i.path.map(String)].join('.'),
          message: i.message,
        })),
      },
    );
  return parsed.data;
}

// Loaded on the first generation, once: a dynamic import() of a loaded module still resolves it
// again (2.3 ms a call under tsx's loader, measured by bench:generate), which a caller generating
// many rules in one process would pay every time.
const loadGenerationModules = () => Promise.all([import('./generate.js'), import('./root.js')]);
let useCase: ReturnType<typeof loadGenerationModules> | undefined;
const generationModules = () => (useCase ??= loadGenerationModules());

/**
 * Generate an AWS WAFv2 rule for a CVE and check it: schema and API constraints, lint, WCU budget,
 * the exploit requests and their evasion variants, and benign traffic; failures go back to the
 * engine for another attempt. `cve` is a CVE ID from wafgen's bundled dataset, or a record.
 * Offline and store-less with the default engine: nothing is saved, nothing is fetched.
 */
export async function generateRule(
  cve: string | VulnRecordInput,
  options: GenerateRuleOptions = {},
): Promise<GenerateRuleResult> {
  const opts = parseOptions(GenerateOptionsSchema, options, 'generateRule');
  const record = recordFor(cve);
  // Files go to the use case as files, read there as `wafgen generate --evidence/--benign` reads them.
  const exploits =
    opts.exploits === undefined
      ? undefined
      : await loadRequests(opts.exploits as RequestsInput, 'exploits', { readFiles: false });
  const benign =
    opts.benign === undefined
      ? undefined
      : await loadRequests(opts.benign as RequestsInput, 'benign', { readFiles: false });
  const { signal } = opts;
  signal?.throwIfAborted();
  const [{ generateRule: generate }, { openGenerationParts }] = await generationModules();
  let config: Config;
  let parts: GenerationParts;
  try {
    config = loadConfig(process.env);
    const providers = Array.isArray(opts.providers) ? opts.providers.join(',') : opts.providers;
    parts = await openGenerationParts(config, {
      engineMode: opts.engine ?? 'builtin',
      ...(providers ? { providers } : {}),
      store: false,
      audit: false,
    });
  } catch (e) {
    throw asInputError(e, 'invalid-options');
  }
  try {
    const onStep = opts.onStep;
    // The loop reports each step outside its engine calls: a step is where a cancel takes effect.
    const step =
      signal || onStep
        ? (message: string) => {
            signal?.throwIfAborted();
            onStep?.(message);
          }
        : undefined;
    const { rule, report } = await generate(
      {
        cveId: record.id,
        record,
        ...(exploits ? { evidenceFiles: exploits.files, exploits: exploits.requests } : {}),
        ...(benign ? { benignFiles: benign.files, benign: benign.requests } : {}),
        ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
        maxInputBytes: config.WAFGEN_MAX_INPUT_BYTES,
        save: false,
        fetch: false,
        withholdBundled: opts.withholdBundled === true,
      },
      {
        engine: parts.deps.engine,
        ...(parts.deps.fallback ? { fallback: parts.deps.fallback } : {}),
        ...(step ? { onStep: step } : {}),
      },
    );
    return { rule, report };
  } catch (e) {
    // What the use case still finds wrong is in the requests' files (every entry of one unreadable).
    throw asInputError(e, 'invalid-request');
  } finally {
    await parts.close();
  }
}
