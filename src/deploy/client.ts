// The SDK client for a deployment target: scope and Region worked out from the options and the ARN
// (CLOUDFRONT lives in us-east-1), the endpoint from the options or AWS_ENDPOINT_URL_WAFV2 (which the
// SDK reads itself), credentials from the SDK's default chain unless given.
import { WAFV2Client, type WAFV2ClientConfig } from '@aws-sdk/client-wafv2';

import { InputError } from '../core/errors.js';

export type Scope = 'REGIONAL' | 'CLOUDFRONT';
export type TargetKind = 'web-acl' | 'rule-group';

/** Where to deploy: a web ACL or a rule group, by name or ARN. */
export interface DeployTarget {
  kind: TargetKind;
  /** A name, or an ARN (`arn:aws:wafv2:<region>:<account>:regional|global/webacl|rulegroup/<name>/<id>`). */
  nameOrArn: string;
  /** Default: from the ARN, else REGIONAL. */
  scope?: Scope;
  /** Default: from the ARN, else the SDK's (AWS_REGION, profile). CLOUDFRONT always uses us-east-1. */
  region?: string;
}

export interface ClientOptions {
  /** An SDK client to use as is (its Region must suit the target). */
  client?: WAFV2Client;
  /** Endpoint URL, e.g. a local fake; default: AWS_ENDPOINT_URL_WAFV2, else AWS. */
  endpoint?: string;
  credentials?: WAFV2ClientConfig['credentials'];
}

export interface WafArn {
  partition: string;
  region: string;
  account: string;
  scope: Scope;
  kind: TargetKind;
  name: string;
  id: string;
}

const ARN =
  /^arn:([\w-]+):wafv2:([a-z0-9-]+):(\d{12}):(regional|global)\/(webacl|rulegroup)\/([\w-]{1,128})\/([0-9a-f-]{36})$/;

export function parseWafArn(value: string): WafArn | undefined {
  const m = ARN.exec(value);
  if (!m) return undefined;
  const [, partition, region, account, scope, kind, name, id] = m as unknown as string[];
  return {
    partition: partition!,
    region: region!,
    account: account!,
    scope: scope === 'global' ? 'CLOUDFRONT' : 'REGIONAL',
    kind: kind === 'webacl' ? 'web-acl' : 'rule-group',
    name: name!,
    id: id!,
  };
}

const NAME = /^[\w-]{1,128}$/;
const REGION = /^[a-z]{2}(-[a-z0-9]+)+-\d+$/;
const CLOUDFRONT_REGION = 'us-east-1';

export interface ResolvedTarget {
  kind: TargetKind;
  scope: Scope;
  /** undefined: the SDK's default Region. */
  region: string | undefined;
  name: string;
  /** Known when the target was given by ARN. */
  id?: string;
  arn?: string;
  notes: string[];
}

const KIND_WORD = { 'web-acl': 'web ACL', 'rule-group': 'rule group' } as const;

export function kindWord(kind: TargetKind): string {
  return KIND_WORD[kind];
}

/** Check the target the user gave and settle its scope and Region. Throws InputError. */
export function resolveTarget(target: DeployTarget): ResolvedTarget {
  const notes: string[] = [];
  const what = KIND_WORD[target.kind];
  if (target.region !== undefined && !REGION.test(target.region))
    throw new InputError(`${JSON.stringify(target.region)} is not an AWS Region (e.g. eu-west-1)`);
  let name: string;
  let scope = target.scope;
  let region = target.region;
  let id: string | undefined;
  let arn: string | undefined;
  if (target.nameOrArn.startsWith('arn:')) {
    const parsed = parseWafArn(target.nameOrArn);
    if (!parsed)
      throw new InputError(
        `${JSON.stringify(target.nameOrArn)} is not a WAFv2 ${what} ARN (arn:aws:wafv2:<region>:<account>:regional|global/${target.kind === 'web-acl' ? 'webacl' : 'rulegroup'}/<name>/<id>)`,
      );
    if (parsed.kind !== target.kind)
      throw new InputError(`${target.nameOrArn} is a ${KIND_WORD[parsed.kind]} ARN, not a ${what} ARN`);
    if (scope !== undefined && scope !== parsed.scope)
      throw new InputError(`scope ${scope} contradicts the ARN, which is ${parsed.scope}`);
    if (parsed.scope === 'REGIONAL' && region !== undefined && region !== parsed.region)
      throw new InputError(`Region ${region} contradicts the ARN, which is in ${parsed.region}`);
    scope = parsed.scope;
    region = parsed.scope === 'REGIONAL' ? parsed.region : region;
    ({ name, id } = parsed);
    arn = target.nameOrArn;
  } else {
    if (!NAME.test(target.nameOrArn))
      throw new InputError(
        `${JSON.stringify(target.nameOrArn)} is not a ${what} name (1-128 letters, digits, - and _) or ARN`,
      );
    name = target.nameOrArn;
  }
  scope ??= 'REGIONAL';
  if (scope === 'CLOUDFRONT') {
    if (region !== undefined && region !== CLOUDFRONT_REGION)
      notes.push(`scope CLOUDFRONT is managed in ${CLOUDFRONT_REGION}; Region ${region} ignored`);
    region = CLOUDFRONT_REGION;
  }
  return { kind: target.kind, scope, region, name, ...(id ? { id } : {}), ...(arn ? { arn } : {}), notes };
}

export function createClient(region: string | undefined, options: ClientOptions = {}): WAFV2Client {
  if (options.client) return options.client;
  return new WAFV2Client({
    ...(region ? { region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // wafgen retries lock conflicts itself; the SDK keeps its standard retries for throttling.
    maxAttempts: 3,
  });
}
