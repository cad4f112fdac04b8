import { describe, expect, it } from 'vitest';
import {
  cvssVersionFromVector,
  cweList,
  makeCvss,
  normalizeSeverity,
  parseCpe,
  severityOf,
  vendorProductFromCpes,
} from '../../src/vulns/importers/common.js';

describe('CPE parsing', () => {
  it('reads CPE 2.3 strings with escapes, and CPE 2.2 URIs', () => {
    expect(parseCpe('cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*')).toEqual({
      part: 'a',
      vendor: 'apache',
      product: 'log4j',
      version: '2.14.1',
    });
    expect(parseCpe('cpe:2.3:a:joomla:joomla\\!:*:*:*:*:*:*:*:*')).toEqual({
      part: 'a',
      vendor: 'joomla',
      product: 'joomla!',
    });
    expect(parseCpe('cpe:2.3:o:hikvision:ds-2cd2026g2-iu\\/sl_firmware:-:*:*:*:*:*:*:*')).toMatchObject({
      product: 'ds-2cd2026g2-iu/sl_firmware',
    });
    expect(parseCpe('cpe:2.3:a:vendor:pro\\:duct:1.0')).toMatchObject({
      product: 'pro:duct',
      version: '1.0',
    });
    expect(parseCpe('cpe:/a:apache:struts:2.3.15')).toEqual({
      part: 'a',
      vendor: 'apache',
      product: 'struts',
      version: '2.3.15',
    });
    expect(parseCpe('not a cpe')).toBeUndefined();
    expect(parseCpe('cpe:2.3:x:a:b')).toBeUndefined();
  });

  it('prefers an application CPE for vendor/product, then OS, then hardware', () => {
    expect(
      vendorProductFromCpes([
        'cpe:2.3:h:f5:big-ip:-:*:*:*:*:*:*:*',
        'cpe:2.3:o:f5:big-ip_firmware:16.1:*:*:*:*:*:*:*',
        'cpe:2.3:a:f5:big-ip_access_policy_manager:16.1.0:*:*:*:*:*:*:*',
      ]),
    ).toEqual({ vendor: 'f5', product: 'big-ip_access_policy_manager' });
    expect(vendorProductFromCpes(['cpe:2.3:h:f5:big-ip:-:*:*:*:*:*:*:*'])).toEqual({
      vendor: 'f5',
      product: 'big-ip',
    });
    expect(vendorProductFromCpes([])).toEqual({});
  });
});

describe('CWE, CVSS and severity', () => {
  it('normalises CWE ids and drops NVD placeholders when a real CWE is known', () => {
    expect(cweList(['cwe-79', ' CWE-79 ', 'NVD-CWE-Other', 'CWE-89', 'bogus', 42])).toEqual([
      'CWE-79',
      'CWE-89',
    ]);
    expect(cweList(['NVD-CWE-noinfo', 'nvd-cwe-other'])).toEqual(['NVD-CWE-noinfo', 'NVD-CWE-Other']);
  });

  it('reads scores, vectors and versions', () => {
    expect(makeCvss('9.8', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toEqual({
      score: 9.8,
      vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      version: '3.1',
    });
    expect(makeCvss(11)).toBeUndefined();
    expect(makeCvss(null)).toBeUndefined();
    expect(cvssVersionFromVector('AV:N/AC:L/Au:N/C:P/I:P/A:P')).toBe('2.0');
    expect(cvssVersionFromVector('CVSS:4.0/AV:N/AC:L/AT:N')).toBe('4.0');
  });

  it('uses the stated severity, else the score (v2 bands for v2)', () => {
    expect(normalizeSeverity('CRITICAL')).toBe('critical');
    expect(normalizeSeverity('info')).toBe('none');
    expect(normalizeSeverity('moderate')).toBe('medium');
    expect(severityOf(undefined, { score: 9.3, version: '2.0' })).toBe('high');
    expect(severityOf(undefined, { score: 9.3 })).toBe('critical');
    expect(severityOf('unknown', undefined)).toBe('unknown');
    expect(severityOf(undefined, undefined)).toBe('unknown');
  });
});
