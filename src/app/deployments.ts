/**
 * @module Deployments into AWS WAF as a use case, shared by `wafgen deploy` and the API's
 * /v1/deployments routes (and the review console's buttons, which call those routes): plan (dry
 * run), apply in Count mode, promote Count → Block, roll back. Every step, and every step that
 * fails, writes one audit event (src/audit, type `deployment`); what was changed is also kept in the
 * store's deployment records (src/deploy/history.ts), which the soak check and rollback read.
 *
 * A deployment is one wafgen rule in one web ACL or rule group. Its id is the store id of the record
 * that first put the rule there (or of any later record of the same rule in the same target), so
 * the API can promote and roll back only what wafgen deployed.
 */
import { randomUUID } from 'node:crypto';

import { deploymentEvent } from '../audit/event.js';
import type { AuditLog } from '../audit/index.js';
import { InputError } from '../core/errors.js';
import type { DeployResult, DeployTarget, SampleCount } from '../deploy/index.js';
import type { ClientOptions } from '../deploy/client.js';
import type { DeploymentEvent } from '../deploy/history.js';
import type { Store } from '../store/index.js';
import type { Rule } from '../waf/model/shapes.generated.js';

/** Who acts and under which request, for the audit trail. */
export interface DeployContext {
  principal: string;
  requestId?: string;
}

export interface DeployInput {
  target: DeployTarget;
  /** The CVE whose latest stored rule to deploy (or whose rule `rule` is). */
  cveId?: string;
  /** A rule to deploy instead of the stored one (the CLI's --rule FILE). */
  rule?: Rule;
  priority?: number;
  createCapacity?: number;
  /** Plan only: read the target, check capacity, send nothing. */
  dryRun?: boolean;
}

export interface StepInput {
  target: DeployTarget;
  ruleName?: string;
  cveId?: string;
  dryRun?: boolean;
}

/** One wafgen rule in one target, as the deployment records say it is now. */
export interface Deployment {
  id: string;
  cveId?: string;
  ruleName: string;
  target: {
    kind: 'web-acl' | 'rule-group';
    name: string;
    arn: string;
    scope: 'REGIONAL' | 'CLOUDFRONT';
    region?: string;
  };
  /** The store version deployed (absent for a rule file, or once removed). */
  version?: number;
  /** `Count` or `Block`; absent when the rule was removed. */
  action?: string;
  removed: boolean;
  /** The last step: deploy, promote or rollback, when and by whom. */
  operation: string;
  at: string;
  principal?: string;
  /** When the rule last went into Count (the soak period starts there). */
  countSince?: string;
}

export interface DeploymentsOptions extends ClientOptions {
  /** Where every step's audit event goes (none: no audit events, only the store's records). */
  audit?: AuditLog;
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  now?: () => Date;
}

/** Sampled matches of a rule in Count (deploy/soak.ts), or why they could not be read. */
export type SoakStatus = SampleCount | { error: string };

/** A step's result as JSON: no SDK objects (SearchStrings are bytes there), the plan as text. */
export interface DeploymentView extends Pick<
  DeployResult,
  | 'operation'
  | 'outcome'
  | 'target'
  | 'ruleName'
  | 'cveId'
  | 'version'
  | 'action'
  | 'priority'
  | 'removed'
  | 'attempts'
  | 'changes'
  | 'capacity'
  | 'soak'
> {
  notes: string[];
  /** One line: what is where now (as the CLI prints it). */
  summary: string;
  /** The plan or change as the CLI prints it: rules added, changed (with a line diff), removed, capacity. */
  plan: string;
}

/** A deployment with the ids of all its records (any of them names it). */
interface Tracked extends Deployment {
  recordIds: number[];
}

/** Most deployment records read when listing (newest first). */
const MAX_RECORDS = 1000;
const ID = /^\d{1,18}$/;

type Mode = 'count' | 'block' | 'removed';

export class DeploymentNotFoundError extends Error {
  override name = 'DeploymentNotFoundError';
}

