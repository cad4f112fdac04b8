// Evidence fetched from a record's references feeds generation: the advisory's PoC gives the
// endpoint the rule is scoped to, and the evidence is kept in the store with its source.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateRule } from '../../src/app/index.js';
import { BuiltinEngine } from '../../src/generation/builtin/index.js';
import { openStore, type Store } from '../../src/store/index.js';

const ADVISORY = `<html><head><title>ACME Reports 3.1: SQL injection in the export endpoint</title></head><body><article>
<h1>SQL injection in ACME Reports export</h1>
<p>The <code>report_id</code> parameter of the export endpoint is concatenated into a SQL query.
An unauthenticated attacker can read the whole database.</p>
<pre><code>curl "https://reports.example.com/acme/api/export.php?report_id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--%20"</code></pre>
<p>Upgrade to 3.2.</p></article></body></html>`;

let store: Store;
beforeAll(async () => {
  store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'wafgen-evgen-')) });
  await store.vulns.upsert({
    id: 'CVE-2099-7777',
    title: 'ACME Reports SQL injection',
    description: 'SQL injection in ACME Reports 3.1 lets unauthenticated attackers read the database.',
    cwes: ['CWE-89'],
    severity: 'critical',
    references: [
      'https://advisories.acme.example/2099-7777',
      'https://nvd.nist.gov/vuln/detail/CVE-2099-7777',
    ],
    source: 'test',
    fetchedAt: new Date(0).toISOString(),
  });
}, 60_000);
afterAll(async () => {
  await store.close();
});

describe('generate with fetched evidence', () => {
  it('scopes the rule to the endpoint the advisory shows and stores the evidence', async () => {
    const fetched: string[] = [];
    const result = await generateRule(
      { cveId: 'CVE-2099-7777', maxInputBytes: 1 << 20, fetch: true },
      {
        store,
        engine: new BuiltinEngine(),
        lookup: { offline: false },
        fetcher: async (url) => {
          fetched.push(url);
          if (!url.includes('advisories.acme.example')) throw new Error('not found');
          return {
            url,
            status: 200,
            contentType: 'text/html',
            text: ADVISORY,
            bytes: ADVISORY.length,
            redirects: [],
          };
        },
      },
    );
    expect(fetched).toContain('https://advisories.acme.example/2099-7777');
    expect(JSON.stringify(result.rule.Statement)).toContain('export\\\\.php');
    expect(result.report.evidenceUsed).toContain('https://advisories.acme.example/2099-7777');
    const evidence = await store.evidence.forCve('CVE-2099-7777');
    expect(evidence.map((e) => e.kind).sort()).toEqual(['article', 'signature']);
    expect(evidence.find((e) => e.kind === 'signature')!.signature!.endpoints).toContain(
      '/acme/api/export.php',
    );
  });

  it('does not fetch when offline', async () => {
    let calls = 0;
    await generateRule(
      { cveId: 'CVE-2099-7777', maxInputBytes: 1 << 20, fetch: true, save: false },
      {
        store,
        engine: new BuiltinEngine(),
        lookup: { offline: true },
        fetcher: async () => {
          calls++;
          throw new Error('x');
        },
      },
    );
    expect(calls).toBe(0);
  });
});
