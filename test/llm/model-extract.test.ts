// Issue 15 item 1: long fetched text goes to the provider's small model for exploit facts, inside the
// untrusted-text fence; its answer is schema-checked and cross-checked against the text (claims the
// text does not contain are dropped); its calls are counted apart from the generation's. Real
// provider package, the local fake provider server, a local fetcher, the embedded store.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { generateRule } from '../../src/app/index.js';
import { crossCheck } from '../../src/evidence/model-extract.js';
import { BuiltinEngine } from '../../src/generation/builtin/index.js';
import { createEngine } from '../../src/generation/llm/index.js';
import { createLlmClient, loadLlmConfig } from '../../src/llm/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { promptTextOf, startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { fakeEnv } from './helpers.js';

const PROSE =
  `ACME Reports 3.1 ships an export feature that administrators use to download CSV files. `.repeat(30);
const ADVISORY = (
  extra = PROSE,
) => `<html><head><title>ACME Reports 3.1 advisory</title></head><body><article>
<h1>SQL injection in ACME Reports export</h1>
<p>${extra}</p>
<p>The report_id parameter of /acme/api/export.php is concatenated into a SQL query, so a GET request whose report_id
carries a UNION SELECT reads the users table.</p>
</article></body></html>`;

let fake: FakeLlm;
let store: Store;
beforeAll(async () => {
  fake = await startFakeLlm();
  store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'wafgen-mx-')) });
}, 60_000);
afterAll(async () => {
  await store.close();
  await fake.close();
});
beforeEach(() => fake.reset());

let n = 0;
async function generate(html: string) {
  const cveId = `CVE-2099-${String(8000 + ++n)}`;
  await store.vulns.upsert({
    id: cveId,
    title: 'ACME Reports SQL injection',
    description: 'SQL injection in ACME Reports 3.1 lets unauthenticated attackers read the database.',
    cwes: ['CWE-89'],
    severity: 'critical',
    references: [`https://advisories.acme.example/${cveId}`],
    source: 'test',
    fetchedAt: new Date(0).toISOString(),
  });
  const choice = createEngine({ mode: 'llm', client: createLlmClient(loadLlmConfig(fakeEnv(fake))) });
  const result = await generateRule(
    { cveId, maxInputBytes: 1 << 20, fetch: true, save: false },
    {
      store,
      engine: new BuiltinEngine(),
      lookup: { offline: false },
      extract: choice.extract!,
      fetcher: async (url) => ({
        url,
        status: 200,
        contentType: 'text/html',
        text: html,
        bytes: html.length,
        redirects: [],
      }),
    },
  );
  return { cveId, result, evidence: await store.evidence.forCve(cveId) };
}

describe('model extraction', () => {
  it("long text: the mini model's facts, minus those the text lacks, stored beside the heuristic's and counted apart", async () => {
    fake.script('openai', {
      json: {
        attackClass: 'sqli',
        endpoints: ['/acme/api/export.php?report_id=1', '/admin/secret.php'],
        parameters: ['report_id', 'session_token'],
        methods: ['GET', 'DELETE'],
        headers: [],
        payloadTokens: ['UNION SELECT'],
      },
      usage: { inputTokens: 3000, outputTokens: 120 },
    });
    const { result, evidence } = await generate(ADVISORY());
    const [req] = fake.requestsFor('openai');
    expect(fake.requests).toHaveLength(1);
    expect(req!.model).toBe('gpt-4.1-mini');
    expect(promptTextOf(req!.body)).toMatch(/<untrusted-data-[0-9a-f]+>/);

    const byModel = evidence.find((e) => e.kind === 'signature' && e.extractor === 'llm:gpt-4.1-mini');
    expect(byModel?.signature).toMatchObject({
      attackClass: 'sqli',
      endpoints: ['/acme/api/export.php'],
      parameters: ['report_id'],
      methods: ['GET'],
      payloadTokens: ['UNION SELECT'],
    });
    // The heuristic's signature stays (the offline path).
    expect(evidence.some((e) => e.kind === 'signature' && e.extractor === 'heuristic')).toBe(true);
    expect(result.report.extraction).toEqual({
      calls: 1,
      provider: 'openai',
      model: 'gpt-4.1-mini',
      usage: { inputTokens: 3000, outputTokens: 120 },
      costUsd: expect.any(Number),
      dropped: 3,
      failed: 0,
    });
    expect(result.report.extraction!.costUsd).toBeGreaterThan(0);
    // The built-in engine wrote the rule: the generation itself used no tokens.
    expect(result.report.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
  });

  it('short text: no model call, the heuristic alone', async () => {
    const { result } = await generate(ADVISORY('Short.'));
    expect(fake.requests).toHaveLength(0);
    expect(result.report.extraction).toBeUndefined();
  });

  it('a failed call or an answer outside the schema leaves the heuristic facts, and is counted', async () => {
    fake.script('openai', { status: 500, message: 'down' });
    const failed = await generate(ADVISORY());
    expect(failed.result.report.extraction).toMatchObject({ calls: 1, failed: 1 });
    expect(failed.evidence.filter((e) => e.kind === 'signature').map((e) => e.extractor)).toEqual([
      'heuristic',
    ]);

    fake.script('openai', {
      json: {
        attackClass: 'sqli',
        endpoints: Array(50).fill('/a'),
        parameters: [],
        methods: [],
        headers: [],
        payloadTokens: [],
      },
    });
    const bounded = await generate(ADVISORY());
    expect(bounded.result.report.extraction).toMatchObject({ calls: 1, failed: 1 });
  });
});

describe('cross-check', () => {
  it('keeps values the text has raw or percent-decoded, methods as words only', () => {
    const text = 'POST /x/upload.jsp?name=%3Cscript%3E HTTP/1.1\nX-Forwarded-For: 1.2.3.4\nGETTING started';
    const { facts, dropped } = crossCheck(text, {
      attackClass: null,
      endpoints: ['/x/upload.jsp', '/y'],
      parameters: ['name'],
      methods: ['POST', 'GET'],
      headers: ['x-forwarded-for'],
      payloadTokens: ['<script>', '<img'],
    });
    expect(facts).toEqual({
      endpoints: ['/x/upload.jsp'],
      parameters: ['name'],
      methods: ['POST'],
      headers: ['x-forwarded-for'],
      payloadTokens: ['<script>'],
    });
    expect(dropped).toBe(3);
  });
});
