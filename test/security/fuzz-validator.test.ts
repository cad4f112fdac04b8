// Fuzz pass over the rule validator (issue 14, item 9): any value handed to `validateRuleDocument`
// (what `wafgen validate`, `wafgen test`, the library and the API call) gives a report or an
// InputLimitError naming a limit, never another exception; and `validate` and `test` agree: a
// document reported valid compiles and evaluates, one over a limit is refused by both. Random
// documents are built from the WAFv2 shapes (so most reach the semantic checks) and then mutated.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { InputError } from '../../src/core/errors.js';
import { InputLimitError } from '../../src/core/limits.js';
import { parseJson } from '../../src/core/input.js';
import { compileDocument } from '../../src/evaluator/index.js';
import { awsRefusals, validateRuleDocument } from '../../src/lint/validate.js';
import { buildRequest } from '../../src/requests/model.js';
import { checkDocumentLimits } from '../../src/waf/document-limits.js';

const RUNS = { numRuns: 150, seed: 14 } as const;

const TRANSFORMS = ['NONE', 'URL_DECODE', 'LOWERCASE', 'HTML_ENTITY_DECODE', 'BASE64_DECODE', 'CMD_LINE'];
const transformations = fc
  .array(fc.constantFrom(...TRANSFORMS), { minLength: 1, maxLength: 4 })
  .map((types) => types.map((Type, Priority) => ({ Priority, Type })));
const fieldToMatch = fc.oneof(
  fc.constant({ UriPath: {} }),
  fc.constant({ QueryString: {} }),
  fc.constant({ AllQueryArguments: {} }),
  fc.constant({ Body: { OversizeHandling: 'CONTINUE' } }),
  fc.string({ minLength: 1, maxLength: 20 }).map((Name) => ({ SingleHeader: { Name } })),
  fc.constant({ JsonBody: { MatchPattern: { All: {} }, MatchScope: 'VALUE' } }),
);
const leaf = fc.oneof(
  fc.record({
    ByteMatchStatement: fc.record({
      SearchString: fc.oneof(fc.string({ maxLength: 30 }), fc.base64String({ maxLength: 40 })),
      FieldToMatch: fieldToMatch,
      TextTransformations: transformations,
      PositionalConstraint: fc.constantFrom(
        'EXACTLY',
        'STARTS_WITH',
        'ENDS_WITH',
        'CONTAINS',
        'CONTAINS_WORD',
      ),
    }),
  }),
  fc.record({
    RegexMatchStatement: fc.record({
      RegexString: fc.oneof(
        fc.constantFrom('(?i)jndi', '^/admin', 'a{1,3}b', '(a|b)*c', '[', '(?=x)', '\\'),
        fc.string({ maxLength: 20 }),
      ),
      FieldToMatch: fieldToMatch,
      TextTransformations: transformations,
    }),
  }),
  fc.record({
    SqliMatchStatement: fc.record({ FieldToMatch: fieldToMatch, TextTransformations: transformations }),
  }),
  fc.record({
    XssMatchStatement: fc.record({ FieldToMatch: fieldToMatch, TextTransformations: transformations }),
  }),
  fc.record({
    SizeConstraintStatement: fc.record({
      FieldToMatch: fieldToMatch,
      ComparisonOperator: fc.constantFrom('GT', 'LT', 'EQ'),
      Size: fc.integer({ min: -1, max: 100_000 }),
      TextTransformations: transformations,
    }),
  }),
  fc.record({
    LabelMatchStatement: fc.record({
      Scope: fc.constantFrom('LABEL', 'NAMESPACE'),
      Key: fc.oneof(fc.constantFrom('awswaf:managed:x', 'app:bot', 'ns:'), fc.string({ maxLength: 20 })),
    }),
  }),
  fc.record({
    GeoMatchStatement: fc.record({
      CountryCodes: fc.array(fc.constantFrom('US', 'DE', 'FR'), { minLength: 1, maxLength: 3 }),
    }),
  }),
);
const { statement } = fc.letrec<{ statement: unknown }>((tie) => ({
  statement: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({
      AndStatement: fc.record({ Statements: fc.array(tie('statement'), { minLength: 2, maxLength: 3 }) }),
    }),
    fc.record({
      OrStatement: fc.record({ Statements: fc.array(tie('statement'), { minLength: 2, maxLength: 3 }) }),
    }),
    fc.record({ NotStatement: fc.record({ Statement: tie('statement') }) }),
  ),
}));
const visibility = { SampledRequestsEnabled: false, CloudWatchMetricsEnabled: false, MetricName: 'm' };
const rule = fc.record({
  Name: fc.constant('wafgen-rule'),
  Priority: fc.constant(0),
  Statement: statement,
  Action: fc.constantFrom({ Block: {} }, { Count: {} }, { Allow: {} }),
  VisibilityConfig: fc.constant(visibility),
});
/** Rules with their own names, priorities and metric names, as a valid list needs. */
const rules = (max: number) =>
  fc.array(rule, { maxLength: max }).map((list) =>
    list.map((r, i) => ({
      ...r,
      Name: `r${i}`,
      Priority: i,
      VisibilityConfig: { ...visibility, MetricName: `r${i}` },
    })),
  );
