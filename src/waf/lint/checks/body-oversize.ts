// Body and JSON body inspection sees only the first 8 KB (ALB, AppSync) or 16 KB (CloudFront, API
// Gateway...). With OversizeHandling unset (API default CONTINUE) an attacker pads the body and
// puts the payload after the limit.
import type { LintCheck } from '../types.js';
import { fieldKind, fieldStatementOf } from '../../statements.js';

export const bodyOversize: LintCheck = {
  code: 'body-oversize',
  severity: 'warning',
  summary:
    'Body or JsonBody is inspected with no OversizeHandling choice (or CONTINUE) in a blocking rule, so a payload placed after the inspection limit (8 KB/16 KB) is never seen.',
  fix: 'Set "OversizeHandling": "MATCH" on Body/JsonBody in blocking rules.',
  statement(statement, { path }, { rule }, report) {
    const field = fieldStatementOf(statement);
    if (!field || !rule.Action?.Block) return;
    const fk = fieldKind(field.FieldToMatch);
    if (fk !== 'Body' && fk !== 'JsonBody') return;
    const handling =
      field.FieldToMatch.Body?.OversizeHandling ?? field.FieldToMatch.JsonBody?.OversizeHandling;
    if (handling === 'MATCH' || handling === 'NO_MATCH') return;
    const kind = Object.keys(statement)[0]!;
    report(
      [...path, kind, 'FieldToMatch', fk],
      handling === 'CONTINUE'
        ? 'OversizeHandling CONTINUE inspects only the first 8-16 KB of the body'
        : 'no OversizeHandling: AWS defaults to CONTINUE and inspects only the first 8-16 KB of the body',
    );
  },
};
