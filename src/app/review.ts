/**
 * @module What the review console shows, read from the store and worked out with the same code
 * as the CLI: the rules list (proof summary, WCU, deployment state), a rule page (lint findings,
 * the test matrix with the evaluator's trace, diffs against the previous and the deployed version,
 * candidates and judge verdict), and the jobs overview. Read-only: the console's changes go through
 * the deployments use case (deployments.ts).
 */
import type { Deployment } from './deployments.js';
import type { JobQueue } from '../queue/index.js';
import type { Store } from '../store/index.js';
import { bundledExploits } from '../vulns/bundled.js';
import type { Severity } from '../vulns/severity.js';

/** draft: in no target; count/block: its action in the targets wafgen deployed it to (block wins). */
export type RuleState = 'draft' | 'count' | 'block';

interface Tally {
  blocked: number;
  total: number;
}

export interface RuleRow {
  cveId: string;
  title?: string;
  severity?: string;
  kev: boolean;
  engine: string;
  version: number;
  state: RuleState;
  verdict: string;
  confidence: string;
  exploits: Tally;
  variants: Tally;
  benign: Tally;
  wcu: number;
  createdAt: string;
}

export interface RuleFilter {
  /** Substring of the CVE id, title, description, vendor or product. */
  search?: string;
  severity?: Severity;
  state?: RuleState;
  engine?: string;
}

/** Most CVE records the list reads (the store's newest first). */
const MAX_LISTED = 500;
/** Most evaluations one rule page runs (exploit requests plus their variants). */
const MAX_MATRIX_EVALUATIONS = 2000;

interface ReportLike {
  verdict?: string;
  confidence?: string;
  wcu?: number;
  summary?: string;
  tests?: {
    evidence?: Partial<Tally>;
    variants?: Partial<Tally>;
    benign?: Partial<Tally> & { falsePositives?: { id?: string; [k: string]: unknown }[] };
  };
  warnings?: { code?: string; severity?: string; path?: string; message?: string }[];
  candidates?: Record<string, unknown>[];
  judge?: Record<string, unknown>;
  notTestedAgainst?: string[];
}

const tally = (t: Partial<Tally> | undefined): Tally => ({ blocked: t?.blocked ?? 0, total: t?.total ?? 0 });

/** The state of a CVE's rule across the targets wafgen deployed it to. */
function stateOf(
  cveId: string,
  deployments: readonly Deployment[],
): { state: RuleState; deployed?: Deployment } {
  let best: Deployment | undefined;
  for (const d of deployments) {
    if (d.cveId !== cveId || d.removed) continue;
    if (!best || (d.action === 'Block' && best.action !== 'Block')) best = d;
  }
  if (!best) return { state: 'draft' };
  return { state: best.action === 'Block' ? 'block' : 'count', deployed: best };
}

/** The latest rule of every CVE the store has a record for, filtered; newest CVE first. */
export async function listRuleRows(
  store: Store,
  deployments: readonly Deployment[],
  filter: RuleFilter = {},
): Promise<RuleRow[]> {
  const records = await store.vulns.list({
    ...(filter.search ? { search: filter.search } : {}),
    ...(filter.severity ? { severity: filter.severity } : {}),
    limit: MAX_LISTED,
  });
  const latest = await Promise.all(records.map((r) => store.rules.latest(r.id)));
  const rows: RuleRow[] = [];
  records.forEach((record, i) => {
    const stored = latest[i];
    if (!stored) return;
    const report = (stored.report ?? {}) as ReportLike;
    const { state } = stateOf(record.id, deployments);
    const row: RuleRow = {
      cveId: record.id,
      ...(record.title ? { title: record.title } : {}),
      ...(record.severity ? { severity: record.severity } : {}),
      kev: Boolean(record.kev),
      engine: stored.engine,
      version: stored.version,
      state,
      verdict: report.verdict ?? 'unknown',
      confidence: report.confidence ?? 'unknown',
      exploits: tally(report.tests?.evidence),
      variants: tally(report.tests?.variants),
      benign: tally(report.tests?.benign),
      wcu: report.wcu ?? 0,
      createdAt: stored.createdAt,
    };
    if (filter.state && row.state !== filter.state) return;
    if (filter.engine && !row.engine.startsWith(filter.engine)) return;
    rows.push(row);
  });
  return rows;
}

/** One exploit request or evasion variant, as the evaluator judged it. */
interface MatrixRow {
  id: string;
  variantOf?: string;
  technique?: string;
  blocked: boolean;
  action: string;
  /** Each statement of the rule as judged: where it looked, after which transforms, what it saw. */
  trace: {
    path: string;
    statement: string;
    verdict: string;
    where?: string;
    transformations?: string[];
    value?: string;
    reason?: string;
  }[];
}

export interface RulePage {
  cveId: string;
  title?: string;
  severity?: string;
  version: number;
  versions: number[];
  engine: string;
  createdAt: string;
  rule: unknown;
  report: ReportLike & Record<string, unknown>;
  state: RuleState;
  deployed?: Deployment;
  findings: { code: string; severity: string; path: string; message: string }[];
  matrix: MatrixRow[];
  /** Why the matrix could not be run, when it could not. */
  matrixError?: string;
  diffs: { against: string; lines: string[] | null }[];
}

const pretty = (rule: unknown): string[] => JSON.stringify(rule, null, 2).split('\n');

