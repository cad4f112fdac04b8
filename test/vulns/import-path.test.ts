import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  detectFormat,
  importAll,
  importFile,
  importPath,
  importText,
  listImportFiles,
  type FileImport,
} from '../../src/vulns/importers/index.js';
import { FETCHED_AT, readFixture, VULN_FIXTURES, vulnFixture } from './helpers.js';

const opts = { fetchedAt: FETCHED_AT };
const tmp = mkdtempSync(join(tmpdir(), 'wafgen-vulns-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('detectFormat (by content)', () => {
  it.each([
    ['nvd-cve-2021-44228.json', 'nvd'],
    ['nvd-page-with-bad-entry.json', 'nvd'],
    ['cve5-cve-2023-22527.json', 'cve5'],
    ['cve5-rejected-and-old.json', 'cve5'],
    ['kev-excerpt.json', 'kev'],
    ['nuclei-cve-2023-22527.yaml', 'nuclei'],
    ['records-malformed.jsonl', 'jsonl'],
  ])('%s → %s', (name, format) => {
    expect(detectFormat(readFixture(name), name)).toBe(format);
    // Content alone is enough, whatever the file is called.
    if (format !== 'jsonl') expect(detectFormat(readFixture(name), 'download.txt')).toBe(format);
  });

  it('recognises JSON lines without the extension, single records, an empty NVD page and the catalog', () => {
    expect(detectFormat('{"cve":"CVE-2021-44228"}\n{"cve":"CVE-2021-45046"}\n', 'x.txt')).toBe('jsonl');
    expect(detectFormat('{"cve":"CVE-2021-44228","name":"x"}', 'x.json')).toBe('json');
    expect(detectFormat('[{"id":"CVE-2021-44228","source":"manual"}]', 'x.json')).toBe('json');
    expect(detectFormat('{"format":"NVD_CVE","resultsPerPage":0,"vulnerabilities":[]}', 'x.json')).toBe(
      'nvd',
    );
    expect(detectFormat('{"catalogVersion":"1","vulnerabilities":[]}', 'x.json')).toBe('kev');
    expect(detectFormat('{"hello":"world"}', 'x.json')).toBeUndefined();
    expect(detectFormat('GET / HTTP/1.1\r\n\r\n', 'x.http')).toBeUndefined();
  });
});

describe('importText', () => {
  it('reports an unrecognised document and broken JSON with its line', () => {
    expect(importText('{"hello":"world"}', 'x.json', opts)).toMatchObject({
      format: 'unknown',
      records: [],
      errors: [
        {
          file: 'x.json',
          position: 'file',
          message: expect.stringMatching(/^unrecognised format in x\.json/),
        },
      ],
    });
    const broken = importText('{\n  "vulnerabilities": [\n    {"cve": \n', 'cut.json', opts);
    expect(broken.format).toBe('unknown');
    expect(broken.errors[0]).toMatchObject({
      file: 'cut.json',
      message: expect.stringMatching(/^invalid JSON/),
    });
    expect(broken.errors[0]!.line).toBeGreaterThanOrEqual(3);
  });

  it('honours an explicit format', () => {
    const r = importText(readFixture('kev-excerpt.json'), 'k.json', { ...opts, format: 'nvd' });
    expect(r.format).toBe('nvd');
    expect(r.errors.length).toBeGreaterThan(0); // a KEV catalog read as NVD: each entry lacks `cve`
  });
});

