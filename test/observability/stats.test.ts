// `wafgen stats` and the figures behind it, from rule reports in an embedded store: the window,
// success rate, percentiles, tokens and cost over LLM rules, reasons, and the 30-day forecast.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  computeStats,
  collectStats,
  forecastMonthlyCost,
  percentiles,
} from '../../src/observability/stats.js';
import { openStore, type Store } from '../../src/store/index.js';
import { sampleReport } from '../audit/support.js';
import { runCli } from '../support/cli.js';

const dataDir = mkdtempSync(join(tmpdir(), 'wafgen-stats-'));
const NOW = new Date();
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);

/** Ten rule versions in the last week (plus one too old to count), with known figures. */
const RECENT = [
  sampleReport({
    cveId: 'CVE-2024-0001',
    durationMs: 2000,
    attempts: 1,
    usage: { inputTokens: 1000, outputTokens: 200 },
    costUsd: 0.01,
  }),
  sampleReport({
    cveId: 'CVE-2024-0002',
    durationMs: 4000,
    attempts: 2,
    usage: { inputTokens: 2000, outputTokens: 400 },
    costUsd: 0.02,
  }),
  sampleReport({
    cveId: 'CVE-2024-0003',
    durationMs: 40_000,
    attempts: 4,
    usage: { inputTokens: 6000, outputTokens: 1000 },
    costUsd: 0.15,
    passed: false,
    reasons: ['blocks 2 benign request(s): a, b', 'misses 1 of 2 exploit request(s): x'],
    reasonCodes: ['false-positive', 'exploit-missed'],
  }),
  sampleReport({
    cveId: 'CVE-2024-0004',
    durationMs: 3000,
    attempts: 1,
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    usage: { inputTokens: 1500, outputTokens: 300 },
    costUsd: 0.003,
  }),
  ...Array.from({ length: 6 }, (_, i) =>
    sampleReport({
      cveId: `CVE-2024-01${i}0`,
      engine: 'builtin',
      producedBy: 'builtin',
      provider: undefined,
      model: undefined,
      durationMs: 300 + i * 100,
      attempts: 1,
      usage: { inputTokens: 0, outputTokens: 0 },
      costUsd: 0,
    }),
  ),
];

let store: Store;
beforeAll(async () => {
  store = await openStore({ dataDir });
  for (const [i, report] of RECENT.entries()) {
    await store.rules.saveVersion(report.cveId, {
      rule: { Name: `wafgen-${report.cveId}` },
      inputsHash: `h${i}`,
      engine: report.producedBy ?? report.engine,
      ...(report.provider ? { provider: report.provider } : {}),
      ...(report.model ? { model: report.model } : {}),
      report,
    });
    await store.db
      .updateTable('rules')
      .set({ created_at: daysAgo(i * 0.5) })
      .where('cve_id', '=', report.cveId)
      .execute();
  }
  const old = sampleReport({
    cveId: 'CVE-2020-0001',
    costUsd: 5,
    passed: false,
    reasons: ['costs 900 WCU, over the budget of 500'],
    reasonCodes: ['wcu-over-budget'],
  });
  await store.rules.saveVersion(old.cveId, { rule: {}, inputsHash: 'old', engine: 'llm', report: old });
  await sql`update rules set created_at = ${daysAgo(20)} where cve_id = 'CVE-2020-0001'`.execute(store.db);
}, 60_000);
afterAll(async () => {
  await store?.close();
});

