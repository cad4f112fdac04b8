/**
 * @module The output the model is asked for: `{ rationale, statement }`, the statement a bounded
 * subset of the WAFv2 Statement (ByteMatch, RegexMatch, SqliMatch, XssMatch, SizeConstraint, combined
 * with And/Or/Not), given to providers two ways:
 *
 * - natively (OpenAI and OpenAI-compatible strict json_schema, Anthropic and Bedrock tool use): the
 *   compact JSON Schema of {@link LlmRuleOutput}. Compact because it is sent, and billed, with every
 *   call: one recursive Statement (And/Or/Not refer back to it) instead of a copy per nesting level,
 *   the FieldToMatch types a virtual patch inspects (not header order, JA3/JA4 or the fragment a
 *   browser never sends), `All` as the match pattern of Headers, Cookies and JsonBody (one header
 *   is SingleHeader), no descriptions (the system prompt says what matters). Measured with
 *   `npm run bench:llm`: 2,725 o200k tokens for the three-level schema it replaces, 1,551 for this.
 * - as {@link STATEMENT_DIGEST}, a few lines of text, to providers whose structured output cannot
 *   take the schema (Gemini's responseSchema has no recursion) or when WAFGEN_LLM_OUTPUT=digest:
 *   they are asked for JSON, and the answer is checked against the same Zod schema here.
 *
 * The JSON Schema suits the strictest modes (OpenAI strict: every property required, no optional
 * fields, no numeric or length constraints, `additionalProperties: false`). Validation is looser:
 * objects keep unknown keys and nothing checks counts, lengths or depth, so an OrStatement of one
 * child, a 300-byte SearchString, a stray key or a member the schema does not offer (IncludedHeaders)
 * still arrives, and the real schema, lint and evaluator (the generation loop's checks) turn it into
 * findings with paths that go back to the model, instead of a failed call.
 */
import { z } from 'zod';

import {
  BodyParsingFallbackBehaviorValues,
  ComparisonOperatorValues,
  JsonMatchScopeValues,
  MapMatchScopeValues,
  OversizeHandlingValues,
  PositionalConstraintValues,
  SensitivityLevelValues,
  TextTransformationTypeValues,
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
/**
 * `{"All": {}}` to the model; any object when parsed, so a pattern the schema does not offer
 * (IncludedHeaders, ExcludedCookies...) reaches the real schema instead of failing the call.
 */
const all = z.looseObject({}).meta({
  properties: { All: { type: 'object', properties: {}, additionalProperties: false } },
  required: ['All'],
  additionalProperties: false,
});

/** The request components a model may inspect, and what each needs. */
const FIELD_TO_MATCH = {
  UriPath: empty(),
  QueryString: empty(),
  AllQueryArguments: empty(),
  SingleQueryArgument: obj({ Name: z.string() }),
  SingleHeader: obj({ Name: z.string() }),
  Headers: obj({ MatchPattern: all, MatchScope: z.enum(MapMatchScopeValues), OversizeHandling: oversize }),
  Cookies: obj({ MatchPattern: all, MatchScope: z.enum(MapMatchScopeValues), OversizeHandling: oversize }),
  Body: obj({ OversizeHandling: oversize }),
  JsonBody: obj({
    MatchPattern: all,
    MatchScope: z.enum(JsonMatchScopeValues),
    InvalidFallbackBehavior: z.enum(BodyParsingFallbackBehaviorValues),
    OversizeHandling: oversize,
  }),
  Method: empty(),
};

const members = <M extends Record<string, z.ZodType>>(m: M) =>
  Object.entries(m).map(([k, v]) => one(k, v)) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]];

const FieldToMatchOutput = z.union(members(FIELD_TO_MATCH)).meta({ id: 'FieldToMatch' });

const TextTransformationsOutput = z
  .array(obj({ Priority: integer(), Type: z.enum(TextTransformationTypeValues) }))
  .meta({ id: 'TextTransformations' });

const LEAVES = {
  ByteMatchStatement: obj({
    SearchString: z.string(),
    FieldToMatch: FieldToMatchOutput,
    TextTransformations: TextTransformationsOutput,
    PositionalConstraint: z.enum(PositionalConstraintValues),
  }),
  RegexMatchStatement: obj({
    RegexString: z.string(),
    FieldToMatch: FieldToMatchOutput,
    TextTransformations: TextTransformationsOutput,
  }),
  SqliMatchStatement: obj({
    FieldToMatch: FieldToMatchOutput,
    TextTransformations: TextTransformationsOutput,
    SensitivityLevel: z.enum(SensitivityLevelValues),
  }),
  XssMatchStatement: obj({
    FieldToMatch: FieldToMatchOutput,
    TextTransformations: TextTransformationsOutput,
  }),
  SizeConstraintStatement: obj({
    FieldToMatch: FieldToMatchOutput,
    ComparisonOperator: z.enum(ComparisonOperatorValues),
    Size: integer(),
    TextTransformations: TextTransformationsOutput,
  }),
};

