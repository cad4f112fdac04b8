// Patterns so broad they match ordinary traffic: an empty or tiny SearchString, `.*`, or anything
// that matches many values of the built-in ordinary sample for the inspected component.
import type { Statement, TextTransformation } from '../../waf/model/shapes.generated.js';
import type { LintCheck } from '../types.js';
import { ORDINARY } from '../ordinary-traffic.js';
import { fieldKind } from '../../waf/statements.js';
import { compileRegex } from '../../waf/regex.js';
import { resolveTextTransformations } from '../../evaluator/transforms/index.js';
import { LIMITS } from '../../waf/constraints.js';
import { byteMatchOffset } from '../../evaluator/match/byte-match.js';
import { utf8ToByteString } from '../../core/bytes.js';

const SHARE_WARN = 0.1;

/** The path sample without its query strings (the URI path is read without one). */
const PATHS = ORDINARY.path.map((p) => p.split('?')[0]!);

function sampleFor(kind: string): readonly string[] | undefined {
  switch (kind) {
    case 'UriPath':
      return PATHS;
    case 'QueryString':
      return ORDINARY.query;
    case 'AllQueryArguments':
    case 'SingleQueryArgument':
      return ORDINARY.arg;
    case 'SingleHeader':
    case 'Headers':
    case 'Cookies':
      return ORDINARY.header;
    case 'Body':
    case 'JsonBody':
      return ORDINARY.body;
    default:
      // The method too: naming one narrows a rule, and any of a few verbs would look broad here.
      return undefined;
  }
}

/**
 * The sample as the statement's transformations leave it, worked out once per component and chain:
 * the generation loop lints every candidate, and transforming the same sample again for each of
 * their statements was a fifth of this check's time (`npm run bench:generate -- --profile cpu`,
 * inclusive: 5.9% of a built-in generation's CPU before, 4.7% with the kept sample, 3.0% with
 * RE2JS#test instead of a Matcher's find() as well). The key and the steps applied come from one
 * resolution (priority order, ties in list order; an unknown type throws before anything is kept),
 * and only chains within AWS's limit of transformations are kept, at most MAX_CHAINS of them: a
 * longer list (the schema sets no maximum; a finding does) is worked out and not kept.
 */
const transformed = new Map<string, readonly string[]>();
const MAX_CHAINS = 256;

function transformedSample(
  kind: string,
  sample: readonly string[],
  transformations: readonly TextTransformation[],
): readonly string[] {
  const steps = resolveTextTransformations(transformations);
  const keep = steps.length <= LIMITS.textTransformations;
  const key = keep ? `${kind}:${steps.map((s) => s.type).join(',')}` : undefined;
  let values = key === undefined ? undefined : transformed.get(key);
  if (values === undefined) {
    values = sample.map((raw) => {
      let v = utf8ToByteString(raw);
      for (const step of steps) v = step.fn(v);
      return v;
    });
    if (key !== undefined && transformed.size < MAX_CHAINS) transformed.set(key, values);
  }
  return values;
}

function matcher(statement: Statement): ((value: string) => boolean) | undefined {
  const b = statement.ByteMatchStatement;
  if (b) {
    const search = utf8ToByteString(b.SearchString);
    return (v) => byteMatchOffset(v, search, b.PositionalConstraint) >= 0;
  }
  const r = statement.RegexMatchStatement;
  if (r) {
    try {
      const re = compileRegex(r.RegexString);
      // A boolean is all this needs: RE2JS#test skips the Matcher and its capture bookkeeping.
      return (v) => re.test(v);
    } catch {
      return undefined; // invalid-regex reports it
    }
  }
  return undefined;
}

export const broadMatch: LintCheck = {
  code: 'broad-match',
  severity: 'warning',
  summary:
    'The SearchString or regex is so broad it matches ordinary traffic (empty, one or two characters, `.*`, or many values of a built-in sample of everyday requests).',
  fix: 'Match the exploit-specific token (payload syntax, vulnerable endpoint or parameter), not a common word.',
  statement(statement, { path }, _info, report) {
    const target = statement.ByteMatchStatement ?? statement.RegexMatchStatement;
    if (!target) return;
    const kind = statement.ByteMatchStatement ? 'ByteMatchStatement' : 'RegexMatchStatement';
    const member = statement.ByteMatchStatement ? 'SearchString' : 'RegexString';
    const p = [...path, kind, member];
    const b = statement.ByteMatchStatement;
    if (b && b.SearchString.length === 0) {
      report(p, 'empty SearchString', { severity: 'error', fix: 'Give the token the exploit needs.' });
      return;
    }
    if (
      b &&
      b.SearchString.length <= 2 &&
      b.PositionalConstraint !== 'EXACTLY' &&
      fieldKind(b.FieldToMatch) !== 'Method'
    ) {
      report(
        p,
        `SearchString "${b.SearchString}" is ${b.SearchString.length} character(s) long and will match ordinary requests`,
      );
      return;
    }
    if (
      statement.RegexMatchStatement &&
      /^\^?(?:\.\*|\.\+|\.\*\?|\.)\$?$/.test(statement.RegexMatchStatement.RegexString)
    ) {
      report(p, `regex ${JSON.stringify(statement.RegexMatchStatement.RegexString)} matches almost anything`);
      return;
    }
    const field = fieldKind(target.FieldToMatch);
    const sample = sampleFor(field);
    const test = sample && matcher(statement);
    if (!sample || !test) return;
    const values = transformedSample(field, sample, target.TextTransformations);
    const hits = sample.filter((_, i) => test(values[i]!));
    const share = hits.length / sample.length;
    if (share >= SHARE_WARN) {
      report(
        p,
        `matches ${hits.length} of ${sample.length} ordinary values of this component, e.g. ${JSON.stringify(hits[0])}`,
        {
          severity: share >= 0.3 ? 'error' : 'warning',
        },
      );
    }
  },
};