describe('stats from the store', () => {
  it('counts the last N days only, with the dashboards’ figures', async () => {
    const s = await collectStats(store, { days: 7, now: NOW });
    expect(s.rules).toBe(10);
    expect(s.generations).toEqual({ total: 10, passed: 9, failed: 1, successRate: 0.9 });
    expect(s.latencyMs).toMatchObject({ p50: 700, p90: 4000, p99: 40_000, max: 40_000 });
    expect(s.attempts).toMatchObject({ max: 4, over2: 1 });
    expect(s.attempts!.mean).toBeCloseTo(1.4);
    expect(s.tokens).toMatchObject({ llmRules: 4, over5000: 1, meanInput: 2625, meanOutput: 475 });
    expect(s.cost.totalUsd).toBeCloseTo(0.183);
    expect(s.cost.over010).toBe(1);
    expect(s.cost.perRule!.mean).toBeCloseTo(0.183 / 4);
    expect(s.cost.forecast30dUsd).toBeCloseTo((0.183 / 7) * 30);
    expect(s.cost.byProvider[0]).toMatchObject({ provider: 'openai', model: 'gpt-5-mini', rules: 3 });
    expect(s.cost.byProvider.find((p) => p.provider === 'builtin')).toMatchObject({ rules: 6, costUsd: 0 });
    expect(s.validationFailures).toEqual({
      rules: 1,
      rate: 0.1,
      byReason: { 'exploit-missed': 1, 'false-positive': 1 },
    });
    expect(s.breaches).toEqual(['success rate 90.0% is below 95.0%', 'p99 latency 40.0 s is over 30 s']);
    const month = await collectStats(store, { days: 30, now: NOW });
    expect(month.rules).toBe(11);
    expect(month.cost.forecast30dUsd).toBeCloseTo(5.183);
  });
});

describe('pure figures', () => {
  it('percentiles by nearest rank; forecast is the window’s spend scaled to 30 days', () => {
    expect(percentiles([])).toBeNull();
    expect(percentiles([5])).toMatchObject({ p50: 5, p99: 5, max: 5, mean: 5 });
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentiles(hundred)).toMatchObject({ p50: 50, p90: 90, p95: 95, p99: 99, max: 100, mean: 50.5 });
    expect(forecastMonthlyCost(1.4, 7)).toBeCloseTo(6);
    expect(forecastMonthlyCost(1, 0)).toBe(0);
    const empty = computeStats([], { days: 7, since: daysAgo(7), until: NOW });
    expect(empty).toMatchObject({
      rules: 0,
      generations: { successRate: null },
      latencyMs: null,
      breaches: [],
    });
  });
});

describe('wafgen stats', () => {
  const saved = process.env.WAFGEN_DATA_DIR;
  beforeAll(async () => {
    await store.close(); // PGlite has one owner: the CLI opens the folder itself
    process.env.WAFGEN_DATA_DIR = dataDir;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.WAFGEN_DATA_DIR;
    else process.env.WAFGEN_DATA_DIR = saved;
  });

  it('prints the figures, flags what is over a threshold, and --cost adds the forecast', async () => {
    const r = await runCli(['stats', '--cost', '--days', '7']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/last 7 day\(s\) .* 10 rule version\(s\)/);
    expect(r.stdout).toMatch(/success rate\s+90\.0% \(9 of 10 proven\)\s+⚠ below 95%/);
    expect(r.stdout).toMatch(
      /latency\s+p50 700 ms · p90 4\.0 s · p99 40\.0 s · max 40\.0 s\s+⚠ p99 over 30 s/,
    );
    expect(r.stdout).toMatch(
      /validation\s+1 of 10 rule\(s\) failed \(10\.0%\): exploit-missed 1, false-positive 1/,
    );
    expect(r.stdout).toMatch(/openai\/gpt-5-mini\s+3 rule\(s\)/);
    expect(r.stdout).toMatch(/forecast: \$0\.7843 per 30 days, at the last 7 day\(s\)' \$0\.0261 per day/);
  }, 60_000);

  it('--json is the same object the figures come from', async () => {
    const r = await runCli(['stats', '--json', '--days', '30']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { rules: number; cost: { forecast30dUsd: number } };
    expect(s.rules).toBe(11);
    expect(s.cost.forecast30dUsd).toBeCloseTo(5.183);
  }, 60_000);

  it('a bad --days is one line and exit 2', async () => {
    const r = await runCli(['stats', '--days', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('wafgen: --days must be a whole number from 1 to 3650\n');
  });
});