describe('importPath', () => {
  it('walks a directory in sorted order, one result per file, with progress', async () => {
    const progress: [number, number][] = [];
    const results: FileImport[] = [];
    for await (const r of importPath(VULN_FIXTURES, {
      ...opts,
      onProgress: (d, t) => progress.push([d, t]),
    })) {
      results.push(r);
    }
    const names = results.map((r) => [r.file.slice(VULN_FIXTURES.length + 1), r.format]);
    expect(names).toEqual([
      ['cve5-cve-2023-22527.json', 'cve5'],
      ['cve5-rejected-and-old.json', 'cve5'],
      ['kev-excerpt.json', 'kev'],
      ['nuclei-cve-2023-22527.yaml', 'nuclei'],
      ['nuclei-tech-detect.yaml', 'nuclei'],
      ['nvd-cve-2021-44228.json', 'nvd'],
      ['nvd-page-with-bad-entry.json', 'nvd'],
      ['records-malformed.jsonl', 'jsonl'],
    ]);
    expect(progress).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((d) => [d, 8]));
    // Errors stay with their file.
    for (const r of results) for (const e of r.errors) expect(e.file).toBe(r.file);
  });

  it('imports a single file whatever its extension', async () => {
    const file = join(tmp, 'nvd-page.download');
    writeFileSync(file, readFixture('nvd-cve-2021-44228.json'));
    const all = await importAll(file, opts);
    expect(all.files.map((f) => f.format)).toEqual(['nvd']);
    expect(all.records.map((r) => r.id)).toEqual(['CVE-2021-44228']);
  });

  it('walks nested folders (a cvelistV5-like tree), skipping dot-folders, other extensions and folder symlinks', async () => {
    const root = join(tmp, 'cves');
    mkdirSync(join(root, '2023', '22xxx'), { recursive: true });
    mkdirSync(join(root, '.git'), { recursive: true });
    writeFileSync(
      join(root, '2023', '22xxx', 'CVE-2023-22527.json'),
      readFixture('cve5-cve-2023-22527.json'),
    );
    writeFileSync(join(root, '.git', 'CVE-2023-22527.json'), readFixture('cve5-cve-2023-22527.json'));
    writeFileSync(join(root, 'README.md'), '# not imported');
    writeFileSync(join(root, 'delta.json'), '{"fetchTime":"2025-06-14T10:00:00Z","new":[],"updated":[]}');
    symlinkSync(root, join(root, '2023', 'loop.json'));
    expect((await listImportFiles(root)).map((f) => f.slice(root.length + 1))).toEqual([
      join('2023', '22xxx', 'CVE-2023-22527.json'),
      'delta.json',
    ]);
    const all = await importAll(root, opts);
    expect(all.records.map((r) => r.id)).toEqual(['CVE-2023-22527']);
    expect(all.errors.map((e) => e.file.slice(root.length + 1))).toEqual(['delta.json']);
  });

  it('never throws for a missing path or an unreadable file', async () => {
    const missing = join(tmp, 'nope');
    const progress: [number, number][] = [];
    const all = await importAll(missing, { ...opts, onProgress: (d, t) => progress.push([d, t]) });
    expect(all.errors).toEqual([
      { file: missing, position: 'file', message: `cannot read ${missing}: no such file or directory` },
    ]);
    expect(progress).toEqual([
      [0, 1],
      [1, 1],
    ]);
    const big = join(tmp, 'big.json');
    writeFileSync(big, readFixture('kev-excerpt.json'));
    const r = await importFile(big, { ...opts, maxFileBytes: 100 });
    expect(r.format).toBe('unknown');
    expect(r.errors[0]!.message).toMatch(/input exceeds WAFGEN limit import-bytes=100 \(it is /);
    expect(r.limitExceeded?.limit).toBe('import-bytes');
  });

  it('stops reading an endless file at the import-bytes limit', async () => {
    const r = await importFile('/dev/zero', { ...opts, maxFileBytes: 64 * 1024 });
    expect(r.format).toBe('unknown');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.message).toMatch(/import-bytes=65536 \(more than 64\.0 KiB read\)/);
  });

  it('gives equal results for equal input (idempotent)', async () => {
    const a = await importAll(VULN_FIXTURES, opts);
    const b = await importAll(VULN_FIXTURES, opts);
    expect(a).toEqual(b);
    expect((await importFile(vulnFixture('kev-excerpt.json'), opts)).records).toEqual(a.files[2]!.records);
  });
});
