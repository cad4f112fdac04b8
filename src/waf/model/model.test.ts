// Walks the AWS WAFv2 API model (../shared/reference/wafv2-api-model.json) and proves, constraint by
// constraint, that wafgen's schema rejects what the API rejects and accepts what it accepts. For every
// structure reachable from a Rule, RuleGroup, WebACL, IPSet and RegexPatternSet it builds a minimal
// valid document that contains the structure, then changes one thing at a time: drops a required
// member, adds an unknown one, empties or doubles a union, and moves every constrained member to each
// side of its bounds (length, pattern, enum, range, list size). Expected verdicts come from the model
// itself; the few places where the service is stricter than its model are listed in DEVIATIONS.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';

import { sharedPath } from '../../../test/support/shared.js';
import { RuleGroupSchema, RuleSchema, WebACLSchema } from '../schema.js';
import { IPSetSchema, RegexPatternSetSchema } from './shapes.generated.js';

interface Member {
  shape: string;
}
interface Shape {
  type: string;
  required?: string[];
  members?: Record<string, Member>;
  member?: Member;
  key?: Member;
  value?: Member;
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
}

const modelFile = sharedPath('reference', 'wafv2-api-model.json');
const shapes: Record<string, Shape> = modelFile
  ? (JSON.parse(readFileSync(modelFile, 'utf8')) as { shapes: Record<string, Shape> }).shapes
  : {};

const ROOTS: [string, z.ZodType][] = [
  ['Rule', RuleSchema],
  ['RuleGroup', RuleGroupSchema],
  ['WebACL', WebACLSchema],
  ['IPSet', IPSetSchema],
  ['RegexPatternSet', RegexPatternSetSchema],
];

// Independent restatement of where the service is stricter (or, for Id/ARN, looser) than the model.
// Keyed by "Structure.Member". Sources: ../shared/reference/aws-wafv2.md §1 and §5.
const DEVIATIONS = {
  notRequired: new Set(['RuleGroup.Id', 'RuleGroup.ARN', 'WebACL.Id', 'WebACL.ARN', 'IPSet.Id', 'IPSet.ARN']),
  required: new Set(['GeoMatchStatement.CountryCodes']),
  listMin: { 'AndStatement.Statements': 2, 'OrStatement.Statements': 2 } as Record<string, number>,
  listMax: {} as Record<string, number>,
  // Label.Name: the model allows 1,024 characters, but each component is limited to 128 (the minimal
  // sample is one component).
  stringMax: { 'RegexMatchStatement.RegexString': 200, 'Label.Name': 128 } as Record<string, number>,
  numberSet: { 'RateBasedStatement.EvaluationWindowSec': [60, 120, 300, 600] } as Record<string, number[]>,
  // Enum values the model allows but that need companion fields the minimal document lacks.
  enumNeedsMore: {
    'RateBasedStatement.AggregateKeyType': ['FORWARDED_IP', 'CUSTOM_KEYS', 'CONSTANT'],
    'LabelMatchStatement.Scope': ['NAMESPACE'],
  } as Record<string, string[]>,
};
// Quota: at most 10 transformations per statement, wherever a TextTransformations list appears.
for (const s of Object.keys(shapes)) {
  for (const [m, def] of Object.entries(shapes[s]?.members ?? {})) {
    if (def.shape === 'TextTransformations' && s !== 'RateBasedStatementCustomKey')
      DEVIATIONS.listMax[`${s}.${m}`] = 10;
    if (def.shape === 'PreParseTextTransformations') DEVIATIONS.listMax[`${s}.${m}`] = 10;
    if (def.shape === 'CustomHTTPHeaders') DEVIATIONS.listMax[`${s}.${m}`] = 10;
  }
}

const UNIONS = new Set([
  'Statement',
  'FieldToMatch',
  'RuleAction',
  'OverrideAction',
  'DefaultAction',
  'HeaderMatchPattern',
  'CookieMatchPattern',
  'JsonMatchPattern',
  'RateBasedStatementCustomKey',
  'FirewallManagerStatement',
  'ManagedRuleGroupConfig',
]);

