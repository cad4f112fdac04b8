import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { runCli } from '../support/cli.js';
import { useTempDataDir } from '../support/env.js';

const dataDir = useTempDataDir('wafgen-batch-');

describe('wafgen batch', () => {
  it('generates a list of CVEs, then resumes by skipping the ones already done', async () => {
    const list = join(dataDir, 'cves.txt');
    writeFileSync(
      list,
      '# virtual patches for this week\nCVE-2021-44228\ncve-2022-22965\n\nCVE-2021-41773\nCVE-2021-44228\n',
    );
    const first = await runCli(['batch', '--from', list, '--concurrency', '2', '--json']);
    const results = JSON.parse(first.stdout) as { cveId: string; status: string; version?: number }[];
    expect(results.map((r) => r.cveId)).toEqual(['CVE-2021-44228', 'CVE-2022-22965', 'CVE-2021-41773']);
    expect(results.every((r) => r.status === 'generated' && r.version === 1)).toBe(true);
    expect(first.code).toBe(0);

    writeFileSync(list, 'CVE-2021-44228\nCVE-2022-22965\nCVE-2021-41773\nCVE-2099-0404\n');
    const second = await runCli(['batch', '--from', list, '--json']);
    const again = JSON.parse(second.stdout) as { cveId: string; status: string; error?: string }[];
    expect(again.slice(0, 3).every((r) => r.status === 'skipped')).toBe(true);
    // An unknown CVE is an error for that item only; the batch still reports the rest.
    expect(again[3]).toMatchObject({ cveId: 'CVE-2099-0404', status: 'error' });
    expect(again[3]!.error).toMatch(/not in the local store and the network is off/);
    expect(second.code).toBe(1);
  }, 60_000);

  it('rejects a file with neither CVE IDs nor records', async () => {
    const bad = join(dataDir, 'bad.txt');
    writeFileSync(bad, 'hello\nworld\n');
    const r = await runCli(['batch', '--from', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/neither CVE IDs nor vulnerability records/);
  });
});
