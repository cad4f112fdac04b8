// Compiles a Statement tree once into closures, so evaluating many requests does no repeated work:
// search strings become byte strings, transformation chains and regexes are built once, IP sets
// become address ranges. Per request, extracted and transformed fields are memoised, so statements that
// inspect the same component with the same transformations share the work (as AWS does).
//
// The memo is two arrays on the evaluation context, indexed by slots numbered at compile time for the
// whole document (nested rule groups included): one slot per distinct field (FieldToMatch + pre-parse
// transformations, compared canonically), one per distinct transformation chain prefix of that field.
// Chains share their prefixes: [URL_DECODE, LOWERCASE] reuses the [URL_DECODE] values another
// statement computed. No string key is built per request. With the other changes of issue 13
// (boolean regex tests, LOWERCASE, URL_DECODE, the libinjection scratch state), npm run bench:engine
// on the same quiet 2-core machine went from 22.8-24.0k to 43-46k requests/s, p50 32-33 -> 14 µs.

import { limitOf, shortPath } from '../core/limits.js';
import type { FieldToMatch, Statement, TextTransformation } from '../waf/model/shapes.generated.js';
import { statementKind } from '../waf/statements.js';
import { compileRegex } from '../waf/regex.js';
import { formatPath, type JsonPath } from '../waf/findings.js';
import { utf8ToByteString } from '../core/bytes.js';
import { detectSqli, detectXss } from './detect/index.js';
import { byteMatchOffset } from './match/byte-match.js';
import { type HttpRequest, headerValues } from '../requests/model.js';
import { resolveTextTransformations, type Transform } from './transforms/index.js';
import { extractField, type FieldValues } from './fields.js';
import { compileIpSet, forwardedIps, ipInSet, isValidIp, type IpSet } from './ip.js';
import { labelMatches } from './labels.js';
import type { EvaluateOptions } from './options.js';
import { excerpt, type StatementTrace, type Verdict } from './trace.js';
import { canonicalKey } from './canonical.js';

/** What one request's evaluation carries from statement to statement. Never outlives the request. */
export interface EvalContext {
  req: HttpRequest;
  options: EvaluateOptions;
  /** Labels on the request so far (fully qualified). */
  labels: readonly string[];
  /** Namespace prefix of the rule being evaluated, for unqualified label keys. */
  labelPrefix: string;
  /** Extracted fields by field slot (see `Slots`). */
  fields: (FieldValues | undefined)[];
  /** Field values after a transformation chain prefix, by chain slot (see `Slots`). */
  chains: (string[] | undefined)[];
  trace: StatementTrace[] | undefined;
  /** Nested rule groups (RuleGroupReferenceStatement) are evaluated through this hook. */
  evaluateGroup?: (arn: string, ctx: EvalContext) => Verdict;
}

export type CompiledStatement = (ctx: EvalContext) => Verdict;

/**
 * Limits that keep a hostile rule from costing more than linear time or blowing the stack: wafgen's
 * input limits (core/limits.ts), which `validateRuleDocument` already holds every document to.
 */
const MAX_DEPTH = limitOf('statement-depth');
const MAX_STATEMENTS = limitOf('statements-per-rule');

export class RuleCompileError extends Error {}

/**
 * Numbers the memo slots of one compiled document: equal keys get the same slot. Lives only while
 * the document compiles; the counts size the per-request memo arrays.
 */
export class Slots {
  private readonly fieldIds = new Map<string, number>();
  private readonly chainIds = new Map<string, number>();

  get fieldCount(): number {
    return this.fieldIds.size;
  }

  get chainCount(): number {
    return this.chainIds.size;
  }

  field(key: string): number {
    return intern(this.fieldIds, key);
  }

  chain(key: string): number {
    return intern(this.chainIds, key);
  }

  private readonly steps = new Map<number, ChainStep>();
  private readonly byType = new Map<string, ChainStep[]>();

