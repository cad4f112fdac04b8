// lookupCve and findRecord end to end over a real embedded store, with NVD, the KEV catalog and the
// nuclei templates served from local servers: found everywhere, one source failing while the others
// count, nothing found, offline.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { findRecord, type LookupOptions, CveNotFoundError, lookupCve } from '../../src/app/index.js';
import { InputError } from '../../src/core/errors.js';
import { type Store, openStore } from '../../src/store/index.js';
import { loadLiveConfig } from '../../src/vulns/live/config.js';
import {
  type Handler,
  type TestServer,
  KEV_CATALOG,
  NUCLEI_CONFLUENCE,
  NVD_CONFLUENCE,
  NVD_EMPTY,
  NVD_LOG4J,
  sendJson,
  serve,
} from '../vulns/live/helpers.js';

const NVD_PATH = '/rest/json/cves/2.0';
const KEV_PATH = '/kev/known_exploited_vulnerabilities.json';
const NUCLEI_BASE = '/nuclei-templates/main';

let dataDir: string;
let store: Store;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'wafgen-live-'));
  store = await openStore({ dataDir });
}, 60_000);
afterAll(async () => {
  await store?.close();
  await rm(dataDir, { recursive: true, force: true });
});

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** `text` about CVE `from`, rewritten to be about `to` (so each test has a CVE of its own). */
const about = (text: string, from: string, to: string) => text.replaceAll(from, to);

type Answer = string | number | Handler;
interface World {
  /** NVD answer per CVE id (a body, or a status); default: totalResults 0. */
  nvd?: Record<string, Answer>;
  /** The KEV catalog body, or a status. */
  kev?: Answer;
  /** Template per CVE id, or a status; default 404. */
  nuclei?: Record<string, Answer>;
}

function answer(a: Answer | undefined, fallback: Answer, type: string): Handler {
  const value = a ?? fallback;
  if (typeof value === 'function') return value;
  return (_q, res) => {
    if (typeof value === 'number') return sendJson(res, `HTTP ${value}`, value);
    res.writeHead(200, { 'content-type': type });
    res.end(value);
  };
}

/** One local server playing NVD, CISA and the raw nuclei-templates files. */
async function world(w: World): Promise<TestServer> {
  return serve((req, res, n) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === NVD_PATH) {
      const id = url.searchParams.get('cveId') ?? '';
      return answer(w.nvd?.[id], NVD_EMPTY(), 'application/json')(req, res, n);
    }
    if (url.pathname === KEV_PATH) return answer(w.kev, KEV_CATALOG(), 'application/json')(req, res, n);
    const m = /^\/nuclei-templates\/main\/http\/cves\/\d{4}\/(CVE-[\d-]+)\.yaml$/.exec(url.pathname);
    if (m) return answer(w.nuclei?.[m[1]!], 404, 'text/plain')(req, res, n);
    sendJson(res, 'not found', 404);
  });
}

function sources(url: string, extra: Partial<LookupOptions> = {}): LookupOptions {
  return {
    store,
    offline: false,
    nvd: { baseUrl: url, retries: 0 },
    kev: { url: url + KEV_PATH, retries: 0 },
    nuclei: { base: url + NUCLEI_BASE, retries: 0 },
    ...extra,
  };
}

