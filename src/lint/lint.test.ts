import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

import { and, byteMatch, field, not, or, regex, rule, tt } from '../../test/support/rules.js';
import { REPO_ROOT } from '../../test/support/shared.js';
import type { Rule, Statement } from '../waf/schema.js';
import { LINT_CHECKS, lintRule, type LintOptions } from './index.js';

const codes = (r: Rule, options?: LintOptions) =>
  lintRule(r, [], options).map((f) => `${f.severity}:${f.code}`);
const lint = (s: Statement, options?: LintOptions) => codes(rule(s), options);

// A clean Log4Shell-style rule: decoded, lower-cased, specific token, blocking, traceable names.
const clean = rule(
  or(
    byteMatch('${jndi:', field.args(), 'CONTAINS', tt('URL_DECODE', 'LOWERCASE')),
    byteMatch('${jndi:', field.headers(), 'CONTAINS', tt('URL_DECODE', 'LOWERCASE')),
  ),
);

describe('lint', () => {
  it('passes a well-formed exploit rule without findings', () => {
    expect(lintRule(clean)).toEqual([]);
  });

  describe('unmatchable-case', () => {
    it('flags an upper-case search string after LOWERCASE', () => {
      expect(lint(byteMatch('${JNDI:', field.args(), 'CONTAINS', tt('URL_DECODE', 'LOWERCASE')))).toContain(
        'error:unmatchable-case',
      );
    });
    it('flags a regex with upper-case literals after LOWERCASE, but not (?i) or escapes', () => {
      expect(lint(regex('Select\\s+', field.args(), tt('URL_DECODE', 'LOWERCASE')))).toContain(
        'error:unmatchable-case',
      );
      expect(lint(regex('(?i)Select\\S+', field.args(), tt('URL_DECODE', 'LOWERCASE')))).not.toContain(
        'error:unmatchable-case',
      );
      expect(lint(regex('select\\S+\\W', field.args(), tt('URL_DECODE', 'LOWERCASE')))).not.toContain(
        'error:unmatchable-case',
      );
    });
    it('does not flag when a decoder runs after the fold (that is transform-order)', () => {
      const found = lint(byteMatch('${JNDI:', field.args(), 'CONTAINS', tt('LOWERCASE', 'URL_DECODE')));
      expect(found).not.toContain('error:unmatchable-case');
      expect(found).toContain('warning:transform-order');
    });
    it('warns on a lower-case method', () => {
      expect(lint(byteMatch('post', field.method(), 'EXACTLY'))).toContain('warning:unmatchable-case');
      expect(lint(byteMatch('POST', field.method(), 'EXACTLY'))).toEqual([]);
    });
  });

  describe('contradictory-and', () => {
    it('flags two different exact methods under AND', () => {
      expect(
        lint(and(byteMatch('GET', field.method(), 'EXACTLY'), byteMatch('POST', field.method(), 'EXACTLY'))),
      ).toContain('error:contradictory-and');
    });
    it('flags a statement and its negation', () => {
      const s = byteMatch('/admin', field.uri(), 'STARTS_WITH');
      expect(lint(and(s, not(s)))).toContain('error:contradictory-and');
    });
    it('does not flag OR alternatives or different components', () => {
      expect(
        lint(or(byteMatch('GET', field.method(), 'EXACTLY'), byteMatch('POST', field.method(), 'EXACTLY'))),
      ).not.toContain('error:contradictory-and');
      expect(
        lint(and(byteMatch('POST', field.method(), 'EXACTLY'), byteMatch('/login', field.uri(), 'EXACTLY'))),
      ).not.toContain('error:contradictory-and');
    });
  });

  describe('invalid-regex', () => {
    it.each(['(a)\\1', 'a(?=b)', '(?<!x)y', 'a++', '(?>ab)', 'a\\Kb', '[unclosed'])('rejects %s', (p) => {
      expect(lint(regex(p, field.uri(), tt('URL_DECODE')))).toContain('error:invalid-regex');
    });
    it('accepts RE2-compatible patterns and warns on capturing groups', () => {
      expect(lint(regex('(?:/etc/passwd|/proc/self/environ)', field.args(), tt('URL_DECODE')))).toEqual([]);
      expect(lint(regex('(etc|proc)/passwd', field.args(), tt('URL_DECODE')))).toContain(
        'warning:invalid-regex',
      );
    });
  });

  describe('broad-match', () => {
    it('flags an empty or tiny search string and .*', () => {
      expect(lint(byteMatch('', field.uri()))).toContain('error:broad-match');
      expect(lint(byteMatch('id', field.args(), 'CONTAINS', tt('URL_DECODE')))).toContain(
        'warning:broad-match',
      );
      expect(lint(regex('.*', field.uri()))).toContain('warning:broad-match');
    });
    it('flags a token found in ordinary traffic', () => {
      const found = lint(byteMatch('mozilla', field.header('user-agent'), 'CONTAINS', tt('LOWERCASE')));
      expect(found.some((c) => c.endsWith(':broad-match'))).toBe(true);
      expect(lint(byteMatch('.js', field.uri(), 'CONTAINS', tt('URL_DECODE')))).toContain(
        'warning:broad-match',
      );
    });
    it("reads the sample through each statement's own transformations", () => {
      // The sample's user agents say "Mozilla": only a lower-cased header holds "mozilla". Each
      // chain's transformed sample is kept for the process, so the order must not matter.
      const broad = (t: ReturnType<typeof tt>) =>
        lint(byteMatch('mozilla', field.header('user-agent'), 'CONTAINS', t)).some((c) =>
          c.endsWith(':broad-match'),
        );
      expect(broad(tt('NONE'))).toBe(false);
      expect(broad(tt('LOWERCASE'))).toBe(true);
      expect(broad(tt('NONE'))).toBe(false);
      expect(broad(tt('URL_DECODE'))).toBe(false);
      expect(broad(tt('URL_DECODE', 'LOWERCASE'))).toBe(true);
    });
    it("keeps each component's transformed sample apart, and reads chains longer than AWS allows", () => {
      const lower = tt('LOWERCASE');
      const on = (f: Parameters<typeof byteMatch>[1], t = lower) =>
        lint(byteMatch('mozilla', f, 'CONTAINS', t)).some((c) => c.endsWith(':broad-match'));
      expect(on(field.header('user-agent'))).toBe(true);
      expect(on(field.uri())).toBe(false);
      expect(on(field.header('user-agent'))).toBe(true);
      // Eleven steps (a finding of its own) are worked out, not kept, and still read right.
      const long = tt(...Array.from({ length: 10 }, () => 'NONE' as const), 'LOWERCASE');
      expect(on(field.header('user-agent'), long)).toBe(true);
      expect(on(field.uri(), long)).toBe(false);
    });
    it('does not flag an exploit-specific token', () => {
      expect(lint(byteMatch('/wp-admin/admin-ajax.php', field.uri(), 'EXACTLY', tt('URL_DECODE')))).toEqual(
        [],
      );
    });
  });

  describe('missing-decode', () => {
    it('flags an encodable payload in the query without URL_DECODE', () => {
      expect(lint(byteMatch('${jndi:', field.query(), 'CONTAINS', tt('LOWERCASE')))).toContain(
        'warning:missing-decode',
      );
    });
    it('flags SQLi on the query without URL_DECODE and XSS without HTML_ENTITY_DECODE', () => {
      expect(
        lint({ SqliMatchStatement: { FieldToMatch: field.args(), TextTransformations: tt() } }),
      ).toContain('warning:missing-decode');
      expect(
        lint({ XssMatchStatement: { FieldToMatch: field.args(), TextTransformations: tt('URL_DECODE') } }),
      ).toContain('warning:missing-decode');
      expect(
        lint({
          XssMatchStatement: {
            FieldToMatch: field.args(),
            TextTransformations: tt('URL_DECODE', 'HTML_ENTITY_DECODE'),
          },
        }),
      ).toEqual([]);
    });
    it('does not flag headers or plain path segments', () => {
      expect(
        lint(byteMatch('${jndi:', field.header('user-agent'), 'CONTAINS', tt('LOWERCASE'))),
      ).not.toContain('warning:missing-decode');
      expect(lint(byteMatch('/cgi-bin/test.cgi', field.uri(), 'EXACTLY'))).not.toContain(
        'warning:missing-decode',
      );
    });
  });

  describe('transform-order', () => {
    it('flags NONE with others, duplicates, and normalisation before decoding', () => {
      expect(lint(byteMatch('/etc/passwd', field.uri(), 'CONTAINS', tt('NONE', 'URL_DECODE')))).toContain(
        'warning:transform-order',
      );
      expect(
        lint(byteMatch('select', field.args(), 'CONTAINS', tt('URL_DECODE', 'LOWERCASE', 'LOWERCASE'))),
      ).toContain('warning:transform-order');
      expect(
        lint(byteMatch('/etc/passwd', field.uri(), 'CONTAINS', tt('NORMALIZE_PATH', 'URL_DECODE'))),
      ).toContain('warning:transform-order');
    });
    it('keeps a double URL_DECODE (it defeats double encoding)', () => {
      expect(lint(byteMatch('../..', field.uri(), 'CONTAINS', tt('URL_DECODE', 'URL_DECODE')))).not.toContain(
        'warning:transform-order',
      );
    });
    it('errors on transformations after a hash', () => {
      expect(lint(byteMatch('x', field.header('x-token'), 'EXACTLY', tt('MD5', 'LOWERCASE')))).toContain(
        'error:transform-order',
      );
    });
  });

  describe('non-blocking-action', () => {
    it('errors on Allow and warns on Count for a CVE rule', () => {
      const s = clean.Statement;
      expect(codes(rule(s, { action: { Allow: {} } }))).toContain('error:non-blocking-action');
      expect(codes(rule(s, { action: { Count: {} } }))).toContain('warning:non-blocking-action');
    });
    it('leaves an Allow rule that is not about a CVE alone', () => {
      expect(
        codes(
          rule(byteMatch('/healthz', field.uri(), 'EXACTLY'), {
            name: 'allow-health',
            action: { Allow: {} },
          }),
        ),
      ).toEqual([]);
    });
  });

  describe('body-oversize', () => {
    it('warns when a blocking body rule has no oversize choice', () => {
      expect(lint(byteMatch('<!ENTITY', field.body(), 'CONTAINS', tt('URL_DECODE')))).toContain(
        'warning:body-oversize',
      );
      expect(lint(byteMatch('<!ENTITY', field.body('MATCH'), 'CONTAINS', tt('URL_DECODE')))).not.toContain(
        'warning:body-oversize',
      );
      // An explicit CONTINUE is a choice (an unscoped rule cannot block every large upload).
      expect(lint(byteMatch('<!ENTITY', field.body('CONTINUE'), 'CONTAINS', tt('URL_DECODE')))).not.toContain(
        'warning:body-oversize',
      );
    });
  });

  describe('untraceable-name', () => {
    it('warns when the name or metric does not carry the CVE', () => {
      expect(codes(rule(clean.Statement, { name: 'block-log4j' }), { cveId: 'CVE-2021-44228' })).toContain(
        'warning:untraceable-name',
      );
      expect(codes(rule(clean.Statement, { metric: 'log4j' }))).toContain('warning:untraceable-name');
      expect(codes(rule(clean.Statement, { metric: 'wafgen_CVE_2021_44228' }))).toEqual([]);
    });
  });

  describe('unmatchable-field', () => {
    it('flags a "?" in UriPath, a leading "?" in QueryString and a non-word CONTAINS_WORD', () => {
      expect(lint(byteMatch('/index.php?id=', field.uri(), 'STARTS_WITH'))).toContain(
        'error:unmatchable-field',
      );
      expect(lint(byteMatch('?action=m2', field.query(), 'STARTS_WITH'))).toContain(
        'error:unmatchable-field',
      );
      expect(lint(byteMatch('jndi:', field.args(), 'CONTAINS_WORD', tt('URL_DECODE')))).toContain(
        'error:unmatchable-field',
      );
    });
    it('warns on a body size above the inspection limit without MATCH', () => {
      expect(
        lint({
          SizeConstraintStatement: {
            FieldToMatch: field.body(),
            ComparisonOperator: 'GT',
            Size: 65536,
            TextTransformations: tt(),
          },
        }),
      ).toContain('warning:unmatchable-field');
      expect(
        lint({
          SizeConstraintStatement: {
            FieldToMatch: field.body('MATCH'),
            ComparisonOperator: 'GT',
            Size: 65536,
            TextTransformations: tt(),
          },
        }),
      ).not.toContain('warning:unmatchable-field');
    });
  });

  it('reports the JSON path of the offending member', () => {
    const r = rule(
      or(
        byteMatch('${jndi:', field.args(), 'CONTAINS', tt('URL_DECODE', 'LOWERCASE')),
        byteMatch('${JNDI:', field.args(), 'CONTAINS', tt('URL_DECODE', 'LOWERCASE')),
      ),
    );
    const f = lintRule(r, ['Rules', 3]).find((x) => x.code === 'unmatchable-case');
    expect(f?.path).toBe('$.Rules[3].Statement.OrStatement.Statements[1].ByteMatchStatement.SearchString');
    expect(f?.fix).toContain('${jndi:');
  });

  it('documents every lint code in docs/lint.md', () => {
    const doc = readFileSync(resolve(REPO_ROOT, 'docs/lint.md'), 'utf8');
    const documented = (code: string) => new RegExp(`\\|\\s*\`${code}\`\\s*\\|`).test(doc);
    for (const check of LINT_CHECKS) expect(documented(check.code), check.code).toBe(true);
    // API-constraint codes are emitted as c.error('<code>', ...) in constraints.ts and schema.ts.
    for (const file of ['src/waf/constraints.ts', 'src/waf/schema.ts']) {
      const source = readFileSync(resolve(REPO_ROOT, file), 'utf8');
      for (const [, code] of source.matchAll(/\.error\(\s*'([a-z-]+)'/g))
        expect(documented(code!), code).toBe(true);
    }
  });
});
