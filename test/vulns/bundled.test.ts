import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BUNDLED_DATA_FILE,
  BundledDataError,
  findBundled,
  loadBundled,
  parseBundled,
} from '../../src/vulns/bundled.js';
import type * as Bundled from '../../src/vulns/bundled.js';
import { importPath } from '../../src/vulns/importers/index.js';
import { ATTACK_CLASSES, VulnRecordSchema } from '../../src/vulns/model.js';
import { REPO_ROOT, sharedPath } from '../support/shared.js';

const records = loadBundled();

/** The CVEs the bundled knowledge must cover (the headline exploited web vulnerabilities). */
const REQUIRED = [
  'CVE-2021-44228', 'CVE-2021-45046', 'CVE-2022-22965', 'CVE-2022-22963', 'CVE-2021-26084', 'CVE-2022-26134',
  'CVE-2023-22527', 'CVE-2023-22515', 'CVE-2023-22518', 'CVE-2021-34473', 'CVE-2021-34523', 'CVE-2021-31207',
  'CVE-2021-26855', 'CVE-2023-34362', 'CVE-2019-19781', 'CVE-2023-3519', 'CVE-2023-4966', 'CVE-2020-5902',
  'CVE-2022-1388', 'CVE-2023-46747', 'CVE-2018-13379', 'CVE-2022-40684', 'CVE-2024-55591', 'CVE-2023-46805',
  'CVE-2024-21887', 'CVE-2025-4427', 'CVE-2024-3400', 'CVE-2017-5638', 'CVE-2017-9805', 'CVE-2018-11776',
  'CVE-2018-7600', 'CVE-2019-6340', 'CVE-2020-25213', 'CVE-2024-23897', 'CVE-2018-1000861', 'CVE-2021-22205',
  'CVE-2023-7028', 'CVE-2021-21972', 'CVE-2022-22954', 'CVE-2021-41773', 'CVE-2021-42013', 'CVE-2014-6271',
  'CVE-2017-9841', 'CVE-2019-16759', 'CVE-2024-27198', 'CVE-2021-43798', 'CVE-2023-23752',
]; // prettier-ignore

