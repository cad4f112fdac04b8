// The output schema given to the model: strict-mode friendly JSON Schema, bounded depth, every
// FieldToMatch and TextTransformation type, and validation loose enough that mistakes reach the
// real schema (and come back as findings) instead of failing the call.
import { asSchema } from 'ai';
import { describe, expect, it } from 'vitest';

import { LlmRuleOutput, OUTPUT_STATEMENT_TYPES } from '../../../src/generation/llm/index.js';
import { TextTransformationTypeValues } from '../../../src/waf/model/shapes.generated.js';
import { GOOD, OR_OF_ONE } from './fixtures.js';

type Json = Record<string, unknown>;

async function jsonSchema(): Promise<Json> {
  return (await Promise.resolve(asSchema(LlmRuleOutput).jsonSchema)) as Json;
}

function* objects(node: unknown): Generator<Json> {
  if (Array.isArray(node)) for (const n of node) yield* objects(n);
  else if (node && typeof node === 'object') {
    yield node as Json;
    for (const v of Object.values(node)) yield* objects(v);
  }
}

const parse = (statement: unknown) => LlmRuleOutput.safeParse({ rationale: 'r', statement });

describe('LlmRuleOutput', () => {
  it('is a strict-mode JSON Schema: every property required, no extra properties, no constraints', async () => {
    const schema = await jsonSchema();
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['rationale', 'statement']);
    for (const o of objects(schema)) {
      if (o.type !== 'object') continue;
      expect(o.additionalProperties).toBe(false);
      expect([...((o.required as string[] | undefined) ?? [])].sort()).toEqual(
        Object.keys((o.properties as Json | undefined) ?? {}).sort(),
      );
    }
    const text = JSON.stringify(schema);
    for (const k of ['minItems', 'maxItems', 'minLength', 'maxLength', 'minimum', 'maximum', 'pattern'])
      expect(text).not.toContain(`"${k}"`);
    // Shared parts are referenced, so the schema stays small (about 3k tokens).
    expect(text.length).toBeLessThan(16_000);
  });

  it('offers the statements a virtual patch needs, every FieldToMatch and every transformation', async () => {
    const schema = await jsonSchema();
    const defs = schema.definitions as Json;
    const text = JSON.stringify(schema);
    for (const t of OUTPUT_STATEMENT_TYPES) expect(text).toContain(`"${t}"`);
    expect(text).not.toContain('RateBasedStatement');
    expect(text).not.toContain('ManagedRuleGroupStatement');
    const fields = (defs.FieldToMatch as { anyOf: { required: string[] }[] }).anyOf.flatMap(
      (o) => o.required,
    );
    expect(fields.sort()).toEqual(
      [
        'AllQueryArguments',
        'Body',
        'Cookies',
        'HeaderOrder',
        'Headers',
        'JA3Fingerprint',
        'JA4Fingerprint',
        'JsonBody',
        'Method',
        'QueryString',
        'SingleHeader',
        'SingleQueryArgument',
        'UriFragment',
        'UriPath',
      ].sort(),
    );
    const tt = defs.TextTransformations as { items: { properties: { Type: { enum: string[] } } } };
    expect(tt.items.properties.Type.enum).toEqual([...TextTransformationTypeValues]);
  });

  it('nests And/Or/Not three levels deep, no deeper', () => {
    const leaf = GOOD.OrStatement!.Statements[0]!;
    const three = { AndStatement: { Statements: [leaf, { NotStatement: { Statement: leaf } }] } };
    expect(parse(three).success).toBe(true);
    const four = { OrStatement: { Statements: [leaf, { AndStatement: { Statements: [leaf, three] } }] } };
    expect(parse(four).success).toBe(false);
  });

  it('lets mistakes through to the real schema: an Or of one, a stray key, an overlong string', () => {
    expect(parse(OR_OF_ONE).success).toBe(true);
    const stray = { ...GOOD, Comment: 'extra' };
    const parsed = parse(stray);
    expect(parsed.success && parsed.data.statement).toMatchObject({ Comment: 'extra' });
    const long = {
      ByteMatchStatement: {
        FieldToMatch: { QueryString: {} },
        TextTransformations: [{ Priority: 0, Type: 'LOWERCASE' }],
        PositionalConstraint: 'CONTAINS',
        SearchString: 'x'.repeat(300),
      },
    };
    expect(parse(long).success).toBe(true);
  });

  it('refuses what is not a statement at all', () => {
    expect(parse({ GeoMatchStatement: { CountryCodes: ['CN'] } }).success).toBe(false);
    expect(parse('block everything').success).toBe(false);
  });
});