describe('lookupCve', () => {
  it('gets the NVD record, marks it from CISA KEV, adds the nuclei template, and stores it all', async () => {
    server = await world({
      nvd: { 'CVE-2023-22527': NVD_CONFLUENCE() },
      nuclei: { 'CVE-2023-22527': NUCLEI_CONFLUENCE() },
    });
    const result = await lookupCve('cve-2023-22527', sources(server.url));

    expect(result.sources).toEqual([
      { source: 'nvd', status: 'found', detail: `${server.url}${NVD_PATH}?cveId=CVE-2023-22527` },
      { source: 'kev', status: 'found', detail: 'added 2024-01-24' },
      {
        source: 'nuclei',
        status: 'found',
        detail: `${server.url}${NUCLEI_BASE}/http/cves/2023/CVE-2023-22527.yaml`,
      },
    ]);
    // NVD's fields win (it is dated); the template fills in and adds its tags; KEV marks it.
    expect(result.record).toMatchObject({
      id: 'CVE-2023-22527',
      source: 'nvd',
      description: expect.stringContaining('template injection vulnerability'),
      cvss: { score: 9.8 },
      severity: 'critical',
      cwes: ['CWE-74'],
      vendor: 'atlassian',
      kev: true,
      kevDateAdded: '2024-01-24',
      title: 'Atlassian Confluence - Remote Code Execution (wafgen test fixture)',
      modified: '2024-01-19T17:15:07.917',
    });
    expect(result.record.tags).toEqual(expect.arrayContaining(['kev', 'confluence', 'ssti']));
    expect(await store.vulns.get('CVE-2023-22527')).toEqual(result.record);

    const kinds = result.evidence.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'request').length).toBeGreaterThanOrEqual(2);
    expect(kinds.filter((k) => k === 'template')).toHaveLength(1);
    const stored = await store.evidence.forCve('CVE-2023-22527');
    expect(stored.map((e) => e.contentHash).sort()).toEqual(result.evidence.map((e) => e.contentHash).sort());
    expect(stored.find((e) => e.kind === 'request')?.request?.uri).toBe('/template/aui/text-inline.vm');
    // The request that needs a value from an earlier response is a warning, not a failure.
    expect(result.warnings.join('\n')).toMatch(/nuclei template .*request not imported/);

    // Again: the same evidence is kept once.
    await lookupCve('CVE-2023-22527', sources(server.url));
    expect(await store.evidence.forCve('CVE-2023-22527')).toHaveLength(stored.length);
  });

  it('keeps the template and the KEV mark when NVD fails', async () => {
    const id = 'CVE-2023-90001';
    server = await world({
      nvd: { [id]: 503 },
      kev: about(KEV_CATALOG(), 'CVE-2023-22527', id),
      nuclei: { [id]: about(NUCLEI_CONFLUENCE(), 'CVE-2023-22527', id) },
    });
    const result = await lookupCve(id, sources(server.url));
    expect(result.sources.map((s) => `${s.source}:${s.status}`)).toEqual([
      'nvd:failed',
      'kev:found',
      'nuclei:found',
    ]);
    expect(result.warnings[0]).toMatch(
      /^NVD look-up failed: NVD answered HTTP 503 Service Unavailable for http/,
    );
    expect(result.record).toMatchObject({ id, source: 'nuclei', kev: true, kevDateAdded: '2024-01-24' });
    expect((await store.evidence.forCve(id)).length).toBe(result.evidence.length);
    expect(result.evidence.length).toBeGreaterThan(0);
  });

  it('keeps the NVD record when the KEV catalog fails and there is no template', async () => {
    const id = 'CVE-2021-90002';
    server = await world({ nvd: { [id]: about(NVD_LOG4J(), 'CVE-2021-44228', id) }, kev: 500 });
    const result = await lookupCve(id, sources(server.url));
    expect(result.sources.map((s) => `${s.source}:${s.status}`)).toEqual([
      'nvd:found',
      'kev:failed',
      'nuclei:not-found',
    ]);
    expect(result.warnings).toEqual([
      expect.stringMatching(/^CISA KEV look-up failed: CISA KEV answered HTTP 500/),
    ]);
    // NVD itself carries CISA's date for KEV entries.
    expect(await store.vulns.get(id)).toMatchObject({
      id,
      source: 'nvd',
      kev: true,
      kevDateAdded: '2021-12-10',
    });
    expect(result.evidence).toEqual([]);
  });

  it('keeps NVD and KEV when the template server fails, KEV adding its tags', async () => {
    const id = 'CVE-2021-90003';
    const nvd = JSON.parse(about(NVD_LOG4J(), 'CVE-2021-44228', id)) as {
      vulnerabilities: { cve: Record<string, unknown> }[];
    };
    delete nvd.vulnerabilities[0]!.cve.cisaExploitAdd; // only the catalog says it is exploited
    server = await world({
      nvd: { [id]: JSON.stringify(nvd) },
      kev: about(KEV_CATALOG(), 'CVE-2021-44228', id),
      nuclei: { [id]: 502 },
    });
    const result = await lookupCve(id, sources(server.url));
    expect(result.sources.map((s) => `${s.source}:${s.status}`)).toEqual([
      'nvd:found',
      'kev:found',
      'nuclei:failed',
    ]);
    expect(result.warnings).toEqual([
      'CISA KEV catalog: 1 malformed entries skipped', // the fixture's entry without a cveID
      expect.stringMatching(
        /^nuclei template look-up failed: nuclei-templates answered HTTP 502 Bad Gateway/,
      ),
    ]);
    expect(result.record).toMatchObject({ id, kev: true, kevDateAdded: '2021-12-10' });
    expect(result.record.tags).toEqual(expect.arrayContaining(['kev', 'ransomware']));
  });

  it('fails with one line saying why when no source has the CVE, storing nothing', async () => {
    server = await world({});
    const err = await lookupCve('CVE-2099-0002', sources(server.url)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CveNotFoundError);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(
      'CVE-2099-0002 is not in the local store and the live look-up found nothing: NVD has no record of it; ' +
        'nuclei-templates has no template for it; import it with `wafgen import <file>` or pass --vuln FILE',
    );
    expect(await store.vulns.get('CVE-2099-0002')).toBeUndefined();
  });

  it('says which sources failed, and that KEV alone is not a record', async () => {
    server = await world({ nvd: { 'CVE-2024-3400': 500 }, nuclei: { 'CVE-2024-3400': 500 } });
    const err = (await lookupCve('CVE-2024-3400', sources(server.url)).catch((e: unknown) => e)) as Error;
    expect(err.message).not.toContain('\n');
    expect(err.message).toMatch(
      /^CVE-2024-3400 is not in the local store and the live look-up found nothing: NVD failed \(NVD answered HTTP 500 .*\); CISA KEV lists it \(added 2024-04-12\) but gives no details; nuclei-templates failed \(.*\); import it with/,
    );
    expect(await store.vulns.get('CVE-2024-3400')).toBeUndefined();
  });

  it('offline, fails at once with the one-line message and touches no network', async () => {
    server = await world({ nvd: { 'CVE-2023-22527': NVD_CONFLUENCE() } });
    const err = (await lookupCve('CVE-2099-0003', sources(server.url, { offline: true })).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(CveNotFoundError);
    expect(err.message).toBe(
      'CVE-2099-0003 is not in the local store and the network is off (WAFGEN_OFFLINE is set); import it with ' +
        '`wafgen import <file>` or pass --vuln FILE, or allow the network (unset WAFGEN_OFFLINE)',
    );
    expect(server.hits).toEqual([]);
  });

  it('rejects something that is not a CVE id', async () => {
    await expect(lookupCve('CVE-21-1', { store, offline: false })).rejects.toThrow(/is not a CVE ID/);
  });
});