/** Statement types the model may use. */
export const OUTPUT_STATEMENT_TYPES = [
  ...Object.keys(LEAVES),
  'AndStatement',
  'OrStatement',
  'NotStatement',
] as const;

/** Nesting the prompt asks for: level 1 and 2 may be And/Or/Not, level 3 is a match statement. */
export const MAX_STATEMENT_LEVELS = 3;

// One recursive union: And/Or/Not refer back to Statement (a `$ref` in the JSON Schema).
const StatementOutput: z.ZodType = z
  .union([
    ...members(LEAVES),
    obj({
      get AndStatement() {
        return obj({ Statements: z.array(StatementOutput) });
      },
    }),
    obj({
      get OrStatement() {
        return obj({ Statements: z.array(StatementOutput) });
      },
    }),
    obj({
      get NotStatement() {
        return obj({ Statement: StatementOutput });
      },
    }),
  ])
  .meta({ id: 'Statement' });

/** What the model returns. */
export interface LlmRuleOutput {
  rationale: string;
  /** Shaped like a WAFv2 Statement; not validated beyond its shape until the real schema runs. */
  statement: Record<string, unknown>;
}

// Typed by hand: the statement is a plain ZodType (its output is `unknown` to TypeScript).
export const LlmRuleOutput = z.object({
  rationale: z.string(),
  statement: StatementOutput,
}) as unknown as z.ZodType<LlmRuleOutput>;

/** Keys whose values the digest lists once, not at every use. */
const NAMED_ENUMS: Record<string, readonly string[]> = {
  OversizeHandling: OversizeHandlingValues,
  MatchScope: MapMatchScopeValues,
};

/** `{Name, MatchPattern: {All: {}}}`: an object's keys, with the values of enums and objects. */
function shapeOf(t: z.ZodType): string {
  if (t === all) return '{All: {}}';
  if (t instanceof z.ZodEnum) return (t.options as string[]).join('|');
  if (t instanceof z.ZodObject) {
    const keys = Object.entries(t.shape as Record<string, z.ZodType>).map(([k, v]) =>
      v instanceof z.ZodString || k in NAMED_ENUMS ? k : `${k}: ${shapeOf(v)}`,
    );
    return `{${keys.join(', ')}}`;
  }
  return 'string';
}

/**
 * The output schema as a few lines of text, for JSON mode (no schema sent). Written from the same
 * tables as the schema, so the two cannot drift apart.
 */
export const STATEMENT_DIGEST = [
  'Answer with one JSON object {"rationale": string, "statement": Statement}, where Statement is an object with exactly one key:',
  '- ByteMatchStatement {SearchString, FieldToMatch, TextTransformations, PositionalConstraint: ' +
    `${PositionalConstraintValues.join('|')}}`,
  '- RegexMatchStatement {RegexString, FieldToMatch, TextTransformations}',
  `- SqliMatchStatement {FieldToMatch, TextTransformations, SensitivityLevel: ${SensitivityLevelValues.join('|')}}`,
  '- XssMatchStatement {FieldToMatch, TextTransformations}',
  `- SizeConstraintStatement {FieldToMatch, ComparisonOperator: ${ComparisonOperatorValues.join('|')}, Size: bytes, TextTransformations}`,
  '- AndStatement {Statements: [Statement, ...]}, OrStatement {Statements: [Statement, ...]}, NotStatement {Statement}',
  `FieldToMatch has exactly one key: ${Object.entries(FIELD_TO_MATCH)
    .map(([k, v]) => `${k} ${shapeOf(v)}`)
    .join(', ')}; ${Object.entries(NAMED_ENUMS)
    .map(([k, v]) => `${k}: ${v.join('|')}`)
    .join('; ')}.`,
  'TextTransformations: [{"Priority": 0, "Type": T}, ...] with T one of ' +
    `${TextTransformationTypeValues.join(', ')}.`,
].join('\n');

/** Most CVEs written in one batched call (`--llm-batch`). */
export const MAX_LLM_BATCH = 8;

/** What the model returns for a batch: one statement per CVE, named by its ID. */
export interface LlmBatchOutput {
  rules: (LlmRuleOutput & { cveId: string })[];
}

export const LlmBatchOutput = z.object({
  rules: z
    .array(z.object({ cveId: z.string().max(40), rationale: z.string(), statement: StatementOutput }))
    .max(MAX_LLM_BATCH),
}) as unknown as z.ZodType<LlmBatchOutput>;

/** The digest for a batch: the statement digest with its first line for a list of rules. */
export const BATCH_DIGEST = [
  'Answer with one JSON object {"rules": [{"cveId": "CVE-…", "rationale": string, "statement": Statement}, …]}, one entry per CVE asked for, where Statement is an object with exactly one key:',
  ...STATEMENT_DIGEST.split('\n').slice(1),
].join('\n');
