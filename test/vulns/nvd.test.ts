import { describe, expect, it } from 'vitest';
import { parseNvd } from '../../src/vulns/importers/nvd.js';
import { VulnRecordSchema } from '../../src/vulns/model.js';
import { FETCHED_AT, lineOf, readFixture, vulnFixture } from './helpers.js';

const opts = { fetchedAt: FETCHED_AT };

describe('parseNvd (NVD API 2.0, fixture nvd-cve-2021-44228.json)', () => {
  const file = vulnFixture('nvd-cve-2021-44228.json');
  const text = readFixture('nvd-cve-2021-44228.json');

  it('maps every field of the Log4Shell entry', () => {
    const { records, errors, evidence, warnings } = parseNvd(text, file, opts);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(evidence).toEqual([]);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r).toEqual({
      id: 'CVE-2021-44228',
      title: 'Apache Log4j2 Remote Code Execution Vulnerability',
      description: expect.stringMatching(
        /^\(wafgen test fixture\) Apache Log4j2 2\.0-beta9 through 2\.14\.1/,
      ),
      // NVD's own (Primary) weakness first, then the CNA's.
      cwes: ['CWE-917', 'CWE-20', 'CWE-400', 'CWE-502'],
      // V3.1 before V2; within V3.1 the Primary (nvd@nist.gov) metric, not the CNA's 9.0.
      cvss: { score: 10, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', version: '3.1' },
      severity: 'critical',
      vendor: 'apache',
      product: 'log4j',
      // Only vulnerable CPEs; the non-vulnerable hardware platform of the AND node is left out.
      cpes: [
        'cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*',
        'cpe:2.3:a:apache:log4j:2.0:beta9:*:*:*:*:*:*',
        'cpe:2.3:o:siemens:sppa-t3000_ses3000_firmware:*:*:*:*:*:*:*:*',
      ],
      // De-duplicated, order kept.
      references: [
        'https://logging.apache.org/log4j/2.x/security.html',
        'https://www.cisa.gov/known-exploited-vulnerabilities-catalog',
      ],
      kev: true,
      kevDateAdded: '2021-12-10',
      published: '2021-12-10T10:15:09.143',
      modified: '2025-02-04T15:15:13.773',
      source: 'nvd',
      fetchedAt: FETCHED_AT,
      tags: [],
    });
    expect(VulnRecordSchema.parse(r)).toEqual(r);
  });

  it('picks the English description', () => {
    const r = parseNvd(text, file, opts).records[0]!;
    expect(r.description).not.toContain('evalúa');
  });

  it('is idempotent: the same text gives the same records', () => {
    expect(parseNvd(text, file, opts)).toEqual(parseNvd(text, file, opts));
    expect(JSON.parse(JSON.stringify(parseNvd(text, file, opts)))).toEqual(parseNvd(text, file, opts));
  });
});

describe('parseNvd: a page with a malformed entry (fixture nvd-page-with-bad-entry.json)', () => {
  const file = vulnFixture('nvd-page-with-bad-entry.json');
  const text = readFixture('nvd-page-with-bad-entry.json');

  it('skips the entry without an id, names its index and line, and imports the others', () => {
    const { records, errors } = parseNvd(text, file, opts);
    expect(records.map((r) => r.id)).toEqual(['CVE-2013-2251', 'CVE-2023-23752']);
    // The entry's `{` is two lines above its first field.
    const line = lineOf(text, '"sourceIdentifier": "cve@mitre.org"') - 2;
    expect(errors).toEqual([
      {
        file,
        position: `vulnerabilities[1] (line ${line})`,
        line,
        index: 1,
        message: 'missing cve.id',
      },
    ]);
  });

  it('reads a CVSS v2-only entry with v2 severity bands, and keeps NVD-CWE-noinfo when nothing else is known', () => {
    const [struts, joomla] = parseNvd(text, file, opts).records;
    expect(struts).toMatchObject({
      cvss: { score: 9.3, vector: 'AV:N/AC:M/Au:N/C:C/I:C/A:C', version: '2.0' },
      severity: 'high',
      cwes: ['CWE-20'],
      kev: true,
      kevDateAdded: '2022-03-25',
      vendor: 'apache',
      product: 'struts',
    });
    expect(joomla).toMatchObject({ cwes: ['NVD-CWE-noinfo'], severity: 'medium', kev: false });
    expect(joomla!.kevDateAdded).toBeUndefined();
    expect(joomla!.title).toBeUndefined();
    // CPE escapes are removed from the vendor and product names.
    expect(joomla).toMatchObject({ vendor: 'joomla', product: 'joomla!' });
    expect(joomla!.cpes).toEqual(['cpe:2.3:a:joomla:joomla\\!:*:*:*:*:*:*:*:*']);
  });
});

describe('parseNvd: malformed files', () => {
  it('reports invalid JSON with its line', () => {
    const text = '{\n  "vulnerabilities": [\n    {"cve": {"id": "CVE-2021-44228",}}\n  ]\n}\n';
    const { records, errors } = parseNvd(text, 'page.json', opts);
    expect(records).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'page.json', line: 3, position: 'line 3' });
    expect(errors[0]!.message).toMatch(/^invalid JSON/);
  });

  it('reports a document that is not an NVD response', () => {
    const { errors } = parseNvd('{"CVE_Items": []}', 'old-feed.json', opts);
    expect(errors).toEqual([
      {
        file: 'old-feed.json',
        position: 'file',
        message: 'not an NVD API 2.0 response (expected a "vulnerabilities" array)',
      },
    ]);
  });

  it('reports an entry whose id is not a CVE id, and a non-object entry', () => {
    const text = JSON.stringify({
      vulnerabilities: [{ cve: { id: 'GHSA-xxxx' } }, 42, { cve: { id: 'CVE-2024-3400' } }],
    });
    const { records, errors } = parseNvd(text, 'p.json', opts);
    expect(records.map((r) => r.id)).toEqual(['CVE-2024-3400']);
    expect(errors.map((e) => [e.index, e.message])).toEqual([
      [0, 'GHSA-xxxx: invalid vulnerability record: id: must look like CVE-2021-44228'],
      [1, 'entry is not an object'],
    ]);
    expect(records[0]).toMatchObject({ severity: 'unknown', cwes: [], cpes: [], references: [], kev: false });
  });

  it('tags rejected entries and reads CVSS 4.0 when it is the only metric', () => {
    const text = JSON.stringify({
      vulnerabilities: [
        {
          cve: {
            id: 'CVE-2024-0001',
            vulnStatus: 'Rejected',
            descriptions: [{ lang: 'en', value: 'Rejected reason: duplicate.' }],
            metrics: {
              cvssMetricV40: [
                {
                  source: 'x',
                  type: 'Secondary',
                  cvssData: { version: '4.0', baseScore: 8.7, baseSeverity: 'HIGH' },
                },
              ],
            },
          },
        },
      ],
    });
    const [r] = parseNvd(text, 'p.json', opts).records;
    expect(r).toMatchObject({ tags: ['rejected'], cvss: { score: 8.7, version: '4.0' }, severity: 'high' });
  });
});