export class Deployments {
  constructor(
    private readonly store: Store,
    private readonly options: DeploymentsOptions = {},
  ) {}

  private async deployModule() {
    return Promise.all([import('../deploy/index.js'), import('../waf/naming.js')]);
  }

  private deployOptions(ctx: DeployContext, dryRun: boolean | undefined) {
    return import('../deploy/index.js').then(({ auditHistory }) => ({
      history: auditHistory(this.store.audit, ctx.principal),
      principal: ctx.principal,
      ...(this.options.client ? { client: this.options.client } : {}),
      ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
      ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
      ...(this.options.retry ? { retry: this.options.retry } : {}),
      ...(this.options.now ? { now: this.options.now } : {}),
      ...(dryRun ? { dryRun: true } : {}),
    }));
  }

  /** Emits the step's audit event (success or failure); an event that cannot be written is logged by the caller's sink, never fatal to a change already made. */
  private async audit(
    ctx: DeployContext,
    step: {
      action: 'deploy' | 'promote' | 'rollback';
      cveId?: string;
      ruleName: string;
      target: string;
      scope: 'REGIONAL' | 'CLOUDFRONT';
      mode: Mode;
      dryRun: boolean;
      version?: number;
    },
    error?: unknown,
  ): Promise<void> {
    const log = this.options.audit;
    if (!log || !step.cveId) return;
    await log.emit(
      deploymentEvent({
        requestId: ctx.requestId ?? randomUUID(),
        cveId: step.cveId,
        principal: ctx.principal,
        ruleName: step.ruleName,
        ...(step.version !== undefined && step.version > 0 ? { ruleVersion: step.version } : {}),
        deployment: {
          action: step.action,
          target: step.target,
          scope: step.scope,
          mode: step.mode,
          dryRun: step.dryRun,
          ok: error === undefined,
          ...(error !== undefined ? { error } : {}),
        },
      }),
    );
  }

  /** Runs one step with its audit event, whether it succeeds or fails. */
  private async step(
    ctx: DeployContext,
    action: 'deploy' | 'promote' | 'rollback',
    known: { cveId?: string; ruleName: string; target: DeployTarget; dryRun: boolean; mode: Mode },
    run: () => Promise<DeployResult>,
  ): Promise<DeployResult> {
    let result: DeployResult;
    try {
      result = await run();
    } catch (e) {
      await this.audit(
        ctx,
        {
          action,
          ...(known.cveId ? { cveId: known.cveId } : {}),
          ruleName: known.ruleName,
          target: known.target.nameOrArn,
          scope: known.target.scope ?? 'REGIONAL',
          mode: known.mode,
          dryRun: known.dryRun,
        },
        e,
      ).catch(() => {});
      throw e;
    }
    await this.audit(ctx, {
      action,
      ...(known.cveId ? { cveId: known.cveId } : {}),
      ruleName: result.ruleName,
      target: result.target.arn || result.target.name,
      scope: result.target.scope,
      mode: result.removed ? 'removed' : result.action === 'Block' ? 'block' : 'count',
      dryRun: result.outcome === 'dry-run',
      ...(result.version !== undefined ? { version: result.version } : {}),
    });
    return result;
  }

  /** Plan (dryRun) or apply: the CVE's latest stored rule (or `input.rule`) into the target in Count mode. */
  async deploy(input: DeployInput, ctx: DeployContext): Promise<DeployResult> {
    const [{ deployRule }, { ruleName }] = await this.deployModule();
    const cveId = input.cveId?.toUpperCase();
    const latest = cveId && !input.rule ? await this.store.rules.latest(cveId) : undefined;
    const rule = input.rule ?? (latest?.rule as Rule | undefined);
    const name = rule?.Name ?? (cveId ? ruleName(cveId) : 'rule');
    const dryRun = input.dryRun === true;
    return this.step(
      ctx,
      'deploy',
      { ...(cveId ? { cveId } : {}), ruleName: name, target: input.target, dryRun, mode: 'count' },
      async () => {
        if (!rule)
          throw new InputError(
            `no rule for ${cveId} in the store; run \`wafgen generate ${cveId}\` first, or pass --rule FILE`,
          );
        return deployRule(
          input.target,
          {
            rule,
            ...(cveId ? { cveId } : {}),
            ...(latest ? { version: latest.version } : {}),
            ...(input.priority !== undefined ? { priority: input.priority } : {}),
            ...(input.createCapacity !== undefined ? { createCapacity: input.createCapacity } : {}),
          },
          await this.deployOptions(ctx, dryRun),
        );
      },
    );
  }

