// Patterns so broad they match ordinary traffic: an empty or tiny SearchString, `.*`, or anything
// that matches many values of the built-in ordinary sample for the inspected component.
import type { FieldToMatch, Statement } from '../../waf/model/shapes.generated.js';
import type { LintCheck } from '../types.js';
import { ORDINARY } from '../ordinary-traffic.js';
import { fieldKind } from '../../waf/statements.js';
import { compileRegex } from '../../waf/regex.js';
import { applyTextTransformations } from '../../evaluator/transforms/index.js';
import { byteMatchOffset } from '../../evaluator/match/byte-match.js';
import { utf8ToByteString } from '../../core/bytes.js';

const SHARE_WARN = 0.1;

function sampleFor(field: FieldToMatch): readonly string[] | undefined {
  switch (fieldKind(field)) {
    case 'UriPath':
      return ORDINARY.path.map((p) => p.split('?')[0]!);
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
    case 'Method':
      return ORDINARY.method;
    default:
      return undefined;
  }
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
      return (v) => re.matcher(v).find();
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
    const sample = sampleFor(target.FieldToMatch);
    const test = matcher(statement);
    if (!sample || !test || fieldKind(target.FieldToMatch) === 'Method') return;
    const hits = sample.filter((raw) =>
      test(applyTextTransformations(utf8ToByteString(raw), target.TextTransformations)),
    );
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
