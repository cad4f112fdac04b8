// The merge rule and the text escaping, without a database.
import { describe, expect, it } from 'vitest';

import { decodeText, encodeText, fromJson, toJsonText } from '../../src/store/json.js';
import { mergeVulnRecords } from '../../src/store/index.js';
import { VulnRecordSchema } from '../../src/vulns/model.js';
import { contestedBundled, contestedMerged, contestedNvd, vuln } from './fixtures.js';

const rec = (input: Parameters<typeof VulnRecordSchema.parse>[0]) => VulnRecordSchema.parse(input);

describe('mergeVulnRecords', () => {
  const a = rec(contestedBundled);
  const b = rec(contestedNvd);

  it('gives the same record whichever arrives first, and is idempotent', () => {
    const ab = mergeVulnRecords(a, b);
    const ba = mergeVulnRecords(b, a);
    expect(ab).toEqual(ba);
    expect(ab).toMatchObject({ ...contestedMerged, fetchedAt: '2024-07-01T00:00:00.000Z' });
    expect(mergeVulnRecords(ab, b)).toEqual(ab);
    expect(mergeVulnRecords(ab, a)).toEqual(ab);
  });

  it('treats NVD date-times without a zone as UTC when comparing', () => {
    const older = rec(
      vuln('CVE-2020-0001', { modified: '2020-01-01T10:00:00.000', description: 'zone-less' }),
    );
    const newer = rec(vuln('CVE-2020-0001', { modified: '2020-01-01T10:00:00.001Z', description: 'zoned' }));
    expect(mergeVulnRecords(older, newer).description).toBe('zoned');
    expect(mergeVulnRecords(newer, older).description).toBe('zoned');
  });

  it('prefers a dated record to an undated one, and the incoming one on a tie', () => {
    const dated = rec(vuln('CVE-2020-0002', { modified: '2020-01-01', description: 'dated' }));
    const undated = rec(vuln('CVE-2020-0002', { description: 'undated' }));
    expect(mergeVulnRecords(dated, undated).description).toBe('dated');
    expect(mergeVulnRecords(undated, dated).description).toBe('dated');
    const other = rec(vuln('CVE-2020-0002', { description: 'other' }));
    expect(mergeVulnRecords(undated, other).description).toBe('other');
  });

  it('keeps the earliest KEV date added', () => {
    const x = rec(vuln('CVE-2020-0003', { kev: true, kevDateAdded: '2022-05-05' }));
    const y = rec(vuln('CVE-2020-0003', { kev: true, kevDateAdded: '2021-05-05' }));
    expect(mergeVulnRecords(x, y).kevDateAdded).toBe('2021-05-05');
    expect(mergeVulnRecords(y, x).kevDateAdded).toBe('2021-05-05');
  });
});

describe('stored text escaping', () => {
  it('round-trips NUL, lone surrogates and the marker itself, and leaves other text alone', () => {
    for (const s of ['plain', '', 'a\u0000b', '\ud800', 'x\udc00', '\ufdd0already', '😀 pair']) {
      expect(decodeText(encodeText(s))).toBe(s);
      expect(encodeText(s).includes('\u0000')).toBe(false);
    }
    expect(encodeText('plain')).toBe('plain');
    expect(encodeText('😀 pair')).toBe('😀 pair');
    const value = { 'k\u0000': ['\u0000', 1, null, { n: '\ud83d' }] };
    const text = toJsonText(value);
    expect(fromJson(JSON.parse(text))).toEqual(value);
  });
});