  /** The step for chain prefix `key`, whose input is slot `parent`; `typeKey` names field + type. */
  step(key: string, parent: number, typeKey: string, fn: Transform): ChainStep {
    const slot = this.chain(key);
    let step = this.steps.get(slot);
    if (step === undefined) {
      let sameType = this.byType.get(typeKey);
      if (sameType === undefined) {
        sameType = [];
        this.byType.set(typeKey, sameType);
      }
      step = { slot, parent, fn, sameType };
      sameType.push(step);
      this.steps.set(slot, step);
    }
    return step;
  }
}

function intern(ids: Map<string, number>, key: string): number {
  let id = ids.get(key);
  if (id === undefined) {
    id = ids.size;
    ids.set(key, id);
  }
  return id;
}

/** One statement's matcher: a boolean test, and the offset of the first match for traces. */
interface Matcher {
  test(value: string): boolean;
  /** Offset of the first match in `value`, or -1. */
  offset(value: string): number;
}

const fromOffset = (offset: (value: string) => number): Matcher => ({
  test: (v) => offset(v) >= 0,
  offset,
});

/** One transformation of a chain: its memo slot, the slot of its input, and its function. */
interface ChainStep {
  slot: number;
  parent: number;
  fn: Transform;
  /**
   * Every step of the document that applies the same transformation to the same field (this one
   * included), filled in while the document compiles. When another of them already ran on the very
   * same input array, its output is this step's output: e.g. [URL_DECODE, LOWERCASE] on headers
   * that hold no escape reuses what [LOWERCASE] computed, as URL_DECODE returned its input as is.
   */
  sameType: ChainStep[];
}

function compileField(
  field: FieldToMatch,
  transformations: readonly TextTransformation[],
  preParse: readonly { Priority: number; Type: string }[] | undefined,
  slots: Slots,
) {
  const fieldSlot = slots.field(canonicalKey([field, preParse ?? null]));
  const resolved = resolveTextTransformations(transformations);
  const names = resolved.map((t) => t.type);
  // NONE changes nothing, so [NONE, LOWERCASE] shares the [LOWERCASE] slot.
  const steps = resolved.filter((t) => t.type !== 'NONE');
  const rawSlot = slots.chain(`${fieldSlot}:`);
  const chain: ChainStep[] = [];
  let parent = rawSlot;
  for (let i = 0; i < steps.length; i++) {
    const key = `${fieldSlot}:${steps
      .slice(0, i + 1)
      .map((x) => x.type)
      .join(',')}`;
    const step = slots.step(key, parent, `${fieldSlot}:${steps[i]!.type}`, steps[i]!.fn);
    chain.push(step);
    parent = step.slot;
  }
  const last = chain.length > 0 ? chain[chain.length - 1]!.slot : rawSlot;
  return {
    names,
    /** Raw extraction (memoised per request). */
    extract(ctx: EvalContext): FieldValues {
      let v = ctx.fields[fieldSlot];
      if (v === undefined) {
        v = extractField(field, ctx.req, ctx.options, preParse as never);
        ctx.fields[fieldSlot] = v;
      }
      return v;
    },
    /** Transformed values aligned with the extracted items (memoised per request, by chain prefix). */
    transformed(ctx: EvalContext, items: readonly { value: string }[]): string[] {
      const memo = ctx.chains;
      const done = memo[last];
      if (done !== undefined) return done;
      // Start from the longest prefix some statement already computed for this request.
      let i = chain.length - 1;
      while (i >= 0 && memo[chain[i]!.slot] === undefined) i--;
      let values = i >= 0 ? memo[chain[i]!.slot]! : memo[rawSlot];
      if (values === undefined) {
        values = items.map((item) => item.value);
        memo[rawSlot] = values;
      }
      for (i++; i < chain.length; i++) {
        const step = chain[i]!;
        values = applyStep(memo, step, values);
        memo[step.slot] = values;
      }
      return values;
    },
  };
}

/**
 * `step` applied to `values`, reusing the output of a same-type step that ran on the same array.
 * The result is `values` itself when the transformation changed nothing, so the identity carries
 * down the chain. bench:engine's rules read headers with [URL_DECODE, LOWERCASE] and [LOWERCASE], the
 * query with [URL_DECODE(, URL_DECODE), LOWERCASE]: engine/baseline CPU-time ratio 1.68-1.80 before,
 * 1.49-1.64 after (three runs each, a scratch copy of the bench, 2026-12, shared machine).
 */
