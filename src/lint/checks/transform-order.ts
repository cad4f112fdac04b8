// Redundant or mis-ordered transformations: NONE mixed with others, an idempotent one twice,
// LOWERCASE before a decoder (`%41` decodes to "A" after the fold), whitespace or path
// normalisation before URL_DECODE, anything after a hash.
import type { TextTransformation } from '../../waf/model/shapes.generated.js';
import type { JsonPath } from '../../waf/findings.js';
import type { LintCheck, Report } from '../types.js';
import { DECODERS, IDEMPOTENT, ordered, URL_DECODERS } from '../transforms.js';
import { fieldStatementOf } from '../../waf/statements.js';

const BEFORE_URL_DECODE_IS_WRONG = new Set([
  'COMPRESS_WHITE_SPACE',
  'NORMALIZE_PATH',
  'NORMALIZE_PATH_WIN',
  'REPLACE_COMMENTS',
  'REMOVE_COMMENTS_CHAR',
  'REMOVE_NULLS',
  'REPLACE_NULLS',
  'REMOVE_WHITESPACE',
  'CMD_LINE',
  'CMD_LINE_UNIX',
  'CMD_LINE_WIN',
]);

function check(list: readonly TextTransformation[], path: JsonPath, report: Report): void {
  const seq = ordered(list);
  const at = (t: TextTransformation): JsonPath => [...path, list.indexOf(t)];
  if (seq.length > 1 && seq.some((t) => t.Type === 'NONE')) {
    report(at(seq.find((t) => t.Type === 'NONE')!), 'NONE next to other transformations does nothing', {
      fix: 'Remove NONE.',
    });
  }
  seq.forEach((t, i) => {
    const prev = seq[i - 1];
    if (prev && prev.Type === t.Type && IDEMPOTENT.has(t.Type) && t.Type !== 'NONE') {
      report(at(t), `${t.Type} twice in a row gives the same result as once (+10 WCU for nothing)`, {
        fix: `Remove one ${t.Type}.`,
      });
    }
    const later = seq.slice(i + 1);
    if ((t.Type === 'LOWERCASE' || t.Type === 'UPPERCASE') && later.some((l) => DECODERS.has(l.Type))) {
      const d = later.find((l) => DECODERS.has(l.Type))!;
      report(at(t), `${t.Type} runs before ${d.Type}, so decoded characters escape the case fold`, {
        fix: `Move ${t.Type} after ${d.Type}.`,
      });
    }
    if (BEFORE_URL_DECODE_IS_WRONG.has(t.Type) && later.some((l) => URL_DECODERS.has(l.Type))) {
      report(at(t), `${t.Type} runs on still-encoded text; its effect is undone by a later URL decode`, {
        fix: `Move ${t.Type} after URL_DECODE.`,
      });
    }
    if ((t.Type === 'MD5' || t.Type === 'SHA256') && later.length > 0) {
      report(at(later[0]!), `${later[0]!.Type} after ${t.Type} transforms a binary digest`, {
        severity: 'error',
        fix: `Make ${t.Type} the last transformation.`,
      });
    }
    if (
      t.Type === 'LOWERCASE' &&
      seq.slice(0, i).some((e) => e.Type.startsWith('CMD_LINE')) &&
      !seq.slice(0, i).some((e) => DECODERS.has(e.Type) || e.Type === 'UPPERCASE')
    ) {
      report(at(t), 'LOWERCASE after CMD_LINE is redundant: CMD_LINE already lower-cases', {
        fix: 'Remove LOWERCASE.',
      });
    }
  });
  if (seq.filter((t) => t.Type === 'LOWERCASE').length > 0 && seq.some((t) => t.Type === 'UPPERCASE')) {
    report(path, 'both LOWERCASE and UPPERCASE: only the last one counts');
  }
}

export const transformOrder: LintCheck = {
  code: 'transform-order',
  severity: 'warning',
  summary:
    'Transformations that are redundant (NONE with others, an idempotent one twice) or in an order that defeats them (case folding or normalisation before decoding, anything after a hash).',
  fix: 'Decode first (URL_DECODE, HTML_ENTITY_DECODE...), then normalise, then fold case; drop duplicates.',
  statement(statement, { path }, _info, report) {
    const field = fieldStatementOf(statement);
    if (!field) return;
    const kind = Object.keys(statement)[0]!;
    check(field.TextTransformations, [...path, kind, 'TextTransformations'], report);
  },
};
