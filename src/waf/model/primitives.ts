// Building blocks for the generated WAFv2 shape schemas (shapes.generated.ts). They encode the API
// model's constraint traits the way the service applies them: string lengths count Unicode code
// points (Smithy's `length` trait), patterns are searched, not anchored (Smithy's `pattern` trait),
// and "union-like" structures must set exactly one member.
import { z } from 'zod';

export interface StringTraits {
  min?: number;
  max?: number;
  pattern?: string;
}

function codePoints(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

export function str(traits: StringTraits): z.ZodType<string> {
  const re = traits.pattern === undefined ? undefined : compileModelPattern(traits.pattern);
  return z.string().check((ctx) => {
    const value = ctx.value;
    const length = codePoints(value);
    if (traits.min !== undefined && length < traits.min) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message:
          traits.min === 1
            ? 'must not be empty'
            : `must be at least ${traits.min} characters (got ${length})`,
      });
    }
    if (traits.max !== undefined && length > traits.max) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: `must be at most ${traits.max} characters (got ${length})`,
      });
    }
    if (re && !re.test(value)) {
      ctx.issues.push({ code: 'custom', input: value, message: `must match the pattern ${traits.pattern}` });
    }
  });
}

/** The model's patterns are Java-flavoured; the only construct JS needs help with is `\p{..}` (needs `u`). */
function compileModelPattern(pattern: string): RegExp {
  // eslint-disable-next-line security/detect-non-literal-regexp -- patterns of the bundled AWS API model, not of any request
  return new RegExp(pattern, pattern.includes('\\p{') ? 'u' : '');
}

export interface NumberTraits {
  min?: number;
  max?: number;
}

export function int(traits: NumberTraits): z.ZodType<number> {
  let schema = z.number().int('must be a whole number');
  if (traits.min !== undefined) schema = schema.min(traits.min, `must be at least ${traits.min}`);
  if (traits.max !== undefined) schema = schema.max(traits.max, `must be at most ${traits.max}`);
  return schema;
}

export function list<T>(member: z.ZodType<T>, traits: NumberTraits): z.ZodType<T[]> {
  let schema = z.array(member);
  if (traits.min !== undefined)
    schema = schema.min(traits.min, `must have at least ${traits.min} item${traits.min === 1 ? '' : 's'}`);
  if (traits.max !== undefined) schema = schema.max(traits.max, `must have at most ${traits.max} items`);
  return schema;
}

export function map<V>(
  key: z.ZodType<string>,
  value: z.ZodType<V>,
  traits: NumberTraits,
): z.ZodType<Record<string, V>> {
  return z.record(key, value).check((ctx) => {
    const n = Object.keys(ctx.value).length;
    if (traits.min !== undefined && n < traits.min)
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `must have at least ${traits.min} entries`,
      });
    if (traits.max !== undefined && n > traits.max)
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `must have at most ${traits.max} entries`,
      });
  });
}

/**
 * WAFv2 "one of" structures (Statement, FieldToMatch, RuleAction, ...) are plain structures in the
 * model, but the service rejects zero or several members with EXACTLY_ONE_CONDITION_REQUIRED.
 */
export function exactlyOne<T extends object>(
  shape: string,
  members: readonly string[],
): (ctx: z.core.ParsePayload<T>) => void {
  return (ctx) => {
    const value = ctx.value as Record<string, unknown>;
    const set = members.filter((m) => value[m] !== undefined);
    if (set.length === 1) return;
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message:
        set.length === 0
          ? `${shape} must set exactly one of: ${members.join(', ')}`
          : `${shape} must set exactly one member, found ${set.length}: ${set.join(', ')}`,
    });
  };
}