  /** Count → Block, after a soak period with no sampled match when `soakMinutes` is given. */
  async promote(input: StepInput & { soakMinutes?: number }, ctx: DeployContext): Promise<DeployResult> {
    const [{ promoteRule }, { ruleName }] = await this.deployModule();
    const cveId = input.cveId?.toUpperCase();
    const name = input.ruleName ?? ruleName(cveId!);
    const dryRun = input.dryRun === true;
    return this.step(
      ctx,
      'promote',
      { ...(cveId ? { cveId } : {}), ruleName: name, target: input.target, dryRun, mode: 'block' },
      async () =>
        promoteRule(
          input.target,
          {
            ruleName: name,
            ...(cveId ? { cveId } : {}),
            ...(input.soakMinutes !== undefined ? { soakMinutes: input.soakMinutes } : {}),
          },
          await this.deployOptions(ctx, dryRun),
        ),
    );
  }

  /** Back one stored version (its action as it was here), or the rule removed when there is none. */
  async rollback(input: StepInput, ctx: DeployContext): Promise<DeployResult> {
    const [{ rollbackRule }, { ruleName }] = await this.deployModule();
    const cveId = input.cveId?.toUpperCase();
    const name = input.ruleName ?? ruleName(cveId!);
    const dryRun = input.dryRun === true;
    return this.step(
      ctx,
      'rollback',
      { ...(cveId ? { cveId } : {}), ruleName: name, target: input.target, dryRun, mode: 'count' },
      async () => {
        const versions = cveId ? await this.store.rules.versions(cveId) : [];
        return rollbackRule(
          input.target,
          {
            ruleName: name,
            ...(cveId ? { cveId } : {}),
            versions: versions.map((v) => ({ version: v.version, rule: v.rule })),
          },
          await this.deployOptions(ctx, dryRun),
        );
      },
    );
  }

  /** The JSON view of a step's result. */
  async present(result: DeployResult): Promise<DeploymentView> {
    const { formatDeployResult, summarizeDeployResult } = await import('../deploy/format.js');
    const { before: _b, after: _a, lockToken: _l, ...rest } = result;
    return { ...rest, summary: summarizeDeployResult(result), plan: formatDeployResult(result) };
  }

