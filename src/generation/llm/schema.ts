// The output schema the model is given: a small wrapper `{ rationale, statement }` where `statement`
// is a bounded subset of the WAFv2 Statement. The real Statement schema is recursive and carries
// sixteen statement types; a model needs neither. This one has the statements a virtual patch is
// made of (ByteMatch, RegexMatch, SqliMatch, XssMatch, SizeConstraint) combined with And/Or/Not up
// to three levels deep, every FieldToMatch type and every TextTransformation type.
//
// It is written for the strictest structured-output modes (OpenAI strict json_schema, Anthropic
// output_config, Gemini responseSchema): every property required, no optional fields, no numeric or
// length constraints, shared parts in `definitions` (referenced, not repeated; Gemini's adapter
// inlines them), `additionalProperties: false` everywhere. Validation is deliberately looser than
// the JSON Schema: objects keep unknown keys and nothing checks counts or lengths, so an output with
// an OrStatement of one child, a 300-byte SearchString or a stray key still arrives, and the real
// schema, lint and evaluator (the generation loop's checks) turn it into findings with paths that go
// back to the model, instead of a failed call.
import { z } from 'zod';

import {
  ComparisonOperatorValues,
  FallbackBehaviorValues,
  BodyParsingFallbackBehaviorValues,
  JsonMatchScopeValues,
  MapMatchScopeValues,
  OversizeHandlingValues,
  PositionalConstraintValues,
  SensitivityLevelValues,
  TextTransformationTypeValues,
  type FieldToMatch,
} from '../../waf/model/shapes.generated.js';

/** An object that says `additionalProperties: false` to the model but keeps unknown keys when parsed. */
const obj = <S extends z.ZodRawShape>(shape: S) => z.looseObject(shape).meta({ additionalProperties: false });

/** `{ [key]: value }`: one member of a WAFv2 union (exactly one key set). */
const one = <K extends string, T extends z.ZodType>(key: K, value: T) =>
  obj({ [key]: value } as { [P in K]: T });

const empty = () => obj({});
/** `{"type":"integer"}` without the safe-integer minimum/maximum Zod adds (Anthropic refuses them). */
const integer = () => z.number().meta({ type: 'integer' });
const oversize = z.enum(OversizeHandlingValues);
const fallback = z.enum(FallbackBehaviorValues);
const names = z.array(z.string());

const FIELD_TO_MATCH = {
  SingleHeader: obj({ Name: z.string().describe('header name') }),
  SingleQueryArgument: obj({ Name: z.string().describe('query argument name') }),
  AllQueryArguments: empty(),
  UriPath: empty(),
  QueryString: empty(),
  Body: obj({ OversizeHandling: oversize }),
  Method: empty(),
  JsonBody: obj({
    MatchPattern: z.union([one('All', empty()), one('IncludedPaths', names.describe('JSON Pointers'))]),
    MatchScope: z.enum(JsonMatchScopeValues),
    InvalidFallbackBehavior: z.enum(BodyParsingFallbackBehaviorValues),
    OversizeHandling: oversize,
  }),
  Headers: obj({
    MatchPattern: z.union([
      one('All', empty()),
      one('IncludedHeaders', names),
      one('ExcludedHeaders', names),
    ]),
    MatchScope: z.enum(MapMatchScopeValues),
    OversizeHandling: oversize,
  }),
  Cookies: obj({
    MatchPattern: z.union([
      one('All', empty()),
      one('IncludedCookies', names),
      one('ExcludedCookies', names),
    ]),
    MatchScope: z.enum(MapMatchScopeValues),
    OversizeHandling: oversize,
  }),
  HeaderOrder: obj({ OversizeHandling: oversize }),
  JA3Fingerprint: obj({ FallbackBehavior: fallback }),
  JA4Fingerprint: obj({ FallbackBehavior: fallback }),
  UriFragment: obj({ FallbackBehavior: fallback }),
} satisfies Record<keyof FieldToMatch, z.ZodType>;

const members = <M extends Record<string, z.ZodType>>(m: M) =>
  Object.entries(m).map(([k, v]) => one(k, v)) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]];

const FieldToMatchOutput = z
  .union(members(FIELD_TO_MATCH))
  .meta({ id: 'FieldToMatch', description: 'Exactly one key: the request component to inspect.' });

const TextTransformationsOutput = z
  .array(obj({ Priority: integer(), Type: z.enum(TextTransformationTypeValues) }))
  .meta({
    id: 'TextTransformations',
    description:
      'Applied in Priority order (0, 1, 2, ...) before matching; NONE alone for no transformation.',
  });

const LEAVES = {
  ByteMatchStatement: obj({
    SearchString: z.string().describe('plain text, at most 200 bytes; lower case after LOWERCASE'),
    FieldToMatch: FieldToMatchOutput,
    TextTransformations: TextTransformationsOutput,
    PositionalConstraint: z.enum(PositionalConstraintValues),
  }).meta({ id: 'ByteMatchStatement' }),
  RegexMatchStatement: obj({
    RegexString: z.string().describe('RE2 syntax, at most 200 characters, no backreferences or lookaround'),
    FieldToMatch: FieldToMatchOutput,
    TextTransformations: TextTransformationsOutput,
  }).meta({ id: 'RegexMatchStatement' }),
  SqliMatchStatement: obj({
    FieldToMatch: FieldToMatchOutput,
    TextTransformations: TextTransformationsOutput,
    SensitivityLevel: z.enum(SensitivityLevelValues),
  }).meta({ id: 'SqliMatchStatement' }),
  XssMatchStatement: obj({
    FieldToMatch: FieldToMatchOutput,
    TextTransformations: TextTransformationsOutput,
  }).meta({ id: 'XssMatchStatement' }),
  SizeConstraintStatement: obj({
    FieldToMatch: FieldToMatchOutput,
    ComparisonOperator: z.enum(ComparisonOperatorValues),
    Size: integer().describe('bytes'),
    TextTransformations: TextTransformationsOutput,
  }).meta({ id: 'SizeConstraintStatement' }),
};

/** Statement types the model may use. */
export const OUTPUT_STATEMENT_TYPES = [
  ...Object.keys(LEAVES),
  'AndStatement',
  'OrStatement',
  'NotStatement',
] as const;

/** Deepest nesting of statements: level 1 and 2 may be And/Or/Not, level 3 is a match statement. */
export const MAX_STATEMENT_LEVELS = 3;

/** A statement at one level: a match statement, or And/Or/Not over the next level down. */
function level(inner: z.ZodType | undefined, id: string): z.ZodType {
  const leaves = members(LEAVES);
  if (!inner) return z.union(leaves).meta({ id });
  return z
    .union([
      ...leaves,
      one('AndStatement', obj({ Statements: z.array(inner).describe('two or more statements') })),
      one('OrStatement', obj({ Statements: z.array(inner).describe('two or more statements') })),
      one('NotStatement', obj({ Statement: inner })),
    ])
    .meta({ id });
}

const level3 = level(undefined, 'MatchStatement');
const level2 = level(level3, 'Statement2');
const level1 = level(level2, 'Statement');

/** What the model returns. */
export interface LlmRuleOutput {
  rationale: string;
  /** Shaped like a WAFv2 Statement; not validated beyond its shape until the real schema runs. */
  statement: Record<string, unknown>;
}

// Typed by hand: the levels are plain ZodTypes (their output is `unknown` to TypeScript).
export const LlmRuleOutput = z.object({
  rationale: z
    .string()
    .describe('Two or three sentences: what the exploit sends and where, and what the statement matches.'),
  statement: level1,
}) as unknown as z.ZodType<LlmRuleOutput>;
