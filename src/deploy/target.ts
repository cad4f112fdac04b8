// Reading and writing a web ACL or rule group. Updates are full replacements, so the update request
// is built from everything GetWebACL/GetRuleGroup returned that the update accepts, with only the
// rule list replaced: descriptions, default action, custom response bodies, CAPTCHA settings, token
// domains and every other rule go back exactly as they came.
import {
  CreateRuleGroupCommand,
  GetRuleGroupCommand,
  GetWebACLCommand,
  ListRuleGroupsCommand,
  ListWebACLsCommand,
  UpdateRuleGroupCommand,
  UpdateWebACLCommand,
  type RuleGroup,
  type Rule as SdkRule,
  type UpdateRuleGroupRequest,
  type UpdateWebACLRequest,
  type WAFV2Client,
  type WebACL,
} from '@aws-sdk/client-wafv2';

import { MAX_WCU } from '../waf/capacity.js';
import { kindWord, type ResolvedTarget, type Scope, type TargetKind } from './client.js';
import { describeAwsError, DeployError } from './errors.js';

export interface LoadedTarget {
  kind: TargetKind;
  scope: Scope;
  name: string;
  id: string;
  arn: string;
  lockToken: string;
  rules: SdkRule[];
  /** WCU the web ACL uses now (GetWebACL's Capacity); undefined for rule groups. */
  consumed: number | undefined;
  /** The most WCU the rules may use: 5,000 for a web ACL, the declared Capacity of a rule group. */
  limit: number;
  webAcl?: WebACL;
  ruleGroup?: RuleGroup;
}

export function describeTarget(t: { kind: TargetKind; name: string; scope: Scope }, region?: string): string {
  return `${kindWord(t.kind)} ${t.name} (${t.scope}${region ? `, ${region}` : ''})`;
}

/** The target's Id: from its ARN, else by listing (paginated) and matching the name. */
export async function findTarget(
  client: WAFV2Client,
  t: ResolvedTarget,
): Promise<{ id: string; arn?: string } | undefined> {
  if (t.id) return { id: t.id, ...(t.arn ? { arn: t.arn } : {}) };
  let marker: string | undefined;
  const seen = new Set<string>();
  for (;;) {
    const page =
      t.kind === 'web-acl'
        ? await client
            .send(
              new ListWebACLsCommand({
                Scope: t.scope,
                Limit: 100,
                ...(marker ? { NextMarker: marker } : {}),
              }),
            )
            .then((r) => ({ items: r.WebACLs ?? [], next: r.NextMarker }))
        : await client
            .send(
              new ListRuleGroupsCommand({
                Scope: t.scope,
                Limit: 100,
                ...(marker ? { NextMarker: marker } : {}),
              }),
            )
            .then((r) => ({ items: r.RuleGroups ?? [], next: r.NextMarker }));
    const hit = page.items.find((s) => s.Name === t.name);
    if (hit?.Id) return { id: hit.Id, ...(hit.ARN ? { arn: hit.ARN } : {}) };
    // AWS ends the listing with an absent marker; a repeated one would loop forever.
    if (!page.next || page.items.length === 0 || seen.has(page.next)) return undefined;
    seen.add(page.next);
    marker = page.next;
  }
}

export async function loadTarget(
  client: WAFV2Client,
  t: { kind: TargetKind; scope: Scope; name: string; id: string },
): Promise<LoadedTarget> {
  const key = { Name: t.name, Scope: t.scope, Id: t.id };
  if (t.kind === 'web-acl') {
    const r = await client.send(new GetWebACLCommand(key));
    const acl = r.WebACL;
    if (!acl || !r.LockToken) throw new DeployError(`GetWebACL returned no web ACL for ${t.name}`, 'aws');
    return {
      ...t,
      arn: acl.ARN ?? '',
      lockToken: r.LockToken,
      rules: acl.Rules ?? [],
      consumed: acl.Capacity,
      limit: MAX_WCU,
      webAcl: acl,
    };
  }
  const r = await client.send(new GetRuleGroupCommand(key));
  const group = r.RuleGroup;
  if (!group || !r.LockToken)
    throw new DeployError(`GetRuleGroup returned no rule group for ${t.name}`, 'aws');
  return {
    ...t,
    arn: group.ARN ?? '',
    lockToken: r.LockToken,
    rules: group.Rules ?? [],
    consumed: undefined,
    limit: group.Capacity ?? MAX_WCU,
    ruleGroup: group,
  };
}

