// `wafgen batch` with an LLM (issue 15), run in-process as the CLI runs, against the local fake
// provider server: the shared generation call (--llm-batch), candidates and the judge kept with
// each rule; degraded built-in rules (every provider down) redone by a later batch once the
// providers answer; and reference pages fetched and read by the small model, as `generate` does.
//
// The reference fetch goes through the real safe fetcher to a page served on 127.0.0.1: the CLI
// has no fetcher seam, so the module is wrapped to exempt that one address (the fetcher's own
// tests-only `allowAddresses`) and to refuse every other host, so no test reaches past the machine.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import type * as SafeFetch from '../../src/evidence/safe-fetch.js';
import { generateRule } from '../../src/index.js';
import { openStore } from '../../src/store/index.js';
import { runCli } from '../support/cli.js';
import { promptTextOf, startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';

vi.mock('../../src/evidence/safe-fetch.js', async (importOriginal) => {
  const real = await importOriginal<typeof SafeFetch>();
  return {
    ...real,
    safeFetch: (url: string | URL, options: SafeFetch.SafeFetchOptions = {}) => {
      if (new URL(url).hostname !== '127.0.0.1')
        return Promise.reject(
          new real.FetchRefused('blocked-host', String(url), 'tests fetch 127.0.0.1 only'),
        );
      return real.safeFetch(url, { ...options, allowAddresses: ['127.0.0.1'] });
    },
  };
});

const JUDGE = 'anthropic:claude-haiku-4-5';
const rationale = 'Blocks this CVE’s exploit requests as they arrive.';
const VARS: Record<string, string> = {
  OPENAI_API_KEY: 'sk-test-not-a-real-key',
  ANTHROPIC_API_KEY: 'sk-ant-test-not-a-real-key',
  WAFGEN_LLM_PROVIDERS: 'openai,anthropic',
  WAFGEN_LLM_RETRIES: '0',
  WAFGEN_LLM_TIMEOUT_MS: '5000',
  WAFGEN_OFFLINE: '0',
};
const dataDir = mkdtempSync(join(tmpdir(), 'wafgen-cli-batch-'));
const statements = new Map<string, unknown>();
let fake: FakeLlm;
const saved = { ...process.env };

// A long advisory (past the small model's 2,000-character floor) served on loopback.
const PROSE =
  'ACME Reports 3.1 ships an export feature that administrators use to download CSV files. '.repeat(30);
const ADVISORY = `<html><head><title>ACME Reports 3.1 advisory</title></head><body><article>
<h1>SQL injection in ACME Reports export</h1>
<p>${PROSE}</p>
<p>The report_id parameter of /acme/api/export.php is concatenated into a SQL query, so a GET request whose report_id
carries a UNION SELECT reads the users table.</p>
</article></body></html>`;
let pages: Server;
const pageHits: string[] = [];

beforeAll(async () => {
  // The rule each bundled CVE's answer carries: the built-in engine's, proven on the same exploits.
  for (const id of [
    'CVE-2013-2251',
    'CVE-2017-9841',
    'CVE-2019-3396',
    'CVE-2021-41773',
    'CVE-2014-6271',
    'CVE-2018-7600',
    'CVE-2019-9670',
    'CVE-2020-14882',
  ])
    statements.set(id, (await generateRule(id)).rule.Statement);
  fake = await startFakeLlm();
  pages = createServer((req, res) => {
    pageHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(ADVISORY);
  });
  await new Promise<void>((done) => pages.listen(0, '127.0.0.1', done));
  Object.assign(process.env, VARS, {
    WAFGEN_DATA_DIR: dataDir,
    OPENAI_BASE_URL: fake.baseURL('openai'),
    ANTHROPIC_BASE_URL: fake.baseURL('anthropic'),
  });
}, 120_000);
afterAll(async () => {
  for (const k of [...Object.keys(VARS), 'WAFGEN_DATA_DIR', 'OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await fake?.close();
  await new Promise((done) => pages?.close(done));
});
beforeEach(() => fake.reset());

/** What the small model says of the advisory: one claim (/admin/secret.php) the text lacks. */
const EXTRACTED = {
  attackClass: 'sqli',
  endpoints: ['/acme/api/export.php', '/admin/secret.php'],
  parameters: ['report_id'],
  methods: ['GET'],
  headers: [],
  payloadTokens: ['UNION SELECT'],
};
const EXPORT_PATH = {
  ByteMatchStatement: {
    SearchString: '/acme/api/export.php',
    FieldToMatch: { UriPath: {} },
    TextTransformations: [{ Priority: 0, Type: 'URL_DECODE' }],
    PositionalConstraint: 'STARTS_WITH',
  },
};

/** The same matches, another statement: AND a condition no request meets the negation of. */
const differently = (statement: unknown) => ({
  AndStatement: {
    Statements: [
      statement,
      {
        NotStatement: {
          Statement: {
            ByteMatchStatement: {
              SearchString: 'never-in-any-request-7f3a',
              FieldToMatch: { UriPath: {} },
              TextTransformations: [{ Priority: 0, Type: 'NONE' }],
              PositionalConstraint: 'CONTAINS',
            },
          },
        },
      },
    ],
  },
});

/** Answers any call by what its prompt asks: a review, a batch of rules, one rule, or exploit facts. */
const anyCall = {
  respond: (prompt: string) => {
    if (prompt.includes('How would you bypass it')) return { bypasses: [], legitimate: [] };
    const many = [...prompt.matchAll(/^## (CVE-\S+)$/gm)].map((m) => m[1]!);
    if (many.length > 0)
      return { rules: many.map((cveId) => ({ cveId, rationale, statement: statements.get(cveId) })) };
    const one = /^CVE: (\S+)$/m.exec(prompt)?.[1];
    if (one) return { rationale, statement: statements.get(one) ?? EXPORT_PATH };
    return EXTRACTED;
  },
};
const answerAll = (n = 30) => {
  for (const p of ['openai', 'anthropic'] as const)
    fake.script(p, ...Array.from({ length: n }, () => anyCall));
};

/** Rule-writing calls (not the judge's nor the small model's), with whether one was batched. */
const generationCalls = () =>
  fake.requests
    .map((r) => ({ provider: r.provider, prompt: promptTextOf(r.body) }))
    .filter((c) => /^(CVE: |## CVE-)/m.test(c.prompt) && !c.prompt.includes('How would you bypass it'))
    .map((c) => ({ ...c, batched: /^## CVE-/m.test(c.prompt) }));

function listOf(name: string, ids: string[]): string {
  const file = join(dataDir, name);
  writeFileSync(file, ids.join('\n') + '\n');
  return file;
}

interface StoredReport {
  producedBy: string;
  engine: string;
  degraded?: boolean;
  fallback?: string;
  verdict: string;
  notes: string[];
  candidates?: { chosen: boolean; provider?: string }[];
  judge?: { judge: string; outcome: string };
  extraction?: { calls: number; model?: string; dropped: number; failed: number };
}
/** The newest stored version of each CVE (the CLI has closed the store by then). */
async function latest(ids: string[]): Promise<{ version: number; engine: string; report: StoredReport }[]> {
  const store = await openStore({ dataDir });
  try {
    return await Promise.all(
      ids.map(async (id) => {
        const r = (await store.rules.latest(id))!;
        return { version: r.version, engine: r.engine, report: r.report as StoredReport };
      }),
    );
  } finally {
    await store.close();
  }
}

/** `wafgen batch --json`; exit 0 (every rule proven or skipped) unless `code` says otherwise. */
async function batch(file: string, args: string[] = [], code = 0) {
  const r = await runCli(['batch', '--from', file, '--max-attempts', '1', '--json', ...args]);
  expect(r.code, r.stderr + r.stdout).toBe(code);
  return JSON.parse(r.stdout) as { cveId: string; status: string; verdict?: string }[];
}

describe('wafgen batch with an LLM', () => {
  it('--llm-batch 2 --judge: one call writes both rules, each judged; kept with the rule and shown by info', async () => {
    const ids = ['CVE-2013-2251', 'CVE-2017-9841'];
    answerAll();
    const out = await batch(listOf('a.txt', ids), ['--no-fetch', '--llm-batch', '2', '--judge', JUDGE]);
    expect(out.map((r) => r.status)).toEqual(['generated', 'generated']);
    const calls = generationCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ provider: 'openai', batched: true });
    for (const id of ids) expect(calls[0]!.prompt).toContain(`## ${id}`);
    // One review per rule, on the judge's own model.
    expect(fake.requestsFor('anthropic').map((q) => q.model)).toEqual([
      'claude-haiku-4-5',
      'claude-haiku-4-5',
    ]);
    for (const { report } of await latest(ids)) {
      expect(report).toMatchObject({
        producedBy: 'llm',
        verdict: 'proven',
        judge: { judge: JUDGE, outcome: 'upheld' },
      });
      expect(report.notes).toContain('llm: written in one call with 1 other CVE(s)');
      expect(report.candidates).toHaveLength(1);
    }
    const info = await runCli(['info', ids[0]!]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/\* candidate \(attempt 1\) openai\/gpt-4\.1: proven/);
    expect(info.stdout).toContain(`judge ${JUDGE}: upheld; proposed 0 bypass(es)`);
  }, 90_000);

  it('--llm-batch 2 --candidates 2 --judge: two candidates per rule from both providers, and the judge, kept', async () => {
    const ids = ['CVE-2019-3396', 'CVE-2021-41773'];
    answerAll();
    const out = await batch(listOf('a2.txt', ids), [
      '--no-fetch',
      '--llm-batch',
      '2',
      '--candidates',
      '2',
      '--judge',
      JUDGE,
    ]);
    expect(out.map((r) => r.status)).toEqual(['generated', 'generated']);
    const calls = generationCalls();
    // Two candidates of each rule: each provider asked once per CVE.
    for (const id of ids)
      expect(
        calls
          .filter((c) => c.prompt.includes(id))
          .map((c) => c.provider)
          .sort(),
      ).toEqual(['anthropic', 'openai']);
    for (const { report } of await latest(ids)) {
      expect(report).toMatchObject({
        producedBy: 'llm',
        verdict: 'proven',
        judge: { judge: JUDGE, outcome: 'upheld' },
      });
      expect(report.candidates).toHaveLength(2);
      expect(report.candidates!.filter((c) => c.chosen)).toHaveLength(1);
      expect(report.candidates!.map((c) => c.provider).sort()).toEqual(['anthropic', 'openai']);
    }
    const info = await runCli(['info', ids[1]!]);
    expect(info.stdout.match(/candidate \(attempt 1\) (openai|anthropic)\//g)).toHaveLength(2);
    expect(info.stdout).toContain(`judge ${JUDGE}: upheld`);
  }, 90_000);

  it('every provider down: degraded built-in rules; a later batch once they answer replaces them', async () => {
    const ids = ['CVE-2014-6271', 'CVE-2018-7600'];
    // The LLM's rules block what the built-in ones do, written differently (the next case has the
    // LLM answer with the built-in engine's very statement).
    const builtin = new Map(ids.map((id) => [id, statements.get(id)]));
    for (const id of ids) statements.set(id, differently(statements.get(id)));
    const file = listOf('b.txt', ids);
    // Nothing scripted: every provider answers 500.
    const down = await batch(file, ['--no-fetch', '--llm-batch', '2']);
    expect(down.map((r) => r.status)).toEqual(['generated', 'generated']);
    expect(fake.requests.length).toBeGreaterThan(0);
    const degraded = await latest(ids);
    for (const { report } of degraded)
      expect(report).toMatchObject({ producedBy: 'builtin', engine: 'builtin', degraded: true });

    // Offline (the built-in engine) there is nothing better to write: they stay, skipped.
    process.env.WAFGEN_OFFLINE = '1';
    try {
      const offline = await batch(file);
      expect(offline.map((r) => r.status)).toEqual(['skipped', 'skipped']);
    } finally {
      process.env.WAFGEN_OFFLINE = '0';
    }

    fake.reset();
    answerAll();
    const up = await batch(file, ['--no-fetch', '--llm-batch', '2']);
    expect(up.map((r) => r.status)).toEqual(['generated', 'generated']);
    expect(generationCalls()).toHaveLength(1);
    const replaced = await latest(ids);
    for (const [i, r] of replaced.entries()) {
      expect(r.version).toBe(degraded[i]!.version + 1);
      expect(r.report).toMatchObject({ producedBy: 'llm', verdict: 'proven' });
      expect(r.report.degraded).toBeUndefined();
      expect(r.report.fallback).toBeUndefined();
    }

    // An LLM rule is done: the next batch skips it and asks no provider.
    fake.reset();
    const again = await batch(file, ['--no-fetch', '--llm-batch', '2']);
    expect(again.map((r) => r.status)).toEqual(['skipped', 'skipped']);
    expect(fake.requests).toHaveLength(0);
    for (const [id, s] of builtin) statements.set(id, s);
  }, 120_000);

  it('a degraded rule is replaced by the LLM rule when the LLM writes the very statement the built-in engine did', async () => {
    const ids = ['CVE-2019-9670', 'CVE-2020-14882'];
    const file = listOf('b2.txt', ids);
    await batch(file, ['--no-fetch', '--llm-batch', '2']);
    const degraded = await latest(ids);
    for (const { report } of degraded)
      expect(report).toMatchObject({ producedBy: 'builtin', degraded: true });
    answerAll();
    const up = await batch(file, ['--no-fetch', '--llm-batch', '2']);
    expect(up.map((r) => r.status)).toEqual(['generated', 'generated']);
    for (const [i, r] of (await latest(ids)).entries()) {
      expect(r.version).toBe(degraded[i]!.version + 1);
      expect(r.report).toMatchObject({ producedBy: 'llm', verdict: 'proven' });
      expect(r.report.degraded).toBeUndefined();
    }
  }, 120_000);

  it("reference pages are fetched and a long one read by the small model, as generate does; --no-fetch and offline don't", async () => {
    const cveId = 'CVE-2099-7001';
    const { port } = pages.address() as AddressInfo;
    const records = join(dataDir, 'c.jsonl');
    writeFileSync(
      records,
      JSON.stringify({
        id: cveId,
        title: 'ACME Reports SQL injection',
        description: 'SQL injection in ACME Reports 3.1 lets unauthenticated attackers read the database.',
        cwes: ['CWE-89'],
        severity: 'critical',
        references: [`http://127.0.0.1:${port}/advisory/${cveId}`],
        source: 'test',
      }) + '\n',
    );
    pageHits.length = 0;
    answerAll();
    // No exploit request to test the rule against: untested (exit 4).
    const out = await batch(records, [], 4);
    expect(out.map((r) => [r.cveId, r.status])).toEqual([[cveId, 'untested']]);
    expect(pageHits).toEqual([`/advisory/${cveId}`]);
    const mini = fake.requestsFor('openai').filter((q) => q.model === 'gpt-4.1-mini');
    expect(mini).toHaveLength(1);
    expect(promptTextOf(mini[0]!.body)).toContain('report_id parameter of /acme/api/export.php');
    const { report } = (await latest([cveId]))[0]!;
    expect(report).toMatchObject({
      producedBy: 'llm',
      extraction: { calls: 1, model: 'gpt-4.1-mini', dropped: 1, failed: 0 },
    });
    const info = await runCli(['info', cveId, '--json']);
    const { evidence } = JSON.parse(info.stdout) as {
      evidence: { kind: string; extractor?: string; signature?: { endpoints: string[] } }[];
    };
    expect(evidence.find((e) => e.extractor === 'llm:gpt-4.1-mini')?.signature?.endpoints).toEqual([
      '/acme/api/export.php',
    ]);

    // --no-fetch, WAFGEN_FETCH_REFERENCES=0, then offline: the page is not asked for again.
    fake.reset();
    answerAll();
    await batch(records, ['--force', '--no-fetch'], 4);
    expect(pageHits).toHaveLength(1);
    process.env.WAFGEN_FETCH_REFERENCES = '0';
    try {
      await batch(records, ['--force'], 4);
    } finally {
      delete process.env.WAFGEN_FETCH_REFERENCES;
    }
    expect(pageHits).toHaveLength(1);
    process.env.WAFGEN_OFFLINE = '1';
    try {
      await batch(records, ['--force'], 4);
    } finally {
      process.env.WAFGEN_OFFLINE = '0';
    }
    expect(pageHits).toHaveLength(1);
    expect(fake.requestsFor('openai').filter((q) => q.model === 'gpt-4.1-mini')).toHaveLength(0);
  }, 90_000);
});
