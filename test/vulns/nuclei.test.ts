import { describe, expect, it } from 'vitest';
import { EvidenceSchema } from '../../src/vulns/evidence.js';
import { parseNucleiVuln, toEvidenceRequest } from '../../src/vulns/importers/nuclei.js';
import { VulnRecordSchema } from '../../src/vulns/model.js';
import { FETCHED_AT, lineOf, readFixture, vulnFixture } from './helpers.js';

const opts = { fetchedAt: FETCHED_AT };

describe('parseNucleiVuln (fixture nuclei-cve-2023-22527.yaml)', () => {
  const file = vulnFixture('nuclei-cve-2023-22527.yaml');
  const text = readFixture('nuclei-cve-2023-22527.yaml');
  const result = parseNucleiVuln(text, file, opts);

  it('maps the info block to a record', () => {
    expect(result.errors).toEqual([]);
    expect(result.records).toEqual([
      {
        id: 'CVE-2023-22527',
        title: 'Atlassian Confluence - Remote Code Execution (wafgen test fixture)',
        description: expect.stringMatching(/^\(wafgen test fixture\) Confluence Data Center and Server 8\.x/),
        cwes: ['CWE-74', 'CWE-1336'],
        cvss: { score: 10, vector: 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', version: '3.0' },
        severity: 'critical',
        vendor: 'atlassian',
        product: 'confluence_data_center',
        cpes: ['cpe:2.3:a:atlassian:confluence_data_center:*:*:*:*:*:*:*:*'],
        references: [
          'https://confluence.atlassian.com/pages/viewpage.action?pageId=1333335615',
          'https://jira.atlassian.com/browse/CONFSERVER-93833',
        ],
        // The `kev` tag is nuclei's mark for CISA KEV entries.
        kev: true,
        source: 'nuclei',
        fetchedAt: FETCHED_AT,
        tags: ['cve', 'cve2023', 'confluence', 'rce', 'ssti', 'kev'],
      },
    ]);
    expect(VulnRecordSchema.parse(result.records[0])).toEqual(result.records[0]);
  });

  it('turns the concrete requests into request evidence, as UTF-8 text', () => {
    const requests = result.evidence.filter((e) => e.kind === 'request');
    expect(requests.map((e) => e.request!.id)).toEqual(['CVE-2023-22527#1', 'CVE-2023-22527#2']);
    const [post, get] = requests.map((e) => e.request!);
    expect(post).toMatchObject({
      method: 'POST',
      uri: '/template/aui/text-inline.vm',
      expect: 'block',
      cve: 'CVE-2023-22527',
      cwe: 'CWE-74',
      source: file,
    });
    // The parser works on latin1 byte strings; evidence holds text again.
    expect(post!.headers).toContainEqual(['Accept-Language', 'fr-FR,fr;q=0.9,é']);
    expect(post!.body).toMatch(/^label=\\u0027%2b#request\\u005b\\u0027\.KEY_velocity\.struts2\.context/);
    expect(post!.body).not.toContain('{{');
    expect(get).toMatchObject({ method: 'GET' });
    expect(get!.uri).toMatch(
      /^\/template\/aui\/text-inline\.vm\?label=%5Cu0027%2b%23%7b3\*3%7d%2b%5Cu0027&m=[a-z0-9]{8}$/,
    );
    // The same variable value in both requests.
    const marker = /&m=([a-z0-9]{8})$/.exec(get!.uri)![1]!;
    expect(post!.body).toContain(`setHeader('X-Cmd',${marker})`);
    for (const e of requests) {
      expect(e).toMatchObject({
        cveId: 'CVE-2023-22527',
        source: file,
        extractor: 'nuclei',
        fetchedAt: FETCHED_AT,
      });
      expect(e.title).toBe(result.records[0]!.title);
      expect(e.contentHash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(new Set(requests.map((e) => e.contentHash)).size).toBe(2);
  });

  it('keeps the template text as template evidence', () => {
    const tpl = result.evidence.filter((e) => e.kind === 'template');
    expect(tpl).toHaveLength(1);
    expect(tpl[0]!.text).toBe(text);
  });

  it('every evidence item is valid for the Evidence schema', () => {
    for (const e of result.evidence) expect(EvidenceSchema.parse(e)).toEqual(e);
  });

  it('warns (with the line) about a request that needs runtime values, and imports the rest', () => {
    expect(result.warnings).toEqual([
      {
        file,
        position: `line ${lineOf(text, '/login.action?token=')}`,
        line: lineOf(text, '/login.action?token='),
        message: 'request not imported: unresolved placeholder {{csrf}}',
      },
    ]);
  });

  it('is idempotent: same records, same requests, same hashes', () => {
    expect(parseNucleiVuln(text, file, opts)).toEqual(result);
  });
});

describe('parseNucleiVuln: other templates', () => {
  it('skips a template that names no CVE, with a warning', () => {
    const file = vulnFixture('nuclei-tech-detect.yaml');
    const text = readFixture('nuclei-tech-detect.yaml');
    const r = parseNucleiVuln(text, file, opts);
    expect(r.records).toEqual([]);
    expect(r.evidence).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      {
        file,
        position: `line ${lineOf(text, 'info:')}`,
        line: lineOf(text, 'info:'),
        message: 'template confluence-detect names no CVE (classification.cve-id); skipped',
      },
    ]);
  });

  it('reports invalid YAML with its line', () => {
    const r = parseNucleiVuln('id: CVE-2021-44228\ninfo:\n  name: x\n  tags: [a, b\n', 't.yaml', opts);
    expect(r.records).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.message).toMatch(/^invalid YAML/);
    expect(r.errors[0]!.line).toBeGreaterThanOrEqual(4);
  });

  it('reports a YAML file that is not a template', () => {
    expect(parseNucleiVuln('- a\n- b\n', 't.yaml', opts).errors[0]!.message).toBe(
      'not a nuclei template (expected a YAML mapping)',
    );
    expect(parseNucleiVuln('id: CVE-2021-44228\n', 't.yaml', opts).errors[0]!.message).toBe(
      'not a nuclei template (no info: block)',
    );
  });

  it('uses the template id when classification has no cve-id, maps `info` severity, list forms of fields', () => {
    const yaml = [
      'id: CVE-2024-27198',
      'info:',
      '  name: TeamCity auth bypass',
      '  severity: info',
      '  reference: https://example.com/a',
      '  classification:',
      '    cwe-id: [CWE-288, cwe-287]',
      '  tags: [cve, teamcity]',
      'http:',
      '  - method: GET',
      '    path:',
      "      - '{{BaseURL}}/hax?jsp=/app/rest/server;.jsp'",
    ].join('\n');
    const r = parseNucleiVuln(yaml, 't.yaml', opts);
    expect(r.records[0]).toMatchObject({
      id: 'CVE-2024-27198',
      severity: 'none',
      cwes: ['CWE-288', 'CWE-287'],
      references: ['https://example.com/a'],
      tags: ['cve', 'teamcity'],
      kev: false,
    });
    expect(r.evidence.find((e) => e.kind === 'request')!.request!.uri).toBe('/hax?jsp=/app/rest/server;.jsp');
    expect(r.warnings).toEqual([]);
  });

  it('keeps the record when the template has no http section (network templates)', () => {
    const r = parseNucleiVuln(
      'id: CVE-2023-46604\ninfo:\n  name: ActiveMQ\n  severity: critical\n',
      't.yaml',
      opts,
    );
    expect(r.records.map((x) => x.id)).toEqual(['CVE-2023-46604']);
    expect(r.warnings.map((w) => w.message)).toEqual([
      'request not imported: no http: (or requests:) section in the nuclei template',
    ]);
  });
});

describe('toEvidenceRequest', () => {
  it('rejects a request over the schema limits instead of truncating it', () => {
    const req = {
      id: 'x#1',
      method: 'GET',
      uri: '/' + 'a'.repeat(20_000),
      path: '/',
      query: '',
      headers: [],
    };
    expect(toEvidenceRequest(req, 'CVE-2021-44228')).toEqual({
      error: 'request target longer than 16384 characters',
    });
  });
});