const UUID = 'a1b2c3d4-5678-90ab-cdef-0123456789ab';
const STRING_SAMPLES: Record<string, string> = {
  EntityId: UUID,
  LockToken: UUID,
  ResourceArn: 'arn:aws:wafv2:us-east-1:123456789012:regional/ipset/sample/' + UUID,
  LabelNamespace: 'ns:',
  JsonPointerPath: '/a',
  EntityDescription: 'abc',
  PriceMultiplier: '1',
  PriceAmount: '1',
  WalletAddress: 'w'.repeat(30),
  IPAddress: '192.0.2.0/24',
  TimeWindowSecond: '300',
};
const NUMBER_SAMPLES: Record<string, number> = {
  TimeWindowSecond: 300,
  EvaluationWindowSec: 300,
  RateLimit: 100,
  ResponseStatusCode: 403,
  CapacityUnit: 100,
};

function sampleString(name: string, s: Shape): string {
  if (s.enum) return s.enum[0]!;
  const sample = STRING_SAMPLES[name] ?? 'a'.repeat(Math.max(1, s.min ?? 1));
  return sample;
}

function patternOf(s: Shape): RegExp | undefined {
  return s.pattern === undefined ? undefined : new RegExp(s.pattern, 'u');
}
const codePoints = (v: string): number => [...v].length;
function modelAcceptsString(s: Shape, v: string): boolean {
  if (s.min !== undefined && codePoints(v) < s.min) return false;
  if (s.max !== undefined && codePoints(v) > s.max) return false;
  const re = patternOf(s);
  return re ? re.test(v) : true;
}

interface Built {
  value: unknown;
  /** The object or array at the end of the requested path. */
  target: unknown;
}

/** A minimal valid value of `name`, following `path` (member names; '[]' steps into a list item). */
function build(name: string, path: readonly string[] = []): Built {
  const s = shapes[name]!;
  switch (s.type) {
    case 'string':
      return { value: sampleString(name, s), target: undefined };
    case 'blob':
      return { value: 'a', target: undefined };
    case 'boolean':
      return { value: true, target: undefined };
    case 'long':
    case 'integer':
      return { value: NUMBER_SAMPLES[name] ?? Math.max(0, s.min ?? 0), target: undefined };
    // Lists and maps are transparent on a path: the path continues inside their single item.
    case 'list': {
      const inner = build(s.member!.shape, path);
      return { value: [inner.value], target: inner.target };
    }
    case 'map': {
      const inner = build(s.value!.shape, path);
      const key = sampleString(s.key!.shape, shapes[s.key!.shape]!);
      return { value: { [key]: inner.value }, target: inner.target };
    }
    case 'structure':
      return buildStructure(name, s, path);
    default:
      throw new Error(`unexpected ${s.type}`);
  }
}

function buildStructure(name: string, s: Shape, path: readonly string[]): Built {
  const members = s.members ?? {};
  const next = path[0];
  const include = new Set<string>();
  if (UNIONS.has(name)) include.add(next ?? Object.keys(members)[0]!);
  else {
    for (const r of s.required ?? []) if (!DEVIATIONS.notRequired.has(`${name}.${r}`)) include.add(r);
    for (const r of DEVIATIONS.required) if (r.startsWith(`${name}.`)) include.add(r.split('.')[1]!);
    if (next) include.add(next);
  }
  const obj: Record<string, unknown> = {};
  let target: unknown = obj;
  for (const m of include) {
    const built = build(members[m]!.shape, m === next ? path.slice(1) : []);
    obj[m] = built.value;
    if (m === next) target = built.target;
  }
  applySemantics(name, obj, next);
  return { value: obj, target };
}

