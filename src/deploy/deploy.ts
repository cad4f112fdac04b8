// Deploy, promote and roll back one wafgen rule in a web ACL or rule group.
//
// Every change follows AWS's optimistic-locking cycle: Get the target (and its LockToken), plan the
// new rule list from what was read, check capacity (the rule's local WCU first, then CheckCapacity on
// the whole new list against the target's limit), then Update with the LockToken. When someone else
// changed the target in between, AWS answers WAFOptimisticLockException; the cycle starts again from
// a fresh Get (so their change is kept), a bounded number of times with exponential backoff.
import { CheckCapacityCommand, type Rule as SdkRule, type WAFV2Client } from '@aws-sdk/client-wafv2';

import { InputError } from '../core/errors.js';
import { ruleCapacity, MAX_WCU } from '../waf/capacity.js';
import type { Rule } from '../waf/model/shapes.generated.js';
import { findingsFromZod, RuleSchema } from '../waf/schema.js';
import {
  createClient,
  kindWord,
  resolveTarget,
  type ClientOptions,
  type DeployTarget,
  type ResolvedTarget,
  type Scope,
  type TargetKind,
} from './client.js';
import { canonical, toSdkRule } from './convert.js';
import { describeAwsError, DeployError } from './errors.js';
import type { DeploymentHistory, DeployOperation } from './history.js';
import { actionName, diffRules, placeRule, type RuleChange } from './plan.js';
import { checkSoak, MAX_SOAK_MINUTES, type SoakReport } from './soak.js';
import {
  createRuleGroup,
  describeTarget,
  findTarget,
  loadTarget,
  saveRules,
  type LoadedTarget,
} from './target.js';

interface RetryOptions {
  /** Attempts in all (default 5). */
  attempts?: number;
  /** First backoff delay (default 200 ms); doubles each time, with jitter. */
  baseDelayMs?: number;
  /** Longest backoff delay (default 5 s). */
  maxDelayMs?: number;
}

