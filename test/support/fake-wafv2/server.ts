// A local fake of the AWS WAFv2 API, close enough to the wire protocol that the real SDK v3 client
// (pointed at it with `endpoint` or AWS_ENDPOINT_URL_WAFV2) talks to it unchanged:
//
//   POST /  X-Amz-Target: AWSWAF_20190729.<Operation>  Content-Type: application/x-amz-json-1.1
//   SigV4 Authorization header required (its Region is used; the signature is not verified)
//   errors: HTTP 400 {"__type": "com.amazonaws.wafv2#<Exception>", "Message": …}
//
// Operations: CheckCapacity, ListWebACLs, GetWebACL, UpdateWebACL, ListRuleGroups, GetRuleGroup,
// CreateRuleGroup, UpdateRuleGroup, GetSampledRequests. Web ACLs and rule groups live in memory per
// Region and scope (CLOUDFRONT only in us-east-1), with a fresh UUID LockToken after every change;
// a stale token gets WAFOptimisticLockException. Request bodies are checked with the project's Zod
// schemas (shape, then the semantic checks of src/waf/schema.ts) and rejected the way AWS does:
// WAFInvalidParameterException with Field, Parameter and Reason. Capacity is enforced with the
// project's WCU count (web ACL limit, rule group declared capacity): WAFLimitsExceededException.
// Updates are full replacements, as in AWS: an optional member left out is cleared (except a web
// ACL's ApplicationConfig, which AWS keeps).
//
// Tests seed resources, inject a concurrent modification before the next Update (to exercise lock-
// token retries), add sampled requests, and read back every call.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { z } from 'zod';

import { rulesCapacity } from '../../../src/waf/capacity.js';
import { decodeSearchStrings, encodeSearchStrings } from '../../../src/waf/blobs.js';
import type { Finding } from '../../../src/waf/findings.js';
import {
  EntityIdSchema,
  EntityNameSchema,
  ResourceArnSchema,
  ScopeSchema,
  TagListSchema,
} from '../../../src/waf/model/shapes.generated.js';
import {
  findingsFromZod,
  RuleGroupSchema,
  RulesSchema,
  WebACLSchema,
  type Rule,
  type RuleGroup,
  type WebACL,
} from '../../../src/waf/schema.js';

type Scope = 'REGIONAL' | 'CLOUDFRONT';
type Kind = 'web-acl' | 'rule-group';

const FAKE_ACCOUNT = '123456789012';
const TARGET_PREFIX = 'AWSWAF_20190729.';

interface RecordedCall {
  operation: string;
  /** The Region of the SigV4 credential scope. */
  region: string;
  /** Lower-case names; Authorization reduced to its scheme and credential scope. */
  headers: Record<string, string>;
  /** The JSON body as sent (SearchStrings base64, as on the wire). */
  body: Record<string, unknown>;
  /** HTTP status answered and, for errors, the exception name. */
  status: number;
  error?: string;
}

interface SeedOptions {
  name: string;
  scope?: Scope;
  /** Default us-east-1 (always us-east-1 for CLOUDFRONT). */
  region?: string;
  /** Rules as wafgen writes them (SearchString as text). */
  rules?: Rule[];
  description?: string;
}

interface SeedWebAcl extends SeedOptions {
  defaultAction?: WebACL['DefaultAction'];
  /** Any other WebACL members (CustomResponseBodies, TokenDomains, CaptchaConfig, …). */
  extra?: Partial<WebACL>;
}

interface SeedRuleGroup extends SeedOptions {
  capacity: number;
  extra?: Partial<RuleGroup>;
}

interface SeededResource {
  name: string;
  id: string;
  arn: string;
  scope: Scope;
  region: string;
}

interface FakeSample {
  at: Date;
  method?: string;
  uri: string;
  clientIp?: string;
  country?: string;
  headers?: Record<string, string>;
  /** The action WAF took: COUNT for a rule in Count mode. */
  action?: string;
  weight?: number;
}

