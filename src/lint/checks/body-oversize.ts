// Body and JSON body inspection sees only the first 8 KB (ALB, AppSync) or 16 KB (CloudFront, API
// Gateway...). With OversizeHandling unset the API silently picks CONTINUE, and an attacker pads the
// body and puts the payload after the limit. An explicit CONTINUE is a choice (MATCH on an
// unscoped rule would block every large upload), so only the unset case is flagged.
import type { LintCheck } from '../types.js';
import { fieldKind, fieldStatementOf } from '../../waf/statements.js';

export const bodyOversize: LintCheck = {
  code: 'body-oversize',
  severity: 'warning',
  summary:
    'Body or JsonBody is inspected with no OversizeHandling choice in a blocking rule, so AWS defaults to CONTINUE and a payload placed after the inspection limit (8 KB/16 KB) is never seen.',
  fix: 'Choose explicitly: "OversizeHandling": "MATCH" when the rule is scoped to an endpoint, CONTINUE when it is not.',
  statement(statement, { path }, { rule }, report) {
    const field = fieldStatementOf(statement);
    if (!field || !rule.Action?.Block) return;
    const fk = fieldKind(field.FieldToMatch);
    if (fk !== 'Body' && fk !== 'JsonBody') return;
    const handling =
      field.FieldToMatch.Body?.OversizeHandling ?? field.FieldToMatch.JsonBody?.OversizeHandling;
    if (handling !== undefined) return;
    const kind = Object.keys(statement)[0]!;
    report(
      [...path, kind, 'FieldToMatch', fk],
      'no OversizeHandling: AWS defaults to CONTINUE and inspects only the first 8-16 KB of the body',
    );
  },
};