/** Companion fields the service needs beyond the model (see ../constraints.ts) when `next` is set. */
function applySemantics(name: string, obj: Record<string, unknown>, next: string | undefined): void {
  if (name === 'Rule') {
    if (next === 'OverrideAction')
      obj.Statement = { ManagedRuleGroupStatement: build('ManagedRuleGroupStatement').value };
    const statement = obj.Statement as Record<string, unknown>;
    const isGroupRef = 'ManagedRuleGroupStatement' in statement || 'RuleGroupReferenceStatement' in statement;
    if (isGroupRef) {
      if (next !== 'OverrideAction') obj.OverrideAction = { None: {} };
      delete obj.Action;
      delete obj.RuleLabels;
    } else if (next !== 'Action') obj.Action = { Block: {} };
  }
  if (name === 'AndStatement' || name === 'OrStatement') {
    const list = obj.Statements as unknown[];
    if (list.length < 2) list.push(build('Statement').value);
  }
  if (name === 'RateBasedStatement' && next === 'CustomKeys') {
    obj.AggregateKeyType = 'CUSTOM_KEYS';
    const keys = (obj.CustomKeys ?? []) as Record<string, unknown>[];
    if (keys.length > 0 && keys.every((k) => 'IP' in k || 'ForwardedIP' in k)) keys.push({ HTTPMethod: {} });
    if (keys.some((k) => 'ForwardedIP' in k)) obj.ForwardedIPConfig = build('ForwardedIPConfig').value;
  }
  if (name === 'RateBasedStatement' && next === 'ScopeDownStatement') obj.AggregateKeyType = 'CONSTANT';
  if (next === 'PreParseTextTransformations') obj.FieldToMatch = { AllQueryArguments: {} };
}

/** Shortest member path from each root to every structure shape reachable from it. */
function reachable(): Map<string, { root: string; path: string[] }> {
  const found = new Map<string, { root: string; path: string[] }>();
  for (const [root] of ROOTS) {
    const queue: { shape: string; path: string[] }[] = [{ shape: root, path: [] }];
    while (queue.length > 0) {
      const { shape, path } = queue.shift()!;
      const s = shapes[shape]!;
      if (s.type === 'structure') {
        if (found.has(shape)) continue;
        found.set(shape, { root, path });
        for (const [m, def] of Object.entries(s.members ?? {}))
          queue.push({ shape: def.shape, path: [...path, m] });
      } else if (s.type === 'list') {
        queue.push({ shape: s.member!.shape, path });
      } else if (s.type === 'map') {
        queue.push({ shape: s.value!.shape, path });
      }
    }
  }
  return found;
}

function listItems(memberShape: string, n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => {
    const v = build(memberShape).value;
    if (memberShape === 'TextTransformation' || memberShape === 'PreParseTextTransformation')
      (v as { Priority: number }).Priority = i;
    if (memberShape === 'CustomHTTPHeader') (v as { Name: string }).Name = `x-h${i}`;
    if (memberShape === 'Rule') Object.assign(v as object, { Name: `r${i}`, Priority: i });
    return v;
  });
}

interface Case {
  title: string;
  mutate: (target: Record<string, unknown>) => void;
  accept: boolean;
}