export interface DeployOptions extends ClientOptions {
  /** Plan and print, never Update. */
  dryRun?: boolean;
  /** Where deployments are recorded (needed by --soak and by rollback's choice of action). */
  history?: DeploymentHistory;
  /** Who acts, for the deployment records (default `cli`). */
  principal?: string;
  retry?: RetryOptions;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

interface CapacityReport {
  /** The rule's own WCU by wafgen's count (an upper bound; AWS may charge less). */
  rule?: number;
  /** WCU of the target's rules before and after, by CheckCapacity (web ACL: GetWebACL's figure). */
  before: number | undefined;
  after: number | undefined;
  /** 5,000 for a web ACL; the declared capacity of a rule group. */
  limit: number;
}

export interface DeployResult {
  operation: DeployOperation;
  /** `unchanged`: the target already was as asked; `dry-run`: planned, not sent. */
  outcome: 'updated' | 'unchanged' | 'dry-run';
  target: { kind: TargetKind; name: string; id: string; arn: string; scope: Scope; region?: string };
  ruleName: string;
  cveId?: string;
  /** The store version the rule is (or would be) at, when known. */
  version?: number;
  /** The rule's action afterwards (`Count`, `Block`); absent when removed. */
  action?: string;
  priority?: number;
  removed?: boolean;
  /** Get/Update cycles used (more than 1 after lock-token conflicts). */
  attempts: number;
  changes: RuleChange[];
  /** The target's rules before and after, as sent (for a full diff). */
  before: SdkRule[];
  after: SdkRule[];
  capacity: CapacityReport;
  /** The LockToken after the update. */
  lockToken?: string;
  soak?: SoakReport;
  notes: string[];
}

// ---------------------------------------------------------------------------------------------

interface Planned {
  rules: SdkRule[];
  ruleName: string;
  version?: number;
  action?: string;
  priority?: number;
  removed?: boolean;
  ruleWcu?: number;
  soak?: SoakReport;
  notes?: string[];
}

interface Session {
  client: WAFV2Client;
  resolved: ResolvedTarget;
  id: string;
  options: DeployOptions;
  what: string;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function backoff(attempt: number, retry: RetryOptions): number {
  const base = retry.baseDelayMs ?? 200;
  const max = retry.maxDelayMs ?? 5000;
  const ceiling = Math.min(max, base * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

async function aws<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw describeAwsError(e, what);
  }
}

async function checkCapacity(session: Session, rules: SdkRule[]): Promise<number> {
  if (rules.length === 0) return 0;
  const r = await aws(`checking the capacity of ${session.what}`, () =>
    session.client.send(new CheckCapacityCommand({ Scope: session.resolved.scope, Rules: rules })),
  );
  return r.Capacity ?? 0;
}

async function open(
  target: DeployTarget,
  options: DeployOptions,
  create?: { capacity: number },
): Promise<Session> {
  const resolved = resolveTarget(target);
  const client = createClient(resolved.region, options);
  if (resolved.region === undefined) {
    // The SDK's own choice (AWS_REGION, the profile), so messages and records name it.
    try {
      resolved.region = await client.config.region();
    } catch (e) {
      throw describeAwsError(e, `${kindWord(resolved.kind)} ${resolved.name}`);
    }
  }
  const what = describeTarget(resolved, resolved.region);
  let found = await aws(`looking up ${what}`, () => findTarget(client, resolved));
  if (!found && create && resolved.kind === 'rule-group' && !resolved.arn) {
    if (options.dryRun)
      throw new DeployError(
        `${what} does not exist; without --dry-run it would be created first`,
        'not-found',
      );
    found = await createRuleGroup(client, resolved, create.capacity);
    resolved.notes.push(`created ${what} with capacity ${create.capacity} WCU`);
  }
  if (!found) throw new DeployError(`${what} not found`, 'not-found');
  return { client, resolved, id: found.id, options, what };
}

/** The Get → plan → capacity → Update cycle, retried on lock-token conflicts. */
async function apply(
  session: Session,
  operation: DeployOperation,
  plan: (loaded: LoadedTarget, attempt: number) => Promise<Planned>,
  extra: { cveId?: string } = {},
): Promise<DeployResult> {
  const { client, resolved, options } = session;
  const attempts = Math.max(1, options.retry?.attempts ?? 5);
  const sleep = options.sleep ?? sleepFor;
  // Not cockatiel's retry: it waits on its own setTimeout, never `options.sleep` (which the tests inject).
  for (let attempt = 1; ; attempt++) {
    const loaded = await aws(`reading ${session.what}`, () =>
      loadTarget(client, { kind: resolved.kind, scope: resolved.scope, name: resolved.name, id: session.id }),
    );
    const planned = await plan(loaded, attempt);
    if (planned.ruleWcu !== undefined && planned.ruleWcu > loaded.limit) {
      throw new DeployError(
        `${planned.ruleName} needs ${planned.ruleWcu} WCU, more than the ${loaded.limit} WCU ${session.what} can hold`,
        'capacity',
      );
    }
    const changes = diffRules(loaded.rules, planned.rules);
    const before = loaded.consumed ?? (await checkCapacity(session, loaded.rules));
    const base = {
      operation,
      target: {
        kind: resolved.kind,
        name: resolved.name,
        id: session.id,
        arn: loaded.arn,
        scope: resolved.scope,
        ...(resolved.region ? { region: resolved.region } : {}),
      },
      ruleName: planned.ruleName,
      ...(extra.cveId ? { cveId: extra.cveId } : {}),
      ...(planned.version !== undefined ? { version: planned.version } : {}),
      ...(planned.action !== undefined ? { action: planned.action } : {}),
      ...(planned.priority !== undefined ? { priority: planned.priority } : {}),
      ...(planned.removed ? { removed: true } : {}),
      ...(planned.soak ? { soak: planned.soak } : {}),
      attempts: attempt,
      changes,
      before: loaded.rules,
      after: planned.rules,
      notes: [...resolved.notes, ...(planned.notes ?? [])],
    };
    const capacity = (after: number | undefined): CapacityReport => ({
      ...(planned.ruleWcu !== undefined ? { rule: planned.ruleWcu } : {}),
      before,
      after,
      limit: loaded.limit,
    });
    if (changes.length === 0) return { ...base, outcome: 'unchanged', capacity: capacity(before) };
    const after = await checkCapacity(session, planned.rules);
    if (after > loaded.limit) {
      throw new DeployError(
        `${session.what} would need ${after} WCU after the change (now ${before ?? '?'}), over its limit of ${loaded.limit}`,
        'capacity',
      );
    }
    if (options.dryRun) return { ...base, outcome: 'dry-run', capacity: capacity(after) };
    try {
      const lockToken = await saveRules(client, loaded, planned.rules);
      const result: DeployResult = { ...base, outcome: 'updated', capacity: capacity(after), lockToken };
      // The change is made; failing to record it must not read as a failed deployment.
      await options.history
        ?.record(
          {
            operation,
            target: loaded.arn,
            targetKind: resolved.kind,
            targetName: resolved.name,
            scope: resolved.scope,
            ...(resolved.region ? { region: resolved.region } : {}),
            ruleName: planned.ruleName,
            ...(extra.cveId ? { cveId: extra.cveId } : {}),
            ...(planned.version !== undefined ? { version: planned.version } : {}),
            ...(planned.action !== undefined ? { action: planned.action } : {}),
            ...(planned.priority !== undefined ? { priority: planned.priority } : {}),
            ...(planned.removed ? { removed: true } : {}),
            attempts: attempt,
          },
          options.principal,
        )
        .catch((e: unknown) =>
          result.notes.push(
            `deployed, but not recorded in the store: ${e instanceof Error ? e.message : String(e)}`,
          ),
        );
      return result;
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (name === 'WAFOptimisticLockException') {
        if (attempt < attempts) {
          await sleep(backoff(attempt, options.retry ?? {}));
          continue;
        }
        throw new DeployError(
          `${session.what} kept changing under wafgen (lock-token conflict on all ${attempts} attempts); try again`,
          'conflict',
          name,
        );
      }
      throw describeAwsError(e, `updating ${session.what}`);
    }
  }
}

function validRule(rule: unknown, source: string): Rule {
  const r = RuleSchema.safeParse(rule);
  if (!r.success) {
    const f = findingsFromZod(r.error)[0];
    throw new InputError(`${source} is not a valid WAFv2 rule${f ? `: ${f.path} ${f.message}` : ''}`);
  }
  if (!r.data.Action)
    throw new InputError(
      `${source} has no Action; wafgen deploys rules with an Action, not rule-group references`,
    );
  return r.data;
}

const ruleBody = (r: SdkRule | undefined) =>
  canonical(r && { ...r, Priority: undefined, Action: undefined, Name: undefined });

// ---------------------------------------------------------------------------------------------

export interface DeployRuleInput {
  rule: Rule;
  cveId?: string;
  /** The store version of the rule, recorded with the deployment. */
  version?: number;
  /** Priority for a new rule (default: after every existing rule). */
  priority?: number;
  /** For a rule group deployed by name that does not exist yet: create it with this capacity. */
  createCapacity?: number;
}

/**
 * Put the rule into the target in Count mode. A rule of the same name is replaced in place (same
 * priority); if it already has the same content, nothing changes (a promoted rule stays promoted).
 */
export async function deployRule(
  target: DeployTarget,
  input: DeployRuleInput,
  options: DeployOptions = {},
): Promise<DeployResult> {
  const rule = validRule(input.rule, `rule ${input.rule?.Name ?? ''}`.trim());
  const wcu = ruleCapacity(rule).wcu;
  if (wcu > MAX_WCU)
    throw new DeployError(
      `${rule.Name} needs ${wcu} WCU, more than any web ACL can hold (${MAX_WCU})`,
      'capacity',
    );
  if (input.priority !== undefined && (!Number.isInteger(input.priority) || input.priority < 0))
    throw new InputError(`priority must be a whole number ≥ 0, not ${input.priority}`);
  if (input.createCapacity !== undefined && target.kind !== 'rule-group')
    throw new InputError('only a rule group can be created on deployment');
  const counted = toSdkRule({ ...rule, Action: { Count: {} } });
  const session = await open(
    target,
    options,
    input.createCapacity !== undefined ? { capacity: input.createCapacity } : undefined,
  );
  return apply(
    session,
    'deploy',
    async (loaded) => {
      const existing = loaded.rules.find((r) => r.Name === rule.Name);
      const common = {
        ruleName: rule.Name,
        ruleWcu: wcu,
        ...(input.version !== undefined ? { version: input.version } : {}),
      };
      if (existing && ruleBody(existing) === ruleBody(counted)) {
        // Same rule already there: leave it, whatever its action (redeploying must not demote it).
        return {
          ...common,
          rules: loaded.rules,
          action: actionName(existing),
          ...(existing.Priority !== undefined ? { priority: existing.Priority } : {}),
          notes: [`${rule.Name} is already deployed with this content (${actionName(existing)})`],
        };
      }
      const placed = placeRule(
        loaded.rules,
        counted,
        input.priority !== undefined ? { priority: input.priority } : {},
      );
      return {
        ...common,
        rules: placed.rules,
        action: 'Count',
        priority: placed.priority,
        notes: placed.notes,
      };
    },
    input.cveId ? { cveId: input.cveId } : {},
  );
}

export interface PromoteInput {
  ruleName: string;
  cveId?: string;
  /** Promote only if the rule has been in Count this long with no sampled match (web ACLs only). */
  soakMinutes?: number;
}

/** Switch a deployed rule from Count to Block. */
export async function promoteRule(
  target: DeployTarget,
  input: PromoteInput,
  options: DeployOptions = {},
): Promise<DeployResult> {
  const soak = input.soakMinutes;
  if (soak !== undefined) {
    if (!Number.isInteger(soak) || soak < 1 || soak > MAX_SOAK_MINUTES)
      throw new InputError(
        `--soak must be a whole number of minutes from 1 to ${MAX_SOAK_MINUTES} (AWS samples cover 3 hours)`,
      );
    if (target.kind !== 'web-acl')
      throw new InputError(
        'the soak check needs a web ACL (sampled requests are read per web ACL); promote the rule group rule without --soak',
      );
  }
  const session = await open(target, options);
  const now = options.now ?? (() => new Date());
  let soakReport: SoakReport | undefined;
  return apply(
    session,
    'promote',
    async (loaded) => {
      const current = loaded.rules.find((r) => r.Name === input.ruleName);
      if (!current)
        throw new DeployError(`${input.ruleName} is not in ${session.what}; deploy it first`, 'not-found');
      const action = actionName(current);
      const common = {
        ruleName: input.ruleName,
        ...(current.Priority !== undefined ? { priority: current.Priority } : {}),
      };
      if (action === 'Block')
        return { ...common, rules: loaded.rules, action, notes: [`${input.ruleName} already blocks`] };
      if (action !== 'Count')
        throw new DeployError(
          `${input.ruleName} has action ${action}; promotion switches a rule from Count to Block`,
          'state',
        );
      if (soak !== undefined && !soakReport) {
        soakReport = await checkSoak(
          session.client,
          loaded,
          current,
          soak,
          options.history,
          now(),
          input.cveId,
        );
      }
      const rules = loaded.rules.map((r) => (r === current ? { ...r, Action: { Block: {} } } : r));
      // The version being promoted is the one wafgen last put here (rollback reads it back).
      const records = options.history
        ? await options.history.list(loaded.arn, input.ruleName, input.cveId)
        : [];
      const version = records.find((h) => !h.removed)?.version;
      return {
        ...common,
        rules,
        action: 'Block',
        ...(version !== undefined ? { version } : {}),
        ...(soakReport ? { soak: soakReport } : {}),
      };
    },
    input.cveId ? { cveId: input.cveId } : {},
  );
}

interface StoredVersion {
  version: number;
  rule: unknown;
}

export interface RollbackInput {
  ruleName: string;
  cveId?: string;
  /** Every stored version of the CVE's rule (any order). Without them, rollback removes the rule. */
  versions?: readonly StoredVersion[];
}

/**
 * Put back the version before the deployed one (same priority; Block if wafgen had promoted that
 * version on this target, else Count), or remove the rule when there is no earlier version.
 */
export async function rollbackRule(
  target: DeployTarget,
  input: RollbackInput,
  options: DeployOptions = {},
): Promise<DeployResult> {
  const versions = [...(input.versions ?? [])].sort((a, b) => b.version - a.version);
  const session = await open(target, options);
  return apply(
    session,
    'rollback',
    async (loaded) => {
      const current = loaded.rules.find((r) => r.Name === input.ruleName);
      if (!current)
        throw new DeployError(
          `${input.ruleName} is not in ${session.what}; nothing to roll back`,
          'not-found',
        );
      const history = options.history
        ? await options.history.list(loaded.arn, input.ruleName, input.cveId)
        : [];
      const remove = (why: string): Planned => ({
        ruleName: input.ruleName,
        rules: loaded.rules.filter((r) => r !== current),
        removed: true,
        ...(current.Priority !== undefined ? { priority: current.Priority } : {}),
        notes: [why],
      });
      if (versions.length === 0)
        return remove(`no stored versions of ${input.ruleName}: the rule is removed`);
      // Which version is deployed: the one with the same statement, else what wafgen last recorded.
      const statement = canonical({ s: current.Statement, l: current.RuleLabels });
      const matching = versions.find((v) => {
        const r = RuleSchema.safeParse(v.rule);
        return (
          r.success &&
          canonical({ s: toSdkRule(r.data).Statement, l: toSdkRule(r.data).RuleLabels }) === statement
        );
      });
      const deployed =
        matching?.version ?? history.find((h) => h.version !== undefined && !h.removed)?.version;
      if (deployed === undefined)
        throw new DeployError(
          `the deployed ${input.ruleName} matches no stored version and wafgen has no record of deploying it; fix it by hand`,
          'state',
        );
      const previous = versions.find((v) => v.version < deployed);
      if (!previous) return remove(`version ${deployed} is the first: the rule is removed`);
      const rule = validRule(previous.rule, `stored version ${previous.version} of ${input.ruleName}`);
      const recorded = history.find((h) => h.version === previous.version && h.action !== undefined)?.action;
      const action = recorded === 'Block' ? 'Block' : 'Count';
      const restored: SdkRule = {
        ...toSdkRule({ ...rule, Name: input.ruleName }),
        Priority: current.Priority,
        Action: action === 'Block' ? { Block: {} } : { Count: {} },
      };
      return {
        ruleName: input.ruleName,
        rules: loaded.rules.map((r) => (r === current ? restored : r)),
        version: previous.version,
        action,
        ...(current.Priority !== undefined ? { priority: current.Priority } : {}),
        ruleWcu: ruleCapacity(rule).wcu,
        notes: [
          `version ${deployed} → ${previous.version} in ${action}${recorded === 'Block' ? ' (it had been promoted here)' : ''}`,
        ],
      };
    },
    input.cveId ? { cveId: input.cveId } : {},
  );
}