  /**
   * The soak status of a rule in Count in a web ACL: how many of AWS's sampled requests it matched
   * since it went into Count (what it would have blocked); undefined for other deployments, and
   * the error's message when AWS could not be asked.
   */
  async soakStatus(d: Deployment): Promise<SoakStatus | undefined> {
    if (d.removed || d.action !== 'Count' || d.target.kind !== 'web-acl' || !d.countSince) return undefined;
    const { countSampledMatches } = await import('../deploy/index.js');
    try {
      return await countSampledMatches(Deployments.targetOf(d), d.ruleName, new Date(d.countSince), {
        ...(this.options.client ? { client: this.options.client } : {}),
        ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
        ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
        ...(this.options.now ? { now: this.options.now() } : {}),
      });
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }

  /** Every deployment the records know, the most recently changed first. */
  async list(filter: { cveId?: string } = {}): Promise<Deployment[]> {
    return (await this.all(filter)).map(({ recordIds: _r, ...d }) => d);
  }

  private async all(filter: { cveId?: string } = {}): Promise<Tracked[]> {
    const events = await this.store.audit.list({
      type: 'deploy',
      ...(filter.cveId ? { cveId: filter.cveId.toUpperCase() } : {}),
      limit: MAX_RECORDS,
    });
    const groups = new Map<string, { id: number; at: string; principal?: string; data: DeploymentEvent }[]>();
    for (const e of events) {
      const data = { ...(e.data as DeploymentEvent), at: e.at };
      if (typeof data.target !== 'string' || typeof data.ruleName !== 'string') continue;
      const key = `${data.target}\n${data.ruleName}`;
      const list = groups.get(key) ?? [];
      list.push({ id: e.id, at: e.at, ...(e.principal ? { principal: e.principal } : {}), data });
      groups.set(key, list);
    }
    return [...groups.values()].map((records) => deploymentOf(records));
  }

  /** The deployment a record id names (see the module comment), or undefined. */
  async get(id: string): Promise<Deployment | undefined> {
    const found = await this.find(id);
    if (!found) return undefined;
    const { recordIds: _r, ...d } = found;
    return d;
  }

  private async find(id: string): Promise<Tracked | undefined> {
    if (!ID.test(id)) return undefined;
    const n = Number(id);
    return (await this.all()).find((d) => d.recordIds.includes(n));
  }

  /** The target of a deployment, as deploy/promote/rollback take it. */
  static targetOf(d: Deployment): DeployTarget {
    return {
      kind: d.target.kind,
      nameOrArn: d.target.arn,
      scope: d.target.scope,
      ...(d.target.region ? { region: d.target.region } : {}),
    };
  }

  /** Promote the deployment `id` names. */
  async promoteById(id: string, opts: { soakMinutes?: number }, ctx: DeployContext): Promise<DeployResult> {
    const d = await this.require(id);
    return this.promote(
      {
        target: Deployments.targetOf(d),
        ruleName: d.ruleName,
        ...(d.cveId ? { cveId: d.cveId } : {}),
        ...(opts.soakMinutes !== undefined ? { soakMinutes: opts.soakMinutes } : {}),
      },
      ctx,
    );
  }

  /** Roll back the deployment `id` names. */
  async rollbackById(id: string, ctx: DeployContext): Promise<DeployResult> {
    const d = await this.require(id);
    return this.rollback(
      { target: Deployments.targetOf(d), ruleName: d.ruleName, ...(d.cveId ? { cveId: d.cveId } : {}) },
      ctx,
    );
  }

  private async require(id: string): Promise<Tracked> {
    const d = await this.find(id);
    if (!d) throw new DeploymentNotFoundError(`no deployment ${id}`);
    if (d.removed)
      throw new InputError(
        `deployment ${id}: ${d.ruleName} was removed from ${d.target.name}; deploy it again`,
      );
    return d;
  }
}

/** A deployment from its records, newest first. */
function deploymentOf(
  records: { id: number; at: string; principal?: string; data: DeploymentEvent }[],
): Tracked {
  const latest = records[0]!;
  const d = latest.data;
  // The id: the oldest deploy record of the current stretch (since the rule last went in).
  let first = latest;
  for (const r of records) {
    if (r.data.removed && r !== latest) break;
    first = r;
  }
  let countSince: string | undefined;
  for (const r of records) {
    if (r.data.action !== 'Count') break;
    countSince = r.at;
  }
  return {
    id: String(first.id),
    recordIds: records.map((r) => r.id),
    ...(d.cveId ? { cveId: d.cveId } : {}),
    ruleName: d.ruleName,
    target: {
      kind: d.targetKind,
      name: d.targetName,
      arn: d.target,
      scope: d.scope,
      ...(d.region ? { region: d.region } : {}),
    },
    ...(d.version !== undefined ? { version: d.version } : {}),
    ...(d.action !== undefined ? { action: d.action } : {}),
    removed: d.removed === true,
    operation: d.operation,
    at: latest.at,
    ...(latest.principal ? { principal: latest.principal } : {}),
    ...(countSince && !d.removed ? { countSince } : {}),
  };
}