interface ResourceRef {
  name: string;
  kind?: Kind;
  scope?: Scope;
  region?: string;
}

export interface FakeWafv2 {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly calls: readonly RecordedCall[];
  /** Most WCU a web ACL may use (default 5,000, AWS's maximum). */
  webAclCapacityLimit: number;
  /** Most items per List page, whatever Limit asks (default 100). */
  pageSize: number;
  addWebAcl(seed: SeedWebAcl): SeededResource;
  addRuleGroup(seed: SeedRuleGroup): SeededResource;
  /** The resource as it is now, SearchStrings as text, with its current LockToken. */
  webAcl(name: string, where?: { scope?: Scope; region?: string }): { webAcl: WebACL; lockToken: string };
  ruleGroup(
    name: string,
    where?: { scope?: Scope; region?: string },
  ): { ruleGroup: RuleGroup; lockToken: string };
  /**
   * Someone else changes the resource between the client's Get and its Update: on each of the next
   * `times` Update calls for it, `change` is applied (to the text form) and the LockToken replaced
   * before the request's token is checked, so the request fails with WAFOptimisticLockException.
   */
  injectConcurrentChange(ref: ResourceRef, change?: (doc: WebACL & RuleGroup) => void, times?: number): void;
  /** Sampled requests GetSampledRequests returns for the web ACL's rule with this metric name. */
  addSamples(
    webAclName: string,
    metricName: string,
    samples: FakeSample[],
    where?: { scope?: Scope; region?: string },
  ): void;
  /** Calls of one operation. */
  callsOf(operation: string): RecordedCall[];
  close(): Promise<void>;
}

// --------------------------------------------------------------------------------------------
// Errors as the JSON 1.1 protocol carries them.

class WafError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly status = 400,
  ) {
    super(message);
  }
}

const nonexistent = (what: string) =>
  new WafError(
    'WAFNonexistentItemException',
    `AWS WAF couldn’t perform the operation because your resource doesn’t exist. (${what})`,
  );

function invalidParameter(field: string, parameter: string, reason: string): WafError {
  return new WafError(
    'WAFInvalidParameterException',
    `Error reason: ${reason}, field: ${field}, parameter: ${parameter}`,
    { Field: field, Parameter: parameter, Reason: reason },
  );
}

// Zod findings to WAFInvalidParameterException.Field: the innermost path member AWS names.
const FIELD_BY_MEMBER: Record<string, string> = {
  MetricName: 'METRIC_NAME',
  TextTransformations: 'TEXT_TRANSFORMATION',
  PreParseTextTransformations: 'PRE_PARSE_TEXT_TRANSFORMATION',
  SingleHeader: 'SINGLE_HEADER',
  SingleQueryArgument: 'SINGLE_QUERY_ARGUMENT',
  OversizeHandling: 'OVERSIZE_HANDLING',
  FieldToMatch: 'FIELD_TO_MATCH',
  JsonMatchScope: 'JSON_MATCH_SCOPE',
  MatchScope: 'MAP_MATCH_SCOPE',
  ScopeDownStatement: 'SCOPE_DOWN',
  CustomKeys: 'CUSTOM_KEYS',
  ByteMatchStatement: 'BYTE_MATCH_STATEMENT',
  SqliMatchStatement: 'SQLI_MATCH_STATEMENT',
  XssMatchStatement: 'XSS_MATCH_STATEMENT',
  SizeConstraintStatement: 'SIZE_CONSTRAINT_STATEMENT',
  GeoMatchStatement: 'GEO_MATCH_STATEMENT',
  RateBasedStatement: 'RATE_BASED_STATEMENT',
  RuleGroupReferenceStatement: 'RULE_GROUP_REFERENCE_STATEMENT',
  RegexPatternSetReferenceStatement: 'REGEX_PATTERN_REFERENCE_STATEMENT',
  IPSetReferenceStatement: 'IP_SET_REFERENCE_STATEMENT',
  ManagedRuleGroupStatement: 'MANAGED_RULE_SET_STATEMENT',
  LabelMatchStatement: 'LABEL_MATCH_STATEMENT',
  AndStatement: 'AND_STATEMENT',
  OrStatement: 'OR_STATEMENT',
  NotStatement: 'NOT_STATEMENT',
  Statement: 'STATEMENT',
  CustomResponse: 'CUSTOM_RESPONSE',
  CustomRequestHandling: 'CUSTOM_REQUEST_HANDLING',
  Action: 'RULE_ACTION',
  OverrideAction: 'OVERRIDE_ACTION',
  DefaultAction: 'DEFAULT_ACTION',
  CustomResponseBodies: 'CUSTOM_RESPONSE_BODY',
  ChallengeConfig: 'CHALLENGE_CONFIG',
  TokenDomains: 'TOKEN_DOMAIN',
  DataProtectionConfig: 'DATA_PROTECTION_CONFIG',
  MonetizationConfig: 'MONETIZATION_CONFIG',
  Tags: 'TAGS',
  Scope: 'SCOPE_VALUE',
  ARN: 'RESOURCE_ARN',
  WebAclArn: 'RESOURCE_ARN',
  Rules: 'RULE',
};