function applyStep(memo: (string[] | undefined)[], step: ChainStep, values: string[]): string[] {
  for (const other of step.sameType) {
    if (other !== step && memo[other.parent] === values) {
      const out = memo[other.slot];
      if (out !== undefined) return out;
    }
  }
  const fn = step.fn;
  let out: string[] | undefined;
  for (let j = 0; j < values.length; j++) {
    const v = values[j]!;
    const t = fn(v);
    if (out === undefined && t !== v) out = values.slice(0, j);
    out?.push(t);
  }
  return out ?? values;
}

function fieldStatement(
  path: JsonPath,
  kind: string,
  s: {
    FieldToMatch: FieldToMatch;
    TextTransformations: TextTransformation[];
    PreParseTextTransformations?: { Priority: number; Type: string }[];
  },
  match: Matcher,
  options: EvaluateOptions,
  slots: Slots,
  describe?: (value: string) => string | undefined,
): CompiledStatement {
  const field = compileField(s.FieldToMatch, s.TextTransformations, s.PreParseTextTransformations, slots);
  if (options.trace === false) {
    // No trace: a boolean test is enough, and RE2JS#test skips the Matcher and its capture
    // positions: bench:engine's baseline loop took 168 ms per pass with matcher().find() and 144 ms
    // with test(), nothing else changed (a scratch copy of the bench, 2026-12).
    const test = match.test;
    return (ctx) => {
      const extracted = field.extract(ctx);
      if (extracted.kind === 'fixed') return extracted.matched;
      const transformed = field.transformed(ctx, extracted.items);
      for (let i = 0; i < transformed.length; i++) if (test(transformed[i]!)) return true;
      return false;
    };
  }
  const p = formatPath(path);
  return (ctx) => {
    const extracted = field.extract(ctx);
    if (extracted.kind === 'fixed') {
      ctx.trace?.push({ path: p, statement: kind, verdict: extracted.matched, reason: extracted.reason });
      return extracted.matched;
    }
    const transformed = field.transformed(ctx, extracted.items);
    for (let i = 0; i < transformed.length; i++) {
      const value = transformed[i]!;
      const offset = match.offset(value);
      if (offset >= 0) {
        ctx.trace?.push({
          path: p,
          statement: kind,
          verdict: true,
          where: extracted.items[i]!.where,
          value: excerpt(value, offset),
          offset,
          transformations: field.names,
          ...(describe ? { reason: describe(value) } : {}),
        });
        return true;
      }
    }
    ctx.trace?.push({
      path: p,
      statement: kind,
      verdict: false,
      transformations: field.names,
      reason:
        extracted.items.length === 0
          ? 'nothing to inspect'
          : `no match in ${extracted.items.length} value(s)`,
    });
    return false;
  };
}

const unknown =
  (p: string, kind: string, reason: string): CompiledStatement =>
  (ctx) => {
    ctx.trace?.push({ path: p, statement: kind, verdict: 'unknown', reason });
    return 'unknown';
  };

/** Client IP as a statement with an optional forwarded-IP config sees it. */
function clientIps(
  ctx: EvalContext,
  config: { HeaderName: string; FallbackBehavior: string; Position?: string } | undefined,
): { ips: string[] } | { fixed: boolean; reason: string } {
  if (!config)
    return ctx.req.clientIp
      ? { ips: [ctx.req.clientIp] }
      : { fixed: false, reason: 'no client IP on the request' };
  const header = headerValues(ctx.req, config.HeaderName)[0];
  if (header === undefined) return { fixed: false, reason: `no ${config.HeaderName} header` };
  const all = forwardedIps(header);
  const pick =
    config.Position === 'LAST' ? all.slice(-1) : config.Position === 'ANY' ? all.slice(-10) : all.slice(0, 1);
  if (pick.length === 0 || pick.some((ip) => !isValidIp(ip))) {
    return {
      fixed: config.FallbackBehavior === 'MATCH',
      reason: `invalid IP in ${config.HeaderName} (FallbackBehavior ${config.FallbackBehavior})`,
    };
  }
  return { ips: pick };
}

