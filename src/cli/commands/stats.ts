// `wafgen stats`: the dashboards' figures from the store (rule versions saved in the last N days),
// for people without Grafana; `--cost` adds spend by provider and model and the 30-day forecast.
import type { Command } from 'commander';

import { InputError } from '../../core/errors.js';
import type { Config } from '../../config/index.js';
import type { Percentiles, Stats } from '../../observability/stats.js';
import { THRESHOLDS } from '../../observability/thresholds.js';
import { colors, type Io, printable, printableJson } from '../io.js';

const num = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const usd = (n: number) => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
const pct = (n: number) => `${(n * 100).toFixed(1)}%`;
const secs = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

function spread(p: Percentiles, f: (n: number) => string): string {
  return `p50 ${f(p.p50)} · p90 ${f(p.p90)} · p99 ${f(p.p99)} · max ${f(p.max)}`;
}

function formatStats(s: Stats, io: Io, opts: { cost?: boolean } = {}): string {
  const c = colors(io);
  const warn = (over: boolean, text: string) => (over ? `  ${c.yellow(`⚠ ${text}`)}` : '');
  const row = (label: string, text: string) => `  ${label.padEnd(18)}${text}`;
  const lines = [
    `${c.bold('wafgen stats')}: last ${s.window.days} day(s) (${s.window.since.slice(0, 10)} to ${s.window.until.slice(0, 10)}), ` +
      `${s.rules} rule version(s) saved in the store`,
  ];
  if (s.rules === 0) {
    lines.push(c.dim('  nothing generated in this window (wafgen generate <CVE> saves rule versions here)'));
    return lines.join('\n') + '\n';
  }
  const g = s.generations;
  lines.push(
    row('success rate', `${pct(g.successRate ?? 0)} (${g.passed} of ${g.total} proven)`) +
      warn((g.successRate ?? 1) < THRESHOLDS.minSuccessRate, 'below 95%'),
  );
  if (s.latencyMs)
    lines.push(
      row('latency', spread(s.latencyMs, secs)) +
        warn(s.latencyMs.p99 > THRESHOLDS.maxP99LatencyMs, 'p99 over 30 s'),
    );
  if (s.attempts)
    lines.push(
      row(
        'attempts',
        `mean ${s.attempts.mean.toFixed(2)} · p95 ${s.attempts.p95} · max ${s.attempts.max} · ${s.attempts.over2} rule(s) over 2`,
      ) + warn(s.attempts.mean > THRESHOLDS.maxMeanAttempts, 'mean over 2'),
    );
  const t = s.tokens;
  lines.push(
    t.total
      ? row(
          'tokens per rule',
          `mean ${num(t.total.mean)} (${num(t.meanInput)} in / ${num(t.meanOutput)} out) · p95 ${num(t.total.p95)} · max ${num(t.total.max)} · ${t.over5000} over 5,000 (${t.llmRules} LLM rule(s))`,
        ) + warn(t.total.mean > THRESHOLDS.maxTokensPerRule, 'mean over 5,000')
      : row('tokens per rule', c.dim('no LLM generations (the built-in engine uses none)')),
  );
  lines.push(
    row(
      'cost',
      `${usd(s.cost.totalUsd)} total` +
        (s.cost.perRule
          ? ` · mean ${usd(s.cost.perRule.mean)} per LLM rule · max ${usd(s.cost.perRule.max)} · ${s.cost.over010} over $0.10`
          : '') +
        ` · forecast ${usd(s.cost.forecast30dUsd)} per 30 days`,
    ) + warn((s.cost.perRule?.mean ?? 0) > THRESHOLDS.maxCostPerRuleUsd, 'mean per rule over $0.10'),
  );
  const v = s.validationFailures;
  const reasons = Object.entries(v.byReason)
    .map(([k, n]) => `${printable(k)} ${n}`)
    .join(', ');
  lines.push(
    row(
      'validation',
      `${v.rules} of ${s.rules} rule(s) failed (${pct(v.rate ?? 0)})${reasons ? `: ${reasons}` : ''}`,
    ) + warn((v.rate ?? 0) > THRESHOLDS.maxValidationFailureRate, 'over 10%'),
  );
  lines.push(
    row(
      'engines',
      s.byEngine.map((e) => `${printable(e.engine)} ${e.rules} (${e.passed} passed)`).join(', '),
    ),
  );
  if (opts.cost) {
    lines.push('', c.bold('  cost by provider and model'));
    for (const p of s.cost.byProvider) {
      const name = printable(p.model ? `${p.provider}/${p.model}` : p.provider);
      lines.push(
        `    ${name.padEnd(36)} ${String(p.rules).padStart(5)} rule(s)  ${num(p.inputTokens).padStart(10)} in  ${num(p.outputTokens).padStart(9)} out  ${usd(p.costUsd).padStart(9)}`,
      );
    }
    lines.push(
      '',
      `  forecast: ${usd(s.cost.forecast30dUsd)} per 30 days, at the last ${s.window.days} day(s)' ${usd(s.cost.perDayUsd)} per day`,
      c.dim(
        '  (prices: the LLM layer’s table, WAFGEN_PRICE_TABLE to override; cost is what each report recorded)',
      ),
    );
  }
  return lines.join('\n') + '\n';
}

export function registerStats(program: Command, io: Io, config: () => Config): void {
  program
    .command('stats')
    .description(
      'success rate, latency, attempts, tokens, cost and validation failures of recent generations, from the store',
    )
    .option('--cost', 'add cost by provider and model and the monthly forecast')
    .option('--days <n>', 'the window: the last N days', '7')
    .option('--json', 'print the figures as JSON')
    .action(async (opts: { cost?: boolean; days: string; json?: boolean }) => {
      const { collectStats } = await import('../../observability/stats.js');
      const { openStore, sqlStoreOptions } = await import('../../store/index.js');
      const days = Number(opts.days);
      if (!Number.isInteger(days) || days < 1 || days > 3650)
        throw new InputError('--days must be a whole number from 1 to 3650');
      const cfg = config();
      const store = await openStore(sqlStoreOptions(cfg));
      try {
        const stats = await collectStats(store, { days });
        io.out(
          opts.json ? printableJson(stats) + '\n' : formatStats(stats, io, { cost: opts.cost ?? false }),
        );
      } finally {
        await store.close();
      }
    });
}