/** `$.Rules[0].Statement.X` → ['Rules', 0, 'Statement', 'X'] */
function parsePath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(m[3]) as string);
  }
  return out;
}

function at(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

function rejectFindings(findings: readonly Finding[], body: unknown, fallbackField: string): never {
  const f = findings[0]!;
  const path = parsePath(f.path);
  let field = fallbackField;
  for (let i = path.length - 1; i >= 0; i--) {
    const p = path[i];
    if (typeof p === 'string' && FIELD_BY_MEMBER[p]) {
      field = FIELD_BY_MEMBER[p];
      break;
    }
  }
  const value = at(body, path);
  const parameter =
    typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : f.path;
  throw invalidParameter(field, parameter, `${f.message} (${f.path})`);
}

function parseOrReject<T>(
  schema: z.ZodType<T>,
  value: unknown,
  fallbackField: string,
  prefix: (string | number)[] = [],
): T {
  const r = schema.safeParse(value);
  if (!r.success) rejectFindings(findingsFromZod(r.error, prefix), { ...(value as object) }, fallbackField);
  return r.data;
}

// --------------------------------------------------------------------------------------------
// Request envelopes: what each operation takes besides the resource body checked by the project's
// WebACL / RuleGroup / Rules schemas.

const Key = z.strictObject({
  Name: EntityNameSchema.optional(),
  Scope: ScopeSchema.optional(),
  Id: EntityIdSchema.optional(),
  ARN: ResourceArnSchema.optional(),
});
const LockTokenSchema = z.string().regex(/^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/);
const ListRequest = z.strictObject({
  Scope: ScopeSchema,
  NextMarker: z.string().min(1).max(256).optional(),
  Limit: z.number().int().min(1).max(100).optional(),
});
const CheckCapacityRequest = z.strictObject({ Scope: ScopeSchema, Rules: z.array(z.unknown()) });
const SampledRequest = z.strictObject({
  WebAclArn: ResourceArnSchema,
  RuleMetricName: z.string().min(1).max(255),
  Scope: ScopeSchema,
  TimeWindow: z.strictObject({ StartTime: z.number(), EndTime: z.number() }),
  MaxItems: z.number().int().min(1).max(500),
});

/** Members of UpdateWebACL / UpdateRuleGroup that are not part of the resource document. */
const UPDATE_ENVELOPE = ['Scope', 'Id', 'LockToken'] as const;

/** The resource members each update takes (read-only ones such as Capacity or ARN are not among them). */
const UPDATE_MEMBERS: Record<Kind, readonly string[]> = {
  'web-acl': [
    'Name',
    'DefaultAction',
    'Description',
    'Rules',
    'VisibilityConfig',
    'DataProtectionConfig',
    'CustomResponseBodies',
    'CaptchaConfig',
    'ChallengeConfig',
    'TokenDomains',
    'AssociationConfig',
    'OnSourceDDoSProtectionConfig',
    'ApplicationConfig',
    'MonetizationConfig',
  ],
  'rule-group': [
    'Name',
    'Description',
    'Rules',
    'VisibilityConfig',
    'CustomResponseBodies',
    'MonetizationConfig',
  ],
};

// --------------------------------------------------------------------------------------------

interface Entity {
  kind: Kind;
  region: string;
  scope: Scope;
  id: string;
  name: string;
  arn: string;
  lockToken: string;
  /** The resource document as on the wire (SearchStrings base64), without Name/Id/ARN. */
  doc: Record<string, unknown>;
  samples: Map<string, FakeSample[]>;
}

const clone = <T>(v: T): T => structuredClone(v);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Region of `Credential=AKID/20240101/<region>/wafv2/aws4_request`. */
function signedRegion(authorization: string | undefined): string | undefined {
  if (!authorization?.startsWith('AWS4-HMAC-SHA256 ')) return undefined;
  const m = /Credential=[^/]+\/\d{8}\/([^/]+)\/wafv2\/aws4_request/.exec(authorization);
  return m?.[1];
}

function arnOf(e: { kind: Kind; region: string; scope: Scope; name: string; id: string }): string {
  const scope = e.scope === 'CLOUDFRONT' ? 'global' : 'regional';
  const kind = e.kind === 'web-acl' ? 'webacl' : 'rulegroup';
  return `arn:aws:wafv2:${e.region}:${FAKE_ACCOUNT}:${scope}/${kind}/${e.name}/${e.id}`;
}

/** Text form (SearchString decoded) of wire JSON, for the project's schemas and for tests. */
function textForm<T>(wire: T): T {
  return decodeSearchStrings(wire).value as T;
}

export async function startFakeWafv2(
  options: { webAclCapacityLimit?: number; pageSize?: number } = {},
): Promise<FakeWafv2> {
  const entities = new Map<string, Entity>();
  const calls: RecordedCall[] = [];
  const injections: {
    ref: ResourceRef;
    change: ((doc: WebACL & RuleGroup) => void) | undefined;
    left: number;
  }[] = [];
  const sockets = new Set<Socket>();

  const keyOf = (kind: Kind, region: string, scope: Scope, name: string) =>
    `${kind}|${region}|${scope}|${name}`;
  const regionFor = (scope: Scope, region: string | undefined) =>
    scope === 'CLOUDFRONT' ? 'us-east-1' : (region ?? 'us-east-1');

  function find(kind: Kind, region: string, scope: Scope, name: string): Entity | undefined {
    return entities.get(keyOf(kind, region, scope, name));
  }

  function groupCapacities(region: string, scope: Scope): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of entities.values())
      if (e.kind === 'rule-group' && e.region === region && e.scope === scope)
        out[e.arn] = e.doc.Capacity as number;
    return out;
  }

  /** WCU of rules (text form) with referenced rule groups at their declared capacity. */
  function capacityOf(rules: readonly Rule[], region: string, scope: Scope): number {
    const groups = groupCapacities(region, scope);
    for (const r of rules) {
      const ref = r.Statement.RuleGroupReferenceStatement;
      if (ref && groups[ref.ARN] === undefined) throw nonexistent(`rule group ${ref.ARN}`);
    }
    return rulesCapacity(rules, { groupCapacities: groups }).wcu;
  }

  function add(kind: Kind, seed: SeedOptions, doc: Record<string, unknown>): SeededResource {
    const scope = seed.scope ?? 'REGIONAL';
    const region = regionFor(scope, seed.region);
    if (find(kind, region, scope, seed.name)) throw new Error(`fake WAFv2: ${seed.name} exists already`);
    const id = randomUUID();
    const e: Entity = {
      kind,
      region,
      scope,
      id,
      name: seed.name,
      arn: '',
      lockToken: randomUUID(),
      doc,
      samples: new Map(),
    };
    e.arn = arnOf(e);
    entities.set(keyOf(kind, region, scope, seed.name), e);
    return { name: seed.name, id, arn: e.arn, scope, region };
  }

  const visibility = (name: string) => ({
    SampledRequestsEnabled: true,
    CloudWatchMetricsEnabled: true,
    MetricName: name,
  });

  function entityOrThrow(
    kind: Kind,
    region: string,
    body: { Name?: string; Scope?: Scope; Id?: string; ARN?: string },
  ): Entity {
    if (body.ARN !== undefined) {
      const e = [...entities.values()].find((x) => x.kind === kind && x.arn === body.ARN);
      if (!e || e.region !== region) throw nonexistent(body.ARN);
      return e;
    }
    if (body.Name === undefined || body.Scope === undefined || body.Id === undefined)
      throw invalidParameter(
        kind === 'web-acl' ? 'WEB_ACL' : 'RULE_GROUP',
        'Name',
        'Name, Scope and Id, or ARN, are required',
      );
    const e = find(kind, region, body.Scope, body.Name);
    if (!e || e.id !== body.Id) throw nonexistent(`${body.Name} ${body.Id}`);
    return e;
  }

  function checkScope(scope: Scope | undefined, region: string): void {
    if (scope === 'CLOUDFRONT' && region !== 'us-east-1')
      throw invalidParameter('SCOPE_VALUE', 'CLOUDFRONT', 'CLOUDFRONT scope must be called in us-east-1');
  }

  function describe(e: Entity): Record<string, unknown> {
    const doc = clone(e.doc);
    if (e.kind === 'web-acl') {
      const rules = textForm((doc.Rules ?? []) as Rule[]);
      return {
        Name: e.name,
        Id: e.id,
        ARN: e.arn,
        ...doc,
        Rules: doc.Rules ?? [],
        Capacity: capacityOf(rules, e.region, e.scope),
        ManagedByFirewallManager: false,
        RetrofittedByFirewallManager: false,
        LabelNamespace: `awswaf:${FAKE_ACCOUNT}:webacl:${e.name}:`,
      };
    }
    return {
      Name: e.name,
      Id: e.id,
      ARN: e.arn,
      ...doc,
      Rules: doc.Rules ?? [],
      LabelNamespace: `awswaf:${FAKE_ACCOUNT}:rulegroup:${e.name}:`,
    };
  }

  function list(kind: Kind, region: string, body: unknown): Record<string, unknown> {
    const req = parseOrReject(ListRequest, body, 'SCOPE_VALUE');
    checkScope(req.Scope, region);
    const all = [...entities.values()]
      .filter((e) => e.kind === kind && e.region === region && e.scope === req.Scope)
      .sort((a, b) => a.name.localeCompare(b.name));
    const start = req.NextMarker ? Number(Buffer.from(req.NextMarker, 'base64').toString()) : 0;
    const size = Math.min(req.Limit ?? 100, fake.pageSize);
    const page = all.slice(start, start + size);
    const next = start + size < all.length ? Buffer.from(String(start + size)).toString('base64') : undefined;
    const summaries = page.map((e) => ({
      Name: e.name,
      Id: e.id,
      ARN: e.arn,
      LockToken: e.lockToken,
      ...(e.doc.Description ? { Description: e.doc.Description } : {}),
    }));
    return {
      ...(next ? { NextMarker: next } : {}),
      [kind === 'web-acl' ? 'WebACLs' : 'RuleGroups']: summaries,
    };
  }

  /** Apply pending injected changes to `e` (someone else's update between Get and Update). */
  function runInjections(e: Entity): void {
    for (const inj of injections) {
      if (inj.left <= 0) continue;
      const r = inj.ref;
      if (r.name !== e.name || (r.kind ?? e.kind) !== e.kind || (r.scope ?? e.scope) !== e.scope) continue;
      if (regionFor(r.scope ?? e.scope, r.region) !== e.region) continue;
      inj.left--;
      if (inj.change) {
        const text = textForm({ Name: e.name, ...clone(e.doc) }) as WebACL & RuleGroup;
        inj.change(text);
        const { Name: _name, ...rest } = encodeSearchStrings(text) as unknown as Record<string, unknown>;
        e.doc = rest;
      }
      e.lockToken = randomUUID();
    }
  }

  function update(kind: Kind, region: string, body: Record<string, unknown>): Record<string, unknown> {
    const fallback = kind === 'web-acl' ? 'WEB_ACL' : 'RULE_GROUP';
    // Shape of the envelope, then the resource document through the project's schema.
    parseOrReject(
      z.object({ Scope: ScopeSchema, Id: EntityIdSchema, LockToken: LockTokenSchema }),
      body,
      fallback,
    );
    const doc = Object.fromEntries(
      Object.entries(body).filter(([k]) => !(UPDATE_ENVELOPE as readonly string[]).includes(k)),
    );
    const unknown = Object.keys(doc).find((k) => !UPDATE_MEMBERS[kind].includes(k));
    if (unknown !== undefined)
      throw invalidParameter(
        fallback,
        unknown,
        `${unknown} is not a member of Update${kind === 'web-acl' ? 'WebACL' : 'RuleGroup'}Request`,
      );
    checkScope(body.Scope as Scope, region);
    const e = entityOrThrow(kind, region, body as { Name: string; Scope: Scope; Id: string });
    const text = textForm(doc);
    if (kind === 'web-acl') {
      parseOrReject(WebACLSchema, text, fallback);
    } else {
      parseOrReject(RuleGroupSchema, { ...text, Capacity: e.doc.Capacity }, fallback);
    }
    runInjections(e);
    if (body.LockToken !== e.lockToken)
      throw new WafError(
        'WAFOptimisticLockException',
        'AWS WAF couldn’t save your changes because someone changed the resource after you started to edit it. Reapply your changes.',
      );
    const rules = (text.Rules ?? []) as Rule[];
    const wcu = capacityOf(rules, e.region, e.scope);
    const limit = kind === 'web-acl' ? fake.webAclCapacityLimit : (e.doc.Capacity as number);
    if (wcu > limit)
      throw new WafError(
        'WAFLimitsExceededException',
        `AWS WAF couldn’t perform the operation because you exceeded your resource limit. (capacity ${wcu} > ${limit})`,
        { SourceType: kind === 'web-acl' ? 'WebACL' : 'RuleGroup' },
      );
    const { Name: _name, ...next } = doc;
    if (kind === 'web-acl') {
      // Omitted, ApplicationConfig is kept; sent, it must match what is there.
      if (next.ApplicationConfig === undefined) {
        if (e.doc.ApplicationConfig !== undefined) next.ApplicationConfig = e.doc.ApplicationConfig;
      } else if (
        e.doc.ApplicationConfig !== undefined &&
        JSON.stringify(next.ApplicationConfig) !== JSON.stringify(e.doc.ApplicationConfig)
      ) {
        throw invalidParameter(
          'WEB_ACL',
          'ApplicationConfig',
          'existing ApplicationConfig entries cannot be modified',
        );
      }
    } else {
      next.Capacity = e.doc.Capacity;
    }
    e.doc = clone(next);
    e.lockToken = randomUUID();
    return { NextLockToken: e.lockToken };
  }

  const handlers: Record<string, (region: string, body: Record<string, unknown>) => Record<string, unknown>> =
    {
      CheckCapacity(region, body) {
        const req = parseOrReject(CheckCapacityRequest, body, 'RULE');
        checkScope(req.Scope, region);
        const rules = parseOrReject(RulesSchema, textForm(req.Rules), 'RULE', ['Rules']);
        return { Capacity: capacityOf(rules, region, req.Scope) };
      },
      ListWebACLs: (region, body) => list('web-acl', region, body),
      ListRuleGroups: (region, body) => list('rule-group', region, body),
      GetWebACL(region, body) {
        const key = parseOrReject(Key, body, 'WEB_ACL');
        checkScope(key.Scope, region);
        const e = entityOrThrow('web-acl', region, key);
        return { WebACL: describe(e), LockToken: e.lockToken };
      },
      GetRuleGroup(region, body) {
        const key = parseOrReject(Key, body, 'RULE_GROUP');
        checkScope(key.Scope, region);
        const e = entityOrThrow('rule-group', region, key);
        return { RuleGroup: describe(e), LockToken: e.lockToken };
      },
      UpdateWebACL: (region, body) => update('web-acl', region, body),
      UpdateRuleGroup: (region, body) => update('rule-group', region, body),
      CreateRuleGroup(region, body) {
        const {
          Scope: scope,
          Tags,
          ...doc
        } = body as { Scope: Scope; Tags?: unknown } & Record<string, unknown>;
        parseOrReject(ScopeSchema, scope, 'SCOPE_VALUE');
        if (Tags !== undefined) parseOrReject(TagListSchema, Tags, 'TAGS', ['Tags']);
        checkScope(scope, region);
        const text = parseOrReject(RuleGroupSchema, textForm(doc), 'RULE_GROUP');
        if (find('rule-group', region, scope, text.Name))
          throw new WafError(
            'WAFDuplicateItemException',
            'AWS WAF couldn’t perform the operation because some resource in your request is a duplicate of an existing one.',
          );
        const wcu = capacityOf(text.Rules ?? [], region, scope);
        if (wcu > text.Capacity)
          throw new WafError('WAFLimitsExceededException', `capacity ${wcu} > ${text.Capacity}`, {
            SourceType: 'RuleGroup',
          });
        const { Name: _name, ...rest } = doc;
        const r = add('rule-group', { name: text.Name, scope, region }, clone(rest));
        const e = find('rule-group', r.region, scope, text.Name)!;
        return {
          Summary: {
            Name: e.name,
            Id: e.id,
            ARN: e.arn,
            LockToken: e.lockToken,
            ...(text.Description ? { Description: text.Description } : {}),
          },
        };
      },
      GetSampledRequests(region, body) {
        const req = parseOrReject(SampledRequest, body, 'RESOURCE_ARN');
        checkScope(req.Scope, region);
        const e = entityOrThrow('web-acl', region, { ARN: req.WebAclArn });
        const start = req.TimeWindow.StartTime * 1000;
        const end = req.TimeWindow.EndTime * 1000;
        if (end - start > 3 * 3600_000 + 1000)
          throw invalidParameter(
            'RESOURCE_ARN',
            'TimeWindow',
            'the time window may span at most three hours',
          );
        const samples = (e.samples.get(req.RuleMetricName) ?? [])
          .filter((s) => s.at.getTime() >= start && s.at.getTime() <= end)
          .slice(0, req.MaxItems);
        return {
          SampledRequests: samples.map((s) => ({
            Request: {
              ClientIP: s.clientIp ?? '192.0.2.10',
              Country: s.country ?? 'US',
              URI: s.uri,
              Method: s.method ?? 'GET',
              HTTPVersion: 'HTTP/1.1',
              Headers: Object.entries(s.headers ?? {}).map(([Name, Value]) => ({ Name, Value })),
            },
            Weight: s.weight ?? 1,
            Timestamp: s.at.getTime() / 1000,
            Action: s.action ?? 'COUNT',
          })),
          PopulationSize: samples.reduce((n, s) => n + (s.weight ?? 1), 0),
          TimeWindow: req.TimeWindow,
        };
      },
    };

  function send(res: ServerResponse, status: number, payload: unknown, call?: RecordedCall): void {
    if (call) call.status = status;
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUUID(),
    });
    res.end(JSON.stringify(payload));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
    const auth = req.headers.authorization;
    const region = signedRegion(auth);
    let body: Record<string, unknown> = {};
    try {
      body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      body = {};
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      headers[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
    if (headers.authorization)
      headers.authorization = headers.authorization.replace(/Signature=\w+/, 'Signature=[redacted]');
    const call: RecordedCall = { operation, region: region ?? '', headers, body, status: 0 };
    calls.push(call);
    const fail = (e: WafError) => {
      call.error = e.type;
      send(
        res,
        e.status,
        {
          __type: `com.amazonaws.wafv2#${e.type}`,
          ...(e.type === 'WAFInvalidParameterException' ? { message: e.message } : { Message: e.message }),
          ...e.extra,
        },
        call,
      );
    };
    if (req.method !== 'POST' || !target.startsWith(TARGET_PREFIX))
      return fail(new WafError('UnknownOperationException', `unknown target ${target}`));
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1'))
      return fail(new WafError('SerializationException', 'expected application/x-amz-json-1.1'));
    if (!region)
      return fail(
        new WafError('MissingAuthenticationTokenException', 'Missing Authentication Token', {}, 403),
      );
    const handler = handlers[operation];
    if (!handler)
      return fail(new WafError('UnknownOperationException', `${operation} is not supported by the fake`));
    try {
      send(res, 200, handler(region, body), call);
    } catch (e) {
      if (e instanceof WafError) return fail(e);
      fail(new WafError('WAFInternalErrorException', e instanceof Error ? e.message : String(e), {}, 500));
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  function current(kind: Kind, name: string, where: { scope?: Scope; region?: string } = {}): Entity {
    const scope = where.scope ?? 'REGIONAL';
    const e = find(kind, regionFor(scope, where.region), scope, name);
    if (!e) throw new Error(`fake WAFv2: no ${kind} ${name}`);
    return e;
  }

  const fake: FakeWafv2 = {
    url: `http://127.0.0.1:${port}`,
    calls,
    webAclCapacityLimit: options.webAclCapacityLimit ?? 5000,
    pageSize: options.pageSize ?? 100,
    addWebAcl(seed) {
      const webAcl: WebACL = {
        Name: seed.name,
        DefaultAction: seed.defaultAction ?? { Allow: {} },
        Rules: seed.rules ?? [],
        VisibilityConfig: visibility(seed.name),
        ...(seed.description ? { Description: seed.description } : {}),
        ...seed.extra,
      };
      const parsed = WebACLSchema.safeParse(webAcl);
      if (!parsed.success)
        throw new Error(`fake WAFv2: bad seed web ACL: ${JSON.stringify(findingsFromZod(parsed.error))}`);
      const { Name: _name, ...doc } = encodeSearchStrings(webAcl) as unknown as Record<string, unknown>;
      return add('web-acl', seed, doc);
    },
    addRuleGroup(seed) {
      const group: RuleGroup = {
        Name: seed.name,
        Capacity: seed.capacity,
        Rules: seed.rules ?? [],
        VisibilityConfig: visibility(seed.name),
        ...(seed.description ? { Description: seed.description } : {}),
        ...seed.extra,
      };
      const parsed = RuleGroupSchema.safeParse(group);
      if (!parsed.success)
        throw new Error(`fake WAFv2: bad seed rule group: ${JSON.stringify(findingsFromZod(parsed.error))}`);
      const { Name: _name, ...doc } = encodeSearchStrings(group) as unknown as Record<string, unknown>;
      return add('rule-group', seed, doc);
    },
    webAcl(name, where) {
      const e = current('web-acl', name, where);
      return { webAcl: textForm(describe(e)) as unknown as WebACL, lockToken: e.lockToken };
    },
    ruleGroup(name, where) {
      const e = current('rule-group', name, where);
      return { ruleGroup: textForm(describe(e)) as unknown as RuleGroup, lockToken: e.lockToken };
    },
    injectConcurrentChange(ref, change, times = 1) {
      injections.push({ ref, change, left: times });
    },
    addSamples(webAclName, metricName, samples, where) {
      const e = current('web-acl', webAclName, where);
      e.samples.set(metricName, [...(e.samples.get(metricName) ?? []), ...samples]);
    },
    callsOf(operation) {
      return calls.filter((c) => c.operation === operation);
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