/** Every constraint the model puts on member `m` of structure `name`, as cases to try. */
function casesForMember(name: string, m: string, shapeName: string): Case[] {
  const key = `${name}.${m}`;
  const t = shapes[shapeName]!;
  const cases: Case[] = [];
  const set = (v: unknown) => (o: Record<string, unknown>) => {
    o[m] = v;
  };
  if (t.type === 'string' && t.enum) {
    const needsMore = DEVIATIONS.enumNeedsMore[key] ?? [];
    for (const v of t.enum)
      cases.push({ title: `${key} = ${v}`, mutate: set(v), accept: !needsMore.includes(v) });
    cases.push({ title: `${key} = an unknown value`, mutate: set('NOT_A_VALUE'), accept: false });
    cases.push({
      title: `${key} in lower case`,
      mutate: set(t.enum[0]!.toLowerCase()),
      accept: t.enum[0] === t.enum[0]!.toLowerCase(),
    });
    cases.push({ title: `${key} as a number`, mutate: set(1), accept: false });
  } else if (t.type === 'string') {
    const sample = sampleString(shapeName, t);
    const max = DEVIATIONS.stringMax[key] ?? t.max;
    if (max !== undefined) {
      const long =
        sample.length > 1 ? sample[0]!.repeat(max - sample.length + 1) + sample.slice(1) : sample.repeat(max);
      if (modelAcceptsString({ ...t, max }, long))
        cases.push({ title: `${key} at its maximum length ${max}`, mutate: set(long), accept: true });
      const tooLong = sample[0]!.repeat(max + 1 - sample.length + 1) + sample.slice(1);
      cases.push({ title: `${key} one character over ${max}`, mutate: set(tooLong), accept: false });
    }
    if (t.min !== undefined && t.min > 0)
      cases.push({ title: `${key} empty`, mutate: set(''), accept: false });
    const re = patternOf(t);
    if (re) {
      const bad = ['bad value!', ' ', '\n', 'a b', '~', 'ü', '#', ':', '/', 'x'].find(
        (c) =>
          !re.test(c) &&
          (t.min === undefined || codePoints(c) >= t.min) &&
          (t.max === undefined || codePoints(c) <= t.max),
      );
      if (bad !== undefined)
        cases.push({
          title: `${key} = ${JSON.stringify(bad)} (breaks ${t.pattern})`,
          mutate: set(bad),
          accept: false,
        });
    }
    cases.push({ title: `${key} as a number`, mutate: set(7), accept: false });
  } else if (t.type === 'long' || t.type === 'integer') {
    const allowed = DEVIATIONS.numberSet[key];
    if (allowed) {
      for (const v of allowed) cases.push({ title: `${key} = ${v}`, mutate: set(v), accept: true });
      cases.push({ title: `${key} = ${allowed[0]! + 1}`, mutate: set(allowed[0]! + 1), accept: false });
    }
    if (t.min !== undefined) {
      if (!allowed) cases.push({ title: `${key} at its minimum ${t.min}`, mutate: set(t.min), accept: true });
      cases.push({ title: `${key} below its minimum`, mutate: set(t.min - 1), accept: false });
    }
    if (t.max !== undefined) {
      if (!allowed) cases.push({ title: `${key} at its maximum ${t.max}`, mutate: set(t.max), accept: true });
      cases.push({ title: `${key} above its maximum`, mutate: set(t.max + 1), accept: false });
    }
    cases.push({ title: `${key} not a whole number`, mutate: set(10.5), accept: false });
    cases.push({ title: `${key} as a string`, mutate: set('10'), accept: false });
  } else if (t.type === 'boolean') {
    cases.push({ title: `${key} = false`, mutate: set(false), accept: true });
    cases.push({ title: `${key} as a string`, mutate: set('true'), accept: false });
  } else if (t.type === 'blob') {
    cases.push({ title: `${key} of 200 bytes`, mutate: set('a'.repeat(200)), accept: true });
    cases.push({
      title: `${key} of 200 bytes in 100 two-byte characters`,
      mutate: set('é'.repeat(100)),
      accept: true,
    });
    cases.push({ title: `${key} of 201 bytes`, mutate: set('a'.repeat(201)), accept: false });
    cases.push({
      title: `${key} of 202 bytes in 101 two-byte characters`,
      mutate: set('é'.repeat(101)),
      accept: false,
    });
  } else if (t.type === 'list') {
    const min = DEVIATIONS.listMin[key] ?? t.min;
    const max = DEVIATIONS.listMax[key] ?? t.max;
    const item = t.member!.shape;
    if (min !== undefined && min > 0) {
      cases.push({ title: `${key} with ${min} items`, mutate: set(listItems(item, min)), accept: true });
      cases.push({
        title: `${key} with ${min - 1} items`,
        mutate: set(listItems(item, min - 1)),
        accept: false,
      });
    }
    if (max !== undefined) {
      cases.push({ title: `${key} with ${max} items`, mutate: set(listItems(item, max)), accept: true });
      cases.push({
        title: `${key} with ${max + 1} items`,
        mutate: set(listItems(item, max + 1)),
        accept: false,
      });
    }
    cases.push({ title: `${key} not a list`, mutate: set({}), accept: false });
    const itemShape = shapes[item]!;
    if (itemShape.type === 'string' && !itemShape.enum && itemShape.pattern) {
      for (const c of casesForMember(name, m, item)) {
        if (c.accept) continue;
        cases.push({
          title: `${c.title} (as a list item)`,
          mutate: (o) => {
            const holder: Record<string, unknown> = {};
            c.mutate(holder);
            o[m] = [holder[m]];
          },
          accept: false,
        });
      }
    }
  } else if (t.type === 'map' && t.min !== undefined && t.min > 0) {
    cases.push({ title: `${key} empty`, mutate: set({}), accept: false });
  }
  return cases;
}

