import { describe, expect, it } from 'vitest';
import { sharedPath } from '../support/shared.js';
import { readFileSync } from 'node:fs';
import { parseVulnJson, parseVulnJsonl, vulnFromObject } from '../../src/vulns/importers/jsonl.js';
import { importPath } from '../../src/vulns/importers/index.js';
import { VulnRecordSchema } from '../../src/vulns/model.js';
import { FETCHED_AT, readFixture, vulnFixture } from './helpers.js';

const opts = { fetchedAt: FETCHED_AT };

describe('parseVulnJsonl (fixture records-malformed.jsonl)', () => {
  const file = vulnFixture('records-malformed.jsonl');
  const text = readFixture('records-malformed.jsonl');
  const result = parseVulnJsonl(text, file, opts);

  it('imports the good lines and reports each bad one with its line number', () => {
    expect(result.records.map((r) => r.id)).toEqual(['CVE-2022-22965', 'CVE-2017-8917', 'CVE-2019-19781']);
    expect(result.errors.map((e) => [e.position, e.line])).toEqual([
      ['line 4', 4],
      ['line 5', 5],
      ['line 6', 6],
    ]);
    expect(result.errors[0]!.message).toMatch(/^invalid JSON/);
    expect(result.errors[1]!.message).toBe(
      'not-a-cve: invalid vulnerability record: id: must look like CVE-2021-44228',
    );
    expect(result.errors[2]!.message).toBe(
      'this is a request test case (exploit evidence), not a vulnerability record',
    );
    for (const e of result.errors) expect(e.file).toBe(file);
  });

  it('maps corpus-style lines', () => {
    expect(result.records[0]).toEqual({
      id: 'CVE-2022-22965',
      title: 'Spring - Remote Code Execution',
      description: '(fixture) data binding reaches the class loader',
      cwes: ['CWE-94'],
      cvss: { score: 9.8 },
      severity: 'critical',
      vendor: 'vmware',
      product: 'spring_framework',
      cpes: [],
      references: ['https://tanzu.vmware.com/security/cve-2022-22965'],
      kev: true,
      source: 'jsonl',
      fetchedAt: FETCHED_AT,
      tags: ['cve', 'kev', 'spring'],
    });
    // null score: no cvss; CPE escape removed from the product.
    expect(result.records[1]).toMatchObject({ product: 'joomla!', kev: false, severity: 'critical' });
    expect(result.records[1]!.cvss).toBeUndefined();
  });

  it('reads wafgen-shaped lines, defaulting source and fetchedAt', () => {
    expect(result.records[2]).toMatchObject({
      id: 'CVE-2019-19781',
      title: 'wafgen-shaped record',
      source: 'jsonl',
      fetchedAt: FETCHED_AT,
      exploit: { attackClass: 'path-traversal', endpoints: ['/vpns/'], parameters: [] },
    });
  });

  it('is idempotent', () => {
    expect(parseVulnJsonl(text, file, opts)).toEqual(result);
  });

  it('handles CRLF line ends and a byte-order mark', () => {
    const crlf = '\ufeff' + text.split('\n').join('\r\n');
    const again = parseVulnJsonl(crlf, file, opts);
    expect(again.records).toEqual(result.records);
    expect(again.errors.map((e) => e.line)).toEqual([4, 5, 6]);
  });
});

describe('parseVulnJson', () => {
  it('reads one record or an array of records, with array positions in errors', () => {
    const one = parseVulnJson('{"cve":"CVE-2021-44228","name":"Log4Shell"}', 'one.json', opts);
    expect(one.records.map((r) => r.title)).toEqual(['Log4Shell']);
    const many = parseVulnJson('[\n  {"cve":"CVE-2021-44228"},\n  {"name":"no id"}\n]', 'many.json', opts);
    expect(many.records.map((r) => r.id)).toEqual(['CVE-2021-44228']);
    expect(many.errors).toEqual([
      {
        file: 'many.json',
        position: '[1] (line 3)',
        line: 3,
        index: 1,
        message: 'neither "id" nor "cve" is set',
      },
    ]);
  });

  it('vulnFromObject rejects non-objects', () => {
    expect(vulnFromObject([1], FETCHED_AT)).toEqual({ error: 'not a JSON object' });
  });
});

describe('the shared corpus (../shared/corpus/cves.dev.jsonl)', () => {
  const file = sharedPath('corpus', 'cves.dev.jsonl');

  it.skipIf(file === undefined)('imports 71 records with zero errors', async () => {
    const results = [];
    for await (const r of importPath(file!, opts)) results.push(r);
    expect(results).toHaveLength(1);
    const [r] = results;
    expect(r!.format).toBe('jsonl');
    expect(r!.errors).toEqual([]);
    expect(r!.warnings).toEqual([]);
    expect(r!.records).toHaveLength(71);
    expect(new Set(r!.records.map((x) => x.id)).size).toBe(71);
    for (const rec of r!.records) expect(VulnRecordSchema.parse(rec)).toEqual(rec);
    const log4shell = r!.records.find((x) => x.id === 'CVE-2021-44228')!;
    expect(log4shell).toMatchObject({
      title: 'Apache Log4j2 Remote Code Injection',
      cwes: ['CWE-917'],
      cvss: { score: 10 },
      severity: 'critical',
      vendor: 'apache',
      product: 'log4j',
      kev: true,
      source: 'jsonl',
    });
    // Every line is one record, in order.
    const lines = readFileSync(file!, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(r!.records.map((x) => x.id)).toEqual(lines.map((l) => (JSON.parse(l) as { cve: string }).cve));
  });
});
