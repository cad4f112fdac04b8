import { describe, expect, it } from 'vitest';
import { markKev, parseKev } from '../../src/vulns/importers/kev.js';
import { parseNvd } from '../../src/vulns/importers/nvd.js';
import { VulnRecordSchema } from '../../src/vulns/model.js';
import { FETCHED_AT, lineOf, readFixture, vulnFixture } from './helpers.js';

const opts = { fetchedAt: FETCHED_AT };

describe('parseKev (fixture kev-excerpt.json)', () => {
  const file = vulnFixture('kev-excerpt.json');
  const text = readFixture('kev-excerpt.json');

  it('returns minimal KEV marks for the caller to merge', () => {
    const { records } = parseKev(text, file, opts);
    expect(records.map((r) => r.id)).toEqual(['CVE-2021-44228', 'CVE-2023-22527', 'CVE-2024-3400']);
    expect(records[0]).toEqual(
      VulnRecordSchema.parse({
        id: 'CVE-2021-44228',
        kev: true,
        kevDateAdded: '2021-12-10',
        source: 'kev',
        fetchedAt: FETCHED_AT,
        tags: ['kev', 'ransomware'],
      }),
    );
    expect(records[1]!.tags).toEqual(['kev']);
    // CISA's names are not copied into fields a merge could overwrite.
    for (const r of records) {
      expect(r.vendor).toBeUndefined();
      expect(r.title).toBeUndefined();
      expect(r.description).toBe('');
    }
  });

  it('skips the entry without a cveID and names its index and line', () => {
    const { errors } = parseKev(text, file, opts);
    const line = lineOf(text, '"vendorProject": "Example"') - 1;
    expect(errors).toEqual([
      { file, position: `vulnerabilities[2] (line ${line})`, line, index: 2, message: 'missing cveID' },
    ]);
  });

  it('is idempotent', () => {
    expect(parseKev(text, file, opts)).toEqual(parseKev(text, file, opts));
  });

  it('rejects a bad dateAdded and a non-catalog document', () => {
    const bad = parseKev(
      '{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-2021-44228","dateAdded":"soon"}]}',
      'k.json',
      opts,
    );
    expect(bad.errors[0]!.message).toBe('CVE-2021-44228: dateAdded is not a date: "soon"');
    expect(parseKev('[]', 'k.json', opts).errors[0]!.message).toMatch(/^not a CISA KEV catalog/);
  });
});

describe('markKev', () => {
  it('applies a KEV mark to a full record', () => {
    const nvd = parseNvd(readFixture('nvd-page-with-bad-entry.json'), 'nvd.json', opts).records[1]!; // CVE-2023-23752, not KEV
    const mark = parseKev(
      JSON.stringify({
        catalogVersion: '1',
        vulnerabilities: [{ cveID: 'CVE-2023-23752', dateAdded: '2024-01-08' }],
      }),
      'k.json',
      opts,
    ).records[0]!;
    const merged = markKev(nvd, mark);
    expect(merged).toEqual({ ...nvd, kev: true, kevDateAdded: '2024-01-08', tags: ['kev'] });
    expect(VulnRecordSchema.parse(merged)).toEqual(merged);
    expect(() => markKev(nvd, { ...mark, id: 'CVE-2024-3400' })).toThrow(/does not belong/);
  });
});
