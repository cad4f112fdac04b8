import { describe, expect, it } from 'vitest';
import { cpeStyle, cve5ToRecord, parseCve5 } from '../../src/vulns/importers/cve5.js';
import { FETCHED_AT, lineOf, readFixture, vulnFixture } from './helpers.js';

const opts = { fetchedAt: FETCHED_AT };

describe('parseCve5 (CVE JSON 5.1, fixture cve5-cve-2023-22527.json)', () => {
  const file = vulnFixture('cve5-cve-2023-22527.json');
  const text = readFixture('cve5-cve-2023-22527.json');

  it('maps the CNA container and the ADP containers', () => {
    const { records, errors } = parseCve5(text, file, opts);
    expect(errors).toEqual([]);
    expect(records).toEqual([
      {
        id: 'CVE-2023-22527',
        title: 'RCE (Remote Code Execution) in Confluence Data Center and Confluence Server',
        description: expect.stringMatching(/^\(wafgen test fixture\) A template injection flaw/),
        // The CNA gives only a text problem type; the CWE comes from CISA's ADP container.
        cwes: ['CWE-74'],
        cvss: { score: 10, vector: 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', version: '3.0' },
        severity: 'critical',
        // No CPE in the record: the CNA's display names, in CPE style.
        vendor: 'atlassian',
        product: 'confluence_data_center',
        cpes: [],
        // CNA references first, then the ADPs' new ones.
        references: [
          'https://confluence.atlassian.com/pages/viewpage.action?pageId=1333335615',
          'https://jira.atlassian.com/browse/CONFSERVER-93833',
          'http://packetstormsecurity.com/files/176789/Atlassian-Confluence-SSTI-Injection.html',
        ],
        // CISA Vulnrichment's `kev` metric.
        kev: true,
        kevDateAdded: '2024-01-24',
        published: '2024-01-16T05:00:01.294Z',
        modified: '2025-02-13T16:41:23.041Z',
        source: 'cve5',
        fetchedAt: FETCHED_AT,
        tags: [],
      },
    ]);
  });

  it('is idempotent', () => {
    expect(parseCve5(text, file, opts)).toEqual(parseCve5(text, file, opts));
  });
});

describe('parseCve5: an array of records (fixture cve5-rejected-and-old.json)', () => {
  const file = vulnFixture('cve5-rejected-and-old.json');
  const text = readFixture('cve5-rejected-and-old.json');
  const { records, errors } = parseCve5(text, file, opts);

  it('skips the record with an unsupported dataVersion and names its index and line', () => {
    const line = lineOf(text, '"dataVersion": "4.0"') - 2;
    expect(errors).toEqual([
      {
        file,
        position: `[1] (line ${line})`,
        line,
        index: 1,
        message: 'unsupported CVE JSON dataVersion 4.0 (expected 5.x)',
      },
    ]);
    expect(records.map((r) => r.id)).toEqual(['CVE-2021-99999', 'CVE-2022-22965']);
  });

  it('keeps a rejected record, tagged, with the rejection reason as its description', () => {
    expect(records[0]).toMatchObject({
      tags: ['rejected'],
      description: '(fixture) This candidate was withdrawn by its CNA.',
      severity: 'unknown',
    });
  });

  it('prefers CVSS 3.1 over 4.0, finds a CWE in problem-type text, takes names from the CPE, skips n/a', () => {
    expect(records[1]).toMatchObject({
      cvss: { score: 9.8, version: '3.1' },
      cwes: ['CWE-94'],
      vendor: 'vmware',
      product: 'spring_framework',
      cpes: ['cpe:2.3:a:vmware:spring_framework:*:*:*:*:*:*:*:*'],
    });
  });
});

describe('cve5ToRecord', () => {
  it('rejects values that are not CVE records', () => {
    expect(cve5ToRecord({ id: 'CVE-2021-44228' }, FETCHED_AT)).toEqual({
      error: 'not a CVE JSON 5 record (no cveMetadata)',
    });
    expect(cve5ToRecord({ dataType: 'CVE_RECORD', cveMetadata: {} }, FETCHED_AT)).toEqual({
      error: 'missing cveMetadata.cveId',
    });
  });

  it('reports a single bad record as a whole-file error', () => {
    const { errors } = parseCve5('{"dataType":"CVE_RECORD","cveMetadata":{"cveId":"nope"}}', 'x.json', opts);
    expect(errors).toEqual([
      {
        file: 'x.json',
        position: 'file',
        message: 'nope: invalid vulnerability record: id: must look like CVE-2021-44228',
      },
    ]);
  });

  it('cpeStyle', () => {
    expect(cpeStyle(' Confluence  Data Center ')).toBe('confluence_data_center');
    expect(cpeStyle(undefined)).toBeUndefined();
  });
});