export function compileStatement(
  root: Statement,
  rootPath: JsonPath,
  options: EvaluateOptions,
  slots: Slots,
): CompiledStatement {
  let count = 0;
  const compile = (s: Statement, path: JsonPath, depth: number): CompiledStatement => {
    if (++count > MAX_STATEMENTS)
      throw new RuleCompileError(
        `the rule has more than ${MAX_STATEMENTS} statements (WAFGEN limit statements-per-rule)`,
      );
    if (depth > MAX_DEPTH)
      throw new RuleCompileError(
        `statements are nested more than ${MAX_DEPTH} levels deep (WAFGEN limit statement-depth) at ${shortPath(formatPath(path))}`,
      );
    const kind = statementKind(s);
    const p = formatPath(path);
    switch (kind) {
      case 'ByteMatchStatement': {
        const b = s.ByteMatchStatement!;
        const search = utf8ToByteString(b.SearchString);
        const positional = b.PositionalConstraint;
        return fieldStatement(
          path,
          kind,
          b,
          fromOffset((v) => byteMatchOffset(v, search, positional)),
          options,
          slots,
        );
      }
      case 'RegexMatchStatement': {
        const r = s.RegexMatchStatement!;
        const re = compileRegex(r.RegexString);
        return fieldStatement(
          path,
          kind,
          r,
          {
            test: (v) => re.test(v),
            offset: (v) => {
              const m = re.matcher(v);
              return m.find() ? m.start() : -1;
            },
          },
          options,
          slots,
        );
      }
      case 'RegexPatternSetReferenceStatement': {
        const r = s.RegexPatternSetReferenceStatement!;
        const patterns = options.regexPatternSets?.[r.ARN];
        if (!patterns) return unknown(p, kind, `regex pattern set ${r.ARN} not supplied (--pattern-set)`);
        const res = patterns.map((x) => compileRegex(x));
        return fieldStatement(
          path,
          kind,
          r,
          {
            test: (v) => res.some((re) => re.test(v)),
            offset: (v) => {
              for (const re of res) {
                const m = re.matcher(v);
                if (m.find()) return m.start();
              }
              return -1;
            },
          },
          options,
          slots,
        );
      }
      case 'SqliMatchStatement': {
        const q = s.SqliMatchStatement!;
        const level = q.SensitivityLevel ?? 'LOW';
        return fieldStatement(
          path,
          kind,
          q,
          fromOffset((v) => (detectSqli(v, level).matched ? 0 : -1)),
          options,
          slots,
          (v) => {
            const r = detectSqli(v, level);
            return r.fingerprint ? `SQL injection (${level}), fingerprint ${r.fingerprint}` : undefined;
          },
        );
      }
      case 'XssMatchStatement': {
        const x = s.XssMatchStatement!;
        return fieldStatement(
          path,
          kind,
          x,
          fromOffset((v) => (detectXss(v).matched ? 0 : -1)),
          options,
          slots,
          (v) => detectXss(v).reason,
        );
      }
      case 'SizeConstraintStatement': {
        const z = s.SizeConstraintStatement!;
        const cmp = {
          EQ: (a: number) => a === z.Size,
          NE: (a: number) => a !== z.Size,
          LE: (a: number) => a <= z.Size,
          LT: (a: number) => a < z.Size,
          GE: (a: number) => a >= z.Size,
          GT: (a: number) => a > z.Size,
        }[z.ComparisonOperator];
        return fieldStatement(
          path,
          kind,
          z,
          fromOffset((v) => (cmp(v.length) ? 0 : -1)),
          options,
          slots,
          (v) => `size ${v.length} ${z.ComparisonOperator} ${z.Size}`,
        );
      }
      case 'GeoMatchStatement': {
        const g = s.GeoMatchStatement!;
        const codes = new Set(g.CountryCodes ?? []);
        return (ctx) => {
          if (g.ForwardedIPConfig) {
            const ips = clientIps(ctx, g.ForwardedIPConfig);
            if ('fixed' in ips) {
              ctx.trace?.push({ path: p, statement: kind, verdict: ips.fixed, reason: ips.reason });
              return ips.fixed;
            }
            ctx.trace?.push({
              path: p,
              statement: kind,
              verdict: 'unknown',
              reason: 'the country of a forwarded IP is not known locally',
            });
            return 'unknown';
          }
          if (!ctx.req.country) {
            ctx.trace?.push({
              path: p,
              statement: kind,
              verdict: 'unknown',
              reason: 'the request has no country',
            });
            return 'unknown';
          }
          const matched = codes.has(ctx.req.country as never);
          ctx.trace?.push({
            path: p,
            statement: kind,
            verdict: matched,
            where: 'country',
            value: ctx.req.country,
          });
          return matched;
        };
      }
      case 'AsnMatchStatement': {
        const a = s.AsnMatchStatement!;
        const asns = new Set(a.AsnList);
        return (ctx) => {
          if (a.ForwardedIPConfig || ctx.req.asn === undefined) {
            ctx.trace?.push({
              path: p,
              statement: kind,
              verdict: 'unknown',
              reason: 'the ASN is not known locally',
            });
            return 'unknown';
          }
          const matched = asns.has(ctx.req.asn);
          ctx.trace?.push({
            path: p,
            statement: kind,
            verdict: matched,
            where: 'asn',
            value: String(ctx.req.asn),
          });
          return matched;
        };
      }
      case 'IPSetReferenceStatement': {
        const r = s.IPSetReferenceStatement!;
        const addresses = options.ipSets?.[r.ARN];
        if (!addresses) return unknown(p, kind, `IP set ${r.ARN} not supplied (--ip-set)`);
        const list: IpSet = compileIpSet(addresses);
        return (ctx) => {
          const ips = clientIps(ctx, r.IPSetForwardedIPConfig);
          if ('fixed' in ips) {
            ctx.trace?.push({ path: p, statement: kind, verdict: ips.fixed, reason: ips.reason });
            return ips.fixed;
          }
          const hit = ips.ips.find((ip) => ipInSet(list, ip));
          ctx.trace?.push({
            path: p,
            statement: kind,
            verdict: hit !== undefined,
            where: 'client-ip',
            value: hit ?? ips.ips.join(', '),
          });
          return hit !== undefined;
        };
      }
      case 'LabelMatchStatement': {
        const l = s.LabelMatchStatement!;
        return (ctx) => {
          const hit = ctx.labels.find((label) => labelMatches(label, l.Scope, l.Key, ctx.labelPrefix));
          ctx.trace?.push({
            path: p,
            statement: kind,
            verdict: hit !== undefined,
            where: 'labels',
            ...(hit ? { value: hit } : {}),
          });
          return hit !== undefined;
        };
      }
      case 'AndStatement':
      case 'OrStatement': {
        const isAnd = kind === 'AndStatement';
        const children = s[kind]!.Statements.map((c, i) =>
          compile(c, [...path, kind, 'Statements', i], depth + 1),
        );
        return (ctx) => {
          let sawUnknown = false;
          for (const child of children) {
            const v = child(ctx);
            if (v === 'unknown') sawUnknown = true;
            else if (v !== isAnd) return v; // AND stops at false, OR at true
          }
          return sawUnknown ? 'unknown' : isAnd;
        };
      }
      case 'NotStatement': {
        const child = compile(s.NotStatement!.Statement, [...path, kind, 'Statement'], depth + 1);
        return (ctx) => {
          const v = child(ctx);
          return v === 'unknown' ? v : !v;
        };
      }
      case 'RateBasedStatement':
        return unknown(p, kind, 'rate-based rules depend on request rates, not on one request');
      case 'ManagedRuleGroupStatement': {
        const m = s.ManagedRuleGroupStatement!;
        return unknown(
          p,
          kind,
          `managed rule group ${m.VendorName}:${m.Name} is not simulated (its rules are not published)`,
        );
      }
      case 'RuleGroupReferenceStatement': {
        const arn = s.RuleGroupReferenceStatement!.ARN;
        if (!options.ruleGroups?.[arn]) return unknown(p, kind, `rule group ${arn} not supplied`);
        return (ctx) => ctx.evaluateGroup?.(arn, ctx) ?? 'unknown';
      }
    }
  };
  return compile(root, rootPath, 0);
}