/** Members of a GetWebACL answer that UpdateWebACL takes back unchanged. */
const WEB_ACL_CARRIED = [
  'DefaultAction',
  'Description',
  'VisibilityConfig',
  'DataProtectionConfig',
  'CustomResponseBodies',
  'CaptchaConfig',
  'ChallengeConfig',
  'TokenDomains',
  'AssociationConfig',
  'OnSourceDDoSProtectionConfig',
  'MonetizationConfig',
  // ApplicationConfig is left out on purpose: omitted, AWS keeps it; sent, it must match exactly.
] as const satisfies readonly (keyof WebACL & keyof UpdateWebACLRequest)[];

const RULE_GROUP_CARRIED = [
  'Description',
  'VisibilityConfig',
  'CustomResponseBodies',
  'MonetizationConfig',
] as const satisfies readonly (keyof RuleGroup & keyof UpdateRuleGroupRequest)[];

function carried<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (source[k] !== undefined) out[k] = source[k];
  return out;
}

function updateWebAclRequest(loaded: LoadedTarget, rules: SdkRule[]): UpdateWebACLRequest {
  const acl = loaded.webAcl!;
  return {
    ...carried(acl, WEB_ACL_CARRIED),
    Name: loaded.name,
    Scope: loaded.scope,
    Id: loaded.id,
    DefaultAction: acl.DefaultAction,
    VisibilityConfig: acl.VisibilityConfig,
    Rules: rules,
    LockToken: loaded.lockToken,
  };
}

function updateRuleGroupRequest(loaded: LoadedTarget, rules: SdkRule[]): UpdateRuleGroupRequest {
  const group = loaded.ruleGroup!;
  return {
    ...carried(group, RULE_GROUP_CARRIED),
    Name: loaded.name,
    Scope: loaded.scope,
    Id: loaded.id,
    VisibilityConfig: group.VisibilityConfig,
    Rules: rules,
    LockToken: loaded.lockToken,
  };
}

/** Replace the rules; returns the next lock token. WAFOptimisticLockException propagates as is. */
export async function saveRules(
  client: WAFV2Client,
  loaded: LoadedTarget,
  rules: SdkRule[],
): Promise<string> {
  const r =
    loaded.kind === 'web-acl'
      ? await client.send(new UpdateWebACLCommand(updateWebAclRequest(loaded, rules)))
      : await client.send(new UpdateRuleGroupCommand(updateRuleGroupRequest(loaded, rules)));
  return r.NextLockToken ?? '';
}

/** Create an empty rule group of the given capacity (capacity cannot change later). */
export async function createRuleGroup(
  client: WAFV2Client,
  t: { scope: Scope; name: string },
  capacity: number,
): Promise<{ id: string; arn?: string }> {
  try {
    const r = await client.send(
      new CreateRuleGroupCommand({
        Name: t.name,
        Scope: t.scope,
        Capacity: capacity,
        Description: 'Virtual patches generated by wafgen',
        Rules: [],
        VisibilityConfig: {
          SampledRequestsEnabled: true,
          CloudWatchMetricsEnabled: true,
          MetricName: t.name,
        },
      }),
    );
    if (!r.Summary?.Id) throw new DeployError(`CreateRuleGroup returned no Id for ${t.name}`, 'aws');
    return { id: r.Summary.Id, ...(r.Summary.ARN ? { arn: r.Summary.ARN } : {}) };
  } catch (e) {
    throw describeAwsError(e, `creating rule group ${t.name}`);
  }
}
