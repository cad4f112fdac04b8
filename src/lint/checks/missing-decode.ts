// Components that arrive percent-encoded (path, query, form bodies, cookies) inspected for a
// payload with characters a client or attacker would encode, with no URL_DECODE before: `%24%7B`
// walks past a rule looking for `${`.
import type { LintCheck } from '../types.js';
import { URL_DECODERS } from '../transforms.js';
import { fieldKind, fieldStatementOf } from '../../waf/statements.js';

const ENCODED_COMPONENTS = new Set([
  'UriPath',
  'QueryString',
  'AllQueryArguments',
  'SingleQueryArgument',
  'Body',
  'Cookies',
]);

/** Characters browsers and tools percent-encode, or that attackers can encode freely. */
const ENCODABLE = /[^A-Za-z0-9\-._~/]/;

export const missingDecode: LintCheck = {
  code: 'missing-decode',
  severity: 'warning',
  summary:
    'A component that arrives URL-encoded is inspected for characters that can be percent-encoded, with no URL_DECODE first; XSS checks also need HTML_ENTITY_DECODE.',
  fix: 'Add URL_DECODE (and HTML_ENTITY_DECODE for XSS) before the other transformations.',
  statement(statement, { path }, _info, report) {
    const field = fieldStatementOf(statement);
    if (!field) return;
    const fk = fieldKind(field.FieldToMatch);
    if (!ENCODED_COMPONENTS.has(fk)) return;
    const types = new Set(field.TextTransformations.map((t) => t.Type));
    const decodes = [...URL_DECODERS].some((t) => types.has(t));
    const kind = Object.keys(statement)[0]!;
    const p = [...path, kind, 'TextTransformations'];
    if (statement.XssMatchStatement && !types.has('HTML_ENTITY_DECODE')) {
      report(p, 'XSS inspection without HTML_ENTITY_DECODE misses entity-encoded payloads');
    }
    if (decodes) return;
    const search = statement.ByteMatchStatement?.SearchString ?? statement.RegexMatchStatement?.RegexString;
    if (statement.SqliMatchStatement || statement.XssMatchStatement) {
      report(p, `${fk} is inspected for injection without URL_DECODE, so encoded payloads pass`);
    } else if (
      search !== undefined &&
      ENCODABLE.test(fk === 'UriPath' ? search.replace(/\//g, '') : search)
    ) {
      report(
        p,
        `${fk} arrives URL-encoded but is searched for ${JSON.stringify(search.slice(0, 40))} without URL_DECODE`,
      );
    }
  },
};