const document = fc.oneof(
  { arbitrary: rule, weight: 4 },
  { arbitrary: rules(5), weight: 2 },
  {
    arbitrary: fc
      .record({ Rules: rules(4), Capacity: fc.integer({ min: 1, max: 6000 }) })
      .map((g) => ({ Name: 'g', VisibilityConfig: visibility, ...g })),
    weight: 2,
  },
  {
    arbitrary: rules(4).map((Rules) => ({
      WebACL: { Name: 'acl', DefaultAction: { Allow: {} }, Rules, VisibilityConfig: visibility },
    })),
    weight: 2,
  },
  { arbitrary: fc.jsonValue({ maxDepth: 5 }), weight: 1 },
  { arbitrary: fc.anything({ maxDepth: 4 }), weight: 1 },
);

/** Replace a random node of a value with a random value (the shapes, broken in one place). */
const mutated = fc
  .tuple(document, fc.nat(), fc.anything({ maxDepth: 2 }))
  .map(([original, pick, replacement]) => {
    // A copy: generated values share constants (the visibility config), which must stay intact.
    const doc = structuredClone(original);
    const nodes: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
    const walk = (v: unknown, depth: number) => {
      if (v === null || typeof v !== 'object' || depth > 40) return;
      for (const [k, child] of Object.entries(v)) {
        nodes.push({ parent: v as Record<string, unknown>, key: Array.isArray(v) ? Number(k) : k });
        walk(child, depth + 1);
      }
    };
    walk(doc, 0);
    if (nodes.length > 0) {
      const { parent, key } = nodes[pick % nodes.length]!;
      (parent as Record<string | number, unknown>)[key] = replacement;
    }
    return doc;
  });

const request = buildRequest({
  id: 'r',
  method: 'POST',
  uri: '/a?x=%24%7Bjndi%3Aldap%3A%2F%2Fx%7D&q=1%27%20or%201%3D1',
  headers: [
    ['Host', 'example.com'],
    ['User-Agent', '${jndi:ldap://x}'],
    ['Content-Type', 'application/json'],
  ],
  body: '{"a":"<script>alert(1)</script>"}',
});

/** Validate as every entry point does; the only exception allowed is an input limit. */
function validate(value: unknown) {
  try {
    return validateRuleDocument(value);
  } catch (e) {
    expect(e).toBeInstanceOf(InputLimitError);
    return undefined;
  }
}

describe('rule validator under fuzz', () => {
  it('gives a report for any value, and a valid document compiles and evaluates (test agrees)', () => {
    fc.assert(
      fc.property(fc.oneof(document, mutated), (value) => {
        const report = validate(value);
        if (!report) return;
        expect(typeof report.valid).toBe('boolean');
        expect(report.summary.errors).toBe(report.findings.filter((f) => f.severity === 'error').length);
        if (report.valid) {
          expect(report.document).toBeDefined();
          expect(awsRefusals(report)).toEqual([]);
          const compiled = compileDocument(report.document!);
          expect(['ALLOW', 'BLOCK', 'COUNT', 'CAPTCHA', 'CHALLENGE']).toContain(
            compiled.evaluate(request).action,
          );
        }
      }),
      RUNS,
    );
  });

  it('refuses statement nesting past the limit in validate and in test alike', () => {
    const chain = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.constantFrom('not', 'and'));
    fc.assert(
      fc.property(chain, ([levels, how]) => {
        let s: unknown = { LabelMatchStatement: { Scope: 'LABEL', Key: 'a' } };
        for (let i = 0; i < levels; i++)
          s =
            how === 'not'
              ? { NotStatement: { Statement: s } }
              : { AndStatement: { Statements: [s, { LabelMatchStatement: { Scope: 'LABEL', Key: 'b' } }] } };
        const doc = {
          Name: 'r',
          Priority: 0,
          Statement: s,
          Action: { Block: {} },
          VisibilityConfig: visibility,
        };
        // Past 64 levels the statement-depth limit (or, for long And chains, json-depth) refuses it.
        const over = levels > 64;
        let refused: unknown;
        try {
          validateRuleDocument(doc);
        } catch (e) {
          refused = e;
        }
        expect(refused instanceof InputLimitError).toBe(over);
        if (!over) expect(() => compileDocument({ kind: 'rule', rule: doc as never })).not.toThrow();
        let limited: unknown;
        try {
          checkDocumentLimits(doc);
        } catch (e) {
          limited = e;
        }
        expect(limited instanceof InputLimitError).toBe(over);
      }),
      RUNS,
    );
  });

  it('reads any text as JSON or refuses it with an input error (never a stack overflow)', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 100 }),
      fc.jsonValue({ maxDepth: 8 }).map((v) => JSON.stringify(v)),
      fc
        .tuple(
          fc.integer({ min: 0, max: 100_000 }),
          fc.constantFrom('[', '{"a":', '{"Statement":{"NotStatement":'),
        )
        .map(([n, open]) => open.repeat(n)),
    );
    fc.assert(
      fc.property(text, (t) => {
        let value: unknown;
        try {
          value = parseJson(t, 'f.json');
        } catch (e) {
          expect(e).toBeInstanceOf(InputError);
          return;
        }
        validate(value);
      }),
      RUNS,
    );
  });
});