describe('findRecord', () => {
  it('returns a stored record without any network, and looks a missing one up through the live config', async () => {
    const id = 'CVE-2021-90004';
    const templates = mkdtempSync(join(tmpdir(), 'wafgen-templates-'));
    server = await world({ nvd: { [id]: about(NVD_LOG4J(), 'CVE-2021-44228', id) } });
    const live = loadLiveConfig(
      {
        WAFGEN_NVD_URL: server.url,
        WAFGEN_KEV_URL: server.url + KEV_PATH,
        WAFGEN_NUCLEI_TEMPLATES: templates, // an empty checkout: no template
        WAFGEN_HTTP_TIMEOUT_MS: '5000',
      },
      { dataDir },
    );
    const record = await findRecord(id, store, { offline: false, live });
    expect(record).toMatchObject({ id, source: 'nvd' });
    expect(server.hits.map((h) => h.url.split('?')[0])).toEqual(expect.arrayContaining([NVD_PATH, KEV_PATH]));
    expect(server.hits).toHaveLength(2);

    const hits = server.hits.length;
    expect(await findRecord(id, store, { offline: false, live })).toEqual(record);
    expect(await findRecord(id, store, { offline: true, live })).toEqual(record);
    expect(server.hits).toHaveLength(hits);
  });

  it('offline, or without live options, a missing CVE is one line and no request', async () => {
    server = await world({});
    const live = loadLiveConfig(
      { WAFGEN_NVD_URL: server.url, WAFGEN_KEV_URL: server.url + KEV_PATH },
      { dataDir },
    );
    await expect(findRecord('CVE-2099-0004', store, { offline: true, live })).rejects.toThrow(
      /^CVE-2099-0004 is not in the local store and the network is off \(WAFGEN_OFFLINE is set\); .*unset WAFGEN_OFFLINE\)$/,
    );
    await expect(findRecord('CVE-2099-0004', store)).rejects.toThrow(
      /^CVE-2099-0004 is not in the local store and no live look-up was requested; import it with/,
    );
    expect(server.hits).toEqual([]);
  });
});