describe('bundled knowledge (data/vulns.bundled.jsonl)', () => {
  it('has at least 50 valid records with unique ids, all from the bundled source', () => {
    expect(records.length).toBeGreaterThanOrEqual(50);
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    for (const r of records) {
      expect(VulnRecordSchema.parse(r)).toEqual(r);
      expect(r.source).toBe('bundled');
    }
  });

  it('covers the headline CVEs', () => {
    const ids = new Set(records.map((r) => r.id));
    expect(REQUIRED.filter((id) => !ids.has(id))).toEqual([]);
  });

  it('gives every record a title, a 2–4 sentence description, CWEs, CVSS, vendor/product and an NVD link', () => {
    for (const r of records) {
      expect(r.title, r.id).toBeTruthy();
      const sentences = r.description.split(/(?<=[.!?])\s+(?=[A-Z(])/).length;
      expect(sentences, `${r.id}: ${r.description}`).toBeGreaterThanOrEqual(2);
      expect(sentences, `${r.id}: ${r.description}`).toBeLessThanOrEqual(4);
      expect(r.cwes.length, r.id).toBeGreaterThan(0);
      expect(r.cvss, r.id).toBeDefined();
      expect(r.severity, r.id).not.toBe('unknown');
      expect(r.vendor && r.product, r.id).toBeTruthy();
      expect(r.references, r.id).toContain(`https://nvd.nist.gov/vuln/detail/${r.id}`);
      for (const u of r.references) expect(u, r.id).toMatch(/^https?:\/\/[^\s]+$/);
    }
  });

  it('gives every record exploit facts with an attack class; every endpoint starts with /', () => {
    for (const r of records) {
      expect(r.exploit, r.id).toBeDefined();
      expect(ATTACK_CLASSES, r.id).toContain(r.exploit!.attackClass);
      for (const e of r.exploit!.endpoints) expect(e.startsWith('/'), `${r.id}: ${e}`).toBe(true);
      for (const m of r.exploit!.methods) expect(m, r.id).toMatch(/^[A-Z]+$/);
      // Something a rule can key on.
      const facts = r.exploit!;
      expect(
        facts.endpoints.length + facts.payloadTokens.length + facts.parameters.length,
        r.id,
      ).toBeGreaterThan(0);
    }
  });

  it('spans the attack classes', () => {
    const classes = new Set(records.map((r) => r.exploit!.attackClass));
    expect([...ATTACK_CLASSES].filter((c) => !classes.has(c))).toEqual([]);
  });

  it('returns copies, and finds a record by id in any case', () => {
    const a = loadBundled();
    a[0]!.title = 'changed';
    expect(loadBundled()[0]!.title).not.toBe('changed');
    expect(findBundled('cve-2021-44228')?.exploit?.payloadTokens).toContain('${jndi:');
    expect(findBundled('CVE-1999-0001')).toBeUndefined();
  });

  it('reads through the generic importer too (the file is wafgen-shaped JSON Lines)', async () => {
    const results = [];
    for await (const r of importPath(BUNDLED_DATA_FILE)) results.push(r);
    expect(results[0]!.errors).toEqual([]);
    expect(results[0]!.records).toEqual(records);
  });

  it('parseBundled fails loudly on a bad line', () => {
    expect(() =>
      parseBundled('{"id":"CVE-2021-44228","source":"bundled","fetchedAt":"x"}\n{nope', 'b.jsonl'),
    ).toThrow(BundledDataError);
    const line = readFileSync(BUNDLED_DATA_FILE, 'utf8').split('\n')[0]!;
    expect(() => parseBundled(`${line}\n${line}\n`, 'b.jsonl')).toThrow(/b\.jsonl:2: duplicate/);
  });

  it('loads from dist/ after tsc (two levels below the package root, like src/)', async () => {
    const dist = resolve(REPO_ROOT, 'dist/vulns/bundled.js');
    if (!existsSync(dist)) return; // the suite's global setup builds dist/; a run without it skips this
    const mod = (await import(pathToFileURL(dist).href)) as typeof Bundled;
    expect(mod.BUNDLED_DATA_FILE).toBe(BUNDLED_DATA_FILE);
    expect(mod.loadBundled()).toEqual(records);
  });
});

describe('bundled knowledge against the shared corpus', () => {
  const cvesFile = sharedPath('corpus', 'cves.dev.jsonl');
  const exploitsFile = sharedPath('corpus', 'exploits.dev.jsonl');

  it.skipIf(cvesFile === undefined)('includes every corpus CVE, in its own words', () => {
    const byId = new Map(records.map((r) => [r.id, r]));
    const shingles = (t: string) => {
      const w = t
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter(Boolean);
      return new Set(w.slice(0, Math.max(0, w.length - 7)).map((_, i) => w.slice(i, i + 8).join(' ')));
    };
    for (const line of readFileSync(cvesFile!, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const c = JSON.parse(line) as { cve: string; description: string };
      const r = byId.get(c.cve);
      expect(r, c.cve).toBeDefined();
      // No run of 8 words copied from the template's description.
      const theirs = shingles(c.description);
      expect(
        [...shingles(r!.description)].filter((s) => theirs.has(s)),
        c.cve,
      ).toEqual([]);
    }
  });

  it.skipIf(exploitsFile === undefined)(
    'matches at least one real exploit request per CVE by endpoint or token',
    () => {
      const decode = (s: string) => {
        try {
          return decodeURIComponent(s);
        } catch {
          return s.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
        }
      };
      const byCve = new Map<string, { uri: string; headers: [string, string][]; body?: string }[]>();
      for (const line of readFileSync(exploitsFile!, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const req = JSON.parse(line) as {
          cve: string;
          uri: string;
          headers: [string, string][];
          body?: string;
        };
        byCve.set(req.cve, [...(byCve.get(req.cve) ?? []), req]);
      }
      const endpointMatches = (endpoint: string, path: string) => {
        if (endpoint.includes('*')) {
          const rx = new RegExp(
            endpoint
              .split('*')
              .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
              .join('[^/]+'),
          );
          return rx.test(path);
        }
        return endpoint.endsWith('/')
          ? path.includes(endpoint)
          : path === endpoint || path.endsWith(endpoint);
      };
      const misses: string[] = [];
      for (const [cve, reqs] of byCve) {
        const facts = findBundled(cve)!.exploit!;
        const hit = reqs.some((req) => {
          const path = req.uri.split('?')[0]!;
          const raw = [req.uri, ...req.headers.map(([n, v]) => `${n}: ${v}`), req.body ?? ''].join('\n');
          const texts = [raw, decode(raw), decode(decode(raw))].map((t) => t.toLowerCase());
          return (
            facts.endpoints.some((e) => endpointMatches(e, path) || endpointMatches(e, decode(path))) ||
            facts.payloadTokens.some((t) => texts.some((x) => x.includes(t.toLowerCase())))
          );
        });
        if (!hit) misses.push(cve);
      }
      expect(misses).toEqual([]);
    },
  );
});
