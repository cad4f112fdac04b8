// The promise on a fresh clone: every bundled CVE ships with real exploit requests, and the rule the
// built-in engine writes for it is proven against them, their evasion variants and the whole built-in
// benign corpus (not a sample of it).
import { describe, expect, it } from 'vitest';

import { loadBenignSample } from '../../src/generation/benign.js';
import { BuiltinEngine } from '../../src/generation/builtin/index.js';
import { mergeFacts } from '../../src/generation/facts.js';
import { runGeneration } from '../../src/generation/loop.js';
import { bundledExploits, loadBundled } from '../../src/vulns/bundled.js';

describe('bundled CVEs', () => {
  it('each has at least one exploit request with its public source, and gets a proven rule', async () => {
    const benign = await loadBenignSample();
    expect(benign.length).toBeGreaterThanOrEqual(3000);
    const notProven: string[] = [];
    for (const record of loadBundled()) {
      const exploits = await bundledExploits(record.id);
      expect(exploits.length, record.id).toBeGreaterThan(0);
      for (const e of exploits) expect(e.source, e.id).toMatch(/^https?:\/\//);
      const { report } = await runGeneration(
        { record, exploits, facts: mergeFacts(record), benign, evidenceSources: [] },
        new BuiltinEngine(),
      );
      if (
        report.verdict !== 'proven' ||
        report.tests.evidence.blocked !== exploits.length ||
        report.tests.benign.total !== benign.length
      )
        notProven.push(`${record.id}: ${report.summary}`);
    }
    expect(notProven).toEqual([]);
  }, 600_000);
});