function verdict(schema: z.ZodType, doc: unknown): { ok: boolean; issues: string } {
  const r = schema.safeParse(doc);
  return {
    ok: r.success,
    issues: r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
  };
}

describe.skipIf(!modelFile)('schema against the WAFv2 API model', () => {
  const found = modelFile ? reachable() : new Map<string, { root: string; path: string[] }>();
  const schemaOf = new Map(ROOTS);

  it('reaches every statement type, field and action the model defines', () => {
    for (const union of ['Statement', 'FieldToMatch', 'RuleAction']) {
      for (const m of Object.values(shapes[union]!.members!)) expect(found.has(m.shape), m.shape).toBe(true);
    }
    expect(found.size).toBeGreaterThan(100);
  });

  for (const [shapeName, { root, path }] of found) {
    const s = shapes[shapeName]!;
    describe(`${shapeName} (via ${[root, ...path].join('.')})`, () => {
      const fresh = (): { doc: unknown; target: Record<string, unknown> } => {
        const b = build(root, path);
        return { doc: b.value, target: (b.target ?? b.value) as Record<string, unknown> };
      };
      const schema = schemaOf.get(root)!;

      it('accepts the minimal valid document', () => {
        const { doc } = fresh();
        const v = verdict(schema, doc);
        expect(v.issues).toBe('');
      });

      it('rejects an unknown member', () => {
        const { doc, target } = fresh();
        target.NotAMember = 1;
        expect(verdict(schema, doc).ok).toBe(false);
      });

      for (const r of s.required ?? []) {
        const key = `${shapeName}.${r}`;
        const required = !DEVIATIONS.notRequired.has(key);
        it(`${required ? 'rejects' : 'accepts'} a missing ${r}`, () => {
          const { doc, target } = fresh();
          delete target[r];
          if (shapeName === 'Rule' && r === 'Statement') return; // the action depends on it; covered below
          expect(verdict(schema, doc).ok).toBe(!required);
        });
      }
      for (const r of DEVIATIONS.required) {
        if (!r.startsWith(`${shapeName}.`)) continue;
        it(`rejects a missing ${r.split('.')[1]} (required by the service)`, () => {
          const { doc, target } = fresh();
          delete target[r.split('.')[1]!];
          expect(verdict(schema, doc).ok).toBe(false);
        });
      }

      if (UNIONS.has(shapeName)) {
        const members = Object.keys(s.members ?? {});
        it('rejects no member set (exactly one required)', () => {
          const { doc, target } = fresh();
          for (const m of members) delete target[m];
          expect(verdict(schema, doc).ok).toBe(false);
        });
        if (members.length > 1) {
          it('rejects two members set', () => {
            const { doc, target } = fresh();
            const present = members.find((m) => target[m] !== undefined)!;
            const other = members.find((m) => m !== present)!;
            target[other] = build(s.members![other]!.shape).value;
            expect(verdict(schema, doc).ok).toBe(false);
          });
        }
      }

      for (const [m, def] of Object.entries(s.members ?? {})) {
        for (const c of casesForMember(shapeName, m, def.shape)) {
          it(`${c.accept ? 'accepts' : 'rejects'} ${c.title}`, () => {
            const { doc, target } = fresh();
            // In a union the member under test replaces whichever one the minimal document chose.
            if (UNIONS.has(shapeName)) for (const other of Object.keys(s.members ?? {})) delete target[other];
            applySemantics(shapeName, target, m);
            c.mutate(target);
            const v = verdict(schema, doc);
            expect(v.ok, v.issues || 'accepted').toBe(c.accept);
          });
        }
      }
    });
  }
});
