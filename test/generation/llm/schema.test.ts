// The output schema given to the model: strict-mode friendly JSON Schema, compact (one recursive
// Statement), the FieldToMatch types a virtual patch inspects and every TextTransformation type,
// the same as a short digest for JSON mode, and validation loose enough that mistakes reach the
// real schema (and come back as findings) instead of failing the call.
import { asSchema } from 'ai';
import { countTokens } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';

import { LlmRuleOutput, OUTPUT_STATEMENT_TYPES } from '../../../src/generation/llm/index.js';
import { STATEMENT_DIGEST } from '../../../src/generation/llm/schema.js';
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
    // Sent and billed with every call: shared parts referenced, one recursive Statement. The
    // three-level schema it replaced was 2,725 o200k tokens.
    expect(countTokens(text)).toBeLessThan(1_700);
    expect((schema.definitions as Json).Statement).toBeDefined();
    expect(text).toContain('"$ref":"#/definitions/Statement"');
  });

  it('offers the statements a virtual patch needs, the fields it inspects and every transformation', async () => {
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
        'Headers',
        'JsonBody',
        'Method',
        'QueryString',
        'SingleHeader',
        'SingleQueryArgument',
        'UriPath',
      ].sort(),
    );
    const tt = defs.TextTransformations as { items: { properties: { Type: { enum: string[] } } } };
    expect(tt.items.properties.Type.enum).toEqual([...TextTransformationTypeValues]);
  });

  it('nests And/Or/Not as deep as the model writes; the real checks judge the depth', () => {
    const leaf = GOOD.OrStatement!.Statements[0]!;
    const three = { AndStatement: { Statements: [leaf, { NotStatement: { Statement: leaf } }] } };
    expect(parse(three).success).toBe(true);
    const four = { OrStatement: { Statements: [leaf, { AndStatement: { Statements: [leaf, three] } }] } };
    expect(parse(four).success).toBe(true);
    const notALeaf = { AndStatement: { Statements: [leaf, { NotStatement: { Statement: 'x' } }] } };
    expect(parse(notALeaf).success).toBe(false);
  });

  it('the digest names every statement, field and transformation the schema offers, in a few hundred tokens', async () => {
    const schema = await jsonSchema();
    const defs = schema.definitions as Json;
    for (const t of OUTPUT_STATEMENT_TYPES) expect(STATEMENT_DIGEST).toContain(t);
    for (const f of (defs.FieldToMatch as { anyOf: { required: string[] }[] }).anyOf.flatMap(
      (o) => o.required,
    ))
      expect(STATEMENT_DIGEST).toContain(`${f} {`);
    for (const t of TextTransformationTypeValues) expect(STATEMENT_DIGEST).toContain(t);
    expect(countTokens(STATEMENT_DIGEST)).toBeLessThan(500);
  });

  it('keeps a member the schema does not offer (IncludedHeaders) for the real checks to judge', () => {
    const included = {
      ByteMatchStatement: {
        SearchString: 'x',
        FieldToMatch: {
          Headers: {
            MatchPattern: { IncludedHeaders: ['a'] },
            MatchScope: 'VALUE',
            OversizeHandling: 'MATCH',
          },
        },
        TextTransformations: [{ Priority: 0, Type: 'NONE' }],
        PositionalConstraint: 'CONTAINS',
      },
    };
    const parsed = parse(included);
    expect(parsed.success && parsed.data.statement).toEqual(included);
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
