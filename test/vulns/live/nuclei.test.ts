// nuclei templates from a local checkout (exact path, searched, missing) and from an HTTP base laid
// out like the repository's raw files.
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { NucleiTemplates, templatePath } from '../../../src/vulns/live/nuclei.js';
import { type TestServer, NUCLEI_CONFLUENCE, routes, serve, VULN_FIXTURES } from './helpers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const FETCHED_AT = '2025-06-15T12:00:00.000Z';

function checkout(relative: string): string {
  const root = mkdtempSync(join(tmpdir(), 'wafgen-nuclei-'));
  const file = join(root, relative);
  mkdirSync(join(file, '..'), { recursive: true });
  copyFileSync(join(VULN_FIXTURES, 'nuclei-cve-2023-22527.yaml'), file);
  return root;
}

function expectConfluence(result: Awaited<ReturnType<NucleiTemplates['lookup']>>, source: string) {
  expect(result?.source).toBe(source);
  expect(result?.records).toHaveLength(1);
  expect(result?.records[0]).toMatchObject({
    id: 'CVE-2023-22527',
    source: 'nuclei',
    severity: 'critical',
    cwes: ['CWE-74', 'CWE-1336'],
    fetchedAt: FETCHED_AT,
  });
  const requests = result!.evidence.filter((e) => e.kind === 'request');
  expect(requests.length).toBeGreaterThanOrEqual(2);
  expect(requests.map((e) => e.request?.uri)).toContain('/template/aui/text-inline.vm');
  expect(requests.every((e) => e.source === source && e.cveId === 'CVE-2023-22527')).toBe(true);
  expect(result!.evidence.filter((e) => e.kind === 'template')).toHaveLength(1);
}

describe('NucleiTemplates', () => {
  it('names the repository path from the CVE year', () => {
    expect(templatePath('cve-2021-44228')).toBe('http/cves/2021/CVE-2021-44228.yaml');
    expect(() => templatePath('GHSA-xxxx')).toThrow(TypeError);
  });

  it('reads the template at the exact path of a local checkout', async () => {
    const root = checkout('http/cves/2023/CVE-2023-22527.yaml');
    const nuclei = new NucleiTemplates({ base: root, fetchedAt: FETCHED_AT });
    expectConfluence(await nuclei.lookup('CVE-2023-22527'), join(root, 'http/cves/2023/CVE-2023-22527.yaml'));
  });

  it('searches http/cves/** when the exact path is missing (another folder, lower-case name)', async () => {
    const root = checkout('http/cves/2024/misc/cve-2023-22527.yml');
    const nuclei = new NucleiTemplates({ base: root, fetchedAt: FETCHED_AT });
    expectConfluence(
      await nuclei.lookup('CVE-2023-22527'),
      join(root, 'http/cves/2024/misc/cve-2023-22527.yml'),
    );
  });

  it('answers undefined when the checkout has no template, and fails when the folder is missing', async () => {
    const root = checkout('http/cves/2023/CVE-2023-22527.yaml');
    expect(await new NucleiTemplates({ base: root }).lookup('CVE-2021-44228')).toBeUndefined();
    await expect(new NucleiTemplates({ base: join(root, 'nope') }).find('CVE-2021-44228')).rejects.toThrow(
      /nuclei templates directory .* does not exist/,
    );
  });

  it('refuses an oversized local template', async () => {
    const root = checkout('http/cves/2023/CVE-2023-22527.yaml');
    await expect(new NucleiTemplates({ base: root, maxBytes: 100 }).find('CVE-2023-22527')).rejects.toThrow(
      /over the 100-byte limit/,
    );
  });

  it('fetches {base}/http/cves/{year}/{id}.yaml over HTTP, and a 404 means no template', async () => {
    server = await serve(
      routes({
        '/nuclei-templates/main/http/cves/2023/CVE-2023-22527.yaml': (_q, res) => {
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(NUCLEI_CONFLUENCE());
        },
      }),
    );
    const base = `${server.url}/nuclei-templates/main/`;
    const nuclei = new NucleiTemplates({ base, fetchedAt: FETCHED_AT });
    expectConfluence(
      await nuclei.lookup('cve-2023-22527'),
      `${server.url}/nuclei-templates/main/http/cves/2023/CVE-2023-22527.yaml`,
    );
    expect(await nuclei.lookup('CVE-2021-44228')).toBeUndefined();
    expect(server.hits.map((h) => h.url)).toEqual([
      '/nuclei-templates/main/http/cves/2023/CVE-2023-22527.yaml',
      '/nuclei-templates/main/http/cves/2021/CVE-2021-44228.yaml',
    ]);
  });
});