/** Everything the rule page shows, or undefined when the CVE has no such rule. */
export async function rulePage(
  store: Store,
  deployments: readonly Deployment[],
  cveId: string,
  version?: number,
): Promise<RulePage | undefined> {
  const id = cveId.toUpperCase();
  const versions = await store.rules.versions(id);
  const stored = version === undefined ? versions.at(-1) : versions.find((v) => v.version === version);
  if (!stored) return undefined;
  const [{ testRules, validateRules }, { lineDiff }, record, evidence, bundled] = await Promise.all([
    import('./library.js'),
    import('../deploy/format.js'),
    store.vulns.get(id),
    store.evidence.forCve(id, { kind: 'request' }),
    bundledExploits(id),
  ]);
  const { state, deployed } = stateOf(id, deployments);
  let validation: ReturnType<typeof validateRules> | undefined;
  try {
    validation = validateRules(stored.rule);
  } catch {
    // a stored rule that no longer reads: the page says so through the matrix's error
  }
  const findings = (validation?.findings ?? []).map((f) => ({
    code: f.code,
    severity: f.severity,
    path: f.path,
    message: f.message,
  }));
  let matrix: MatrixRow[] = [];
  let matrixError: string | undefined;
  // The exploit requests generation tested it against: the bundled ones and the stored evidence.
  const requests = [...bundled, ...evidence.flatMap((e) => (e.request ? [e.request] : []))].map((r) => ({
    ...r,
    expect: 'block' as const,
  }));
  if (requests.length > 0) {
    try {
      const tested = await testRules(stored.rule, requests, {
        variants: true,
        explain: true,
        maxEvaluations: MAX_MATRIX_EVALUATIONS,
      });
      matrix = tested.results.map((r) => ({
        id: r.id,
        ...(r.variantOf ? { variantOf: r.variantOf } : {}),
        ...(r.technique ? { technique: r.technique } : {}),
        blocked: r.matched,
        action: r.action,
        trace: (r.rules ?? []).flatMap((o) =>
          o.trace.map((t) => ({
            path: t.path,
            statement: t.statement,
            verdict: t.verdict === true ? 'matched' : t.verdict === false ? 'no match' : String(t.verdict),
            ...(t.where ? { where: t.where } : {}),
            ...(t.transformations ? { transformations: t.transformations } : {}),
            ...(t.value !== undefined ? { value: t.value } : {}),
            ...(t.reason ? { reason: t.reason } : {}),
          })),
        ),
      }));
    } catch (e) {
      matrixError = e instanceof Error ? e.message : String(e);
    }
  }
  const diffs: RulePage['diffs'] = [];
  const previous = [...versions].reverse().find((v) => v.version < stored.version);
  if (previous)
    diffs.push({
      against: `version ${previous.version} (previous)`,
      lines: lineDiff(pretty(previous.rule), pretty(stored.rule)),
    });
  if (deployed?.version !== undefined && deployed.version !== stored.version) {
    const live = versions.find((v) => v.version === deployed.version);
    if (live)
      diffs.push({
        against: `version ${live.version} (deployed in ${deployed.target.name}, ${deployed.action ?? '?'})`,
        lines: lineDiff(pretty(live.rule), pretty(stored.rule)),
      });
  }
  return {
    cveId: id,
    ...(record?.title ? { title: record.title } : {}),
    ...(record?.severity ? { severity: record.severity } : {}),
    version: stored.version,
    versions: versions.map((v) => v.version),
    engine: stored.engine,
    createdAt: stored.createdAt,
    rule: stored.rule,
    report: (stored.report ?? {}) as RulePage['report'],
    state,
    ...(deployed ? { deployed } : {}),
    findings,
    matrix,
    ...(matrixError ? { matrixError } : {}),
    diffs,
  };
}

export interface JobsOverview {
  queue: { kind: string; up: boolean; counts?: Record<string, number> };
  /** Jobs by status, over the newest ones read. */
  byStatus: Record<string, number>;
  /** Progress per source (a batch, the API, a webhook): done of all. */
  batches: { source: string; done: number; failed: number; total: number }[];
  jobs: { id: string; cveId?: string; status: string; attempts: number; error?: string; updatedAt: string }[];
}

/** The queue's state and the newest jobs (at most 200). */
export async function jobsOverview(store: Store, queue: JobQueue): Promise<JobsOverview> {
  const [jobs, counts] = await Promise.all([
    store.jobs.list({ limit: 200 }),
    queue.counts().then(
      (c) => c as Record<string, number>,
      () => undefined,
    ),
  ]);
  const byStatus: Record<string, number> = {};
  const batches = new Map<string, { source: string; done: number; failed: number; total: number }>();
  for (const j of jobs) {
    byStatus[j.status] = (byStatus[j.status] ?? 0) + 1;
    const source = String((j.payload as { source?: unknown } | undefined)?.source ?? j.kind);
    const b = batches.get(source) ?? { source, done: 0, failed: 0, total: 0 };
    b.total++;
    if (j.status === 'succeeded') b.done++;
    if (j.status === 'failed' || j.status === 'dead') b.failed++;
    batches.set(source, b);
  }
  return {
    queue: { kind: queue.kind, up: counts !== undefined, ...(counts ? { counts } : {}) },
    byStatus,
    batches: [...batches.values()],
    jobs: jobs.map((j) => ({
      id: j.id,
      ...(j.cveId ? { cveId: j.cveId } : {}),
      status: j.status,
      attempts: j.attempts,
      ...(j.error ? { error: j.error } : {}),
      updatedAt: j.updatedAt,
    })),
  };
}
