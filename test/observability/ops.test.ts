// The alert rules and dashboards shipped in ops/: they parse, their PromQL is well formed (balanced
// brackets, known functions), the roadmap's thresholds are there, and every metric, label and label
// value they name is exported by the code (scraped from a registry after recording sample events).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import { createMetrics } from '../../src/observability/metrics.js';
import { sampleReport } from '../audit/support.js';
import { REPO_ROOT } from '../support/shared.js';
import { parseExposition, type Sample } from './support.js';

const FUNCTIONS = new Set([
  // aggregation operators
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  // functions
  'abs',
  'absent',
  'absent_over_time',
  'ceil',
  'changes',
  'clamp',
  'clamp_max',
  'clamp_min',
  'day_of_month',
  'day_of_week',
  'days_in_month',
  'delta',
  'deriv',
  'exp',
  'floor',
  'histogram_quantile',
  'holt_winters',
  'hour',
  'idelta',
  'increase',
  'irate',
  'label_join',
  'label_replace',
  'ln',
  'log2',
  'log10',
  'minute',
  'month',
  'predict_linear',
  'rate',
  'resets',
  'round',
  'scalar',
  'sgn',
  'sort',
  'sort_desc',
  'sqrt',
  'time',
  'timestamp',
  'vector',
  'year',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'quantile_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'last_over_time',
  'present_over_time',
]);
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/** Throws unless (), [] and {} nest properly outside string literals. */
function checkBalanced(expr: string): void {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i]!;
    if (ch === '"' || ch === "'" || ch === '`') {
      const end = expr.indexOf(ch, i + 1);
      if (end < 0) throw new Error(`unterminated string in ${expr}`);
      i = end;
    } else if ('([{'.includes(ch)) stack.push(ch);
    else if (')]}'.includes(ch)) {
      if (stack.pop() !== pairs[ch]) throw new Error(`unbalanced ${ch} at ${i} in ${expr}`);
    }
  }
  if (stack.length) throw new Error(`unclosed ${stack.join('')} in ${expr}`);
}

interface Selector {
  metric: string;
  matchers: { label: string; op: string; value: string }[];
}

interface Analysis {
  selectors: Selector[];
  functions: string[];
  groupingLabels: string[];
}

function analyse(expr: string): Analysis {
  checkBalanced(expr);
  const selectors: Selector[] = [];
  const functions: string[] = [];
  const groupingLabels: string[] = [];
  // Grouping clauses name labels, not metrics.
  let rest = expr.replace(
    /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_, _kw: string, labels: string) => {
      groupingLabels.push(
        ...labels
          .split(',')
          .map((l) => l.trim())
          .filter(Boolean),
      );
      return ' ';
    },
  );
  // Range selectors and subqueries: [5m], [$__rate_interval], [1h:5m].
  rest = rest.replace(/\[[^\]]*\]/g, (r) => {
    if (!/^\[(\$\w+|\$\{\w+\}|\d+[smhdwy](\d+[smhdwy])*)(:\d*[smhdwy]?)?\]$/.test(r))
      throw new Error(`bad range ${r} in ${expr}`);
    return ' ';
  });
  const token = /(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?(\s*\()?/g;
  for (const m of rest.matchAll(token)) {
    const [, name, braces, call] = m;
    if (call) {
      if (!FUNCTIONS.has(name!)) throw new Error(`unknown function ${name} in ${expr}`);
      functions.push(name!);
      continue;
    }
    if (KEYWORDS.has(name!.toLowerCase())) continue;
    const matchers = [...(braces ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map(
      ([, label, op, value]) => ({ label: label!, op: op!, value: value! }),
    );
    if (braces && braces.replace(/\s+/g, '') !== '{}' && matchers.length === 0)
      throw new Error(`unparsable label matchers ${braces} in ${expr}`);
    selectors.push({ metric: name!, matchers });
  }
  if (selectors.length === 0) throw new Error(`no metric in ${expr}`);
  // Binary comparisons must have something on both sides.
  if (/(^|[(,])\s*(==|!=|>=|<=|>|<|\/|\*)/.test(rest) || /(==|!=|>=|<=|>|<|\/|\*|\+|-)\s*($|[),])/.test(rest))
    throw new Error(`dangling operator in ${expr}`);
  return { selectors, functions, groupingLabels };
}

async function scrapeAfterSamples(): Promise<Sample[]> {
  const m = createMetrics();
  m.recordGeneration(sampleReport());
  m.recordGeneration(
    sampleReport({
      passed: false,
      reasons: ['blocks 1 benign request(s): b'],
      reasonCodes: ['false-positive'],
    }),
  );
  m.recordGeneration(
    sampleReport({
      engine: 'builtin',
      producedBy: 'builtin',
      provider: undefined,
      usage: { inputTokens: 0, outputTokens: 0 },
      costUsd: 0,
    }),
  );
  // The built-in engine's rule after every LLM provider failed (issue 15, item 6).
  m.recordGeneration(
    sampleReport({
      engine: 'builtin',
      producedBy: 'builtin',
      provider: undefined,
      fallback: 'every LLM provider failed: openai (server 500)',
    }),
  );
  m.recordGenerationError({ engine: 'llm', provider: 'anthropic', latencyMs: 900 });
  m.recordCache('hit');
  m.recordCache('miss');
  const hooks = m.llmHooks();
  hooks.onAttempt({ provider: 'openai', model: 'gpt-5-mini', ok: false, kind: 'server' });
  hooks.onAttempt({
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    ok: true,
    usage: { inputTokens: 10, outputTokens: 5 },
    costUsd: 0.001,
    ms: 1200,
  });
  hooks.onCall([{ provider: 'openai' }, { provider: 'anthropic' }], 'ok');
  m.recordLlmCall([{ provider: 'openai' }, { provider: 'anthropic' }]);
  hooks.onBreakerStateChange('openai', 'open');
  m.recordRateLimitRejection('api-key');
  m.setQueueProbe(() => [{ queue: 'generate', depth: 3, oldestAgeSeconds: 4 }]);
  m.recordAuditDelivery('splunk', 'delivered', 2);
  m.recordAuditDelivery('splunk', 'retry', 1);
  m.recordAuditDelivery('splunk', 'dead-lettered', 1);
  m.setAuditProbe(() => [{ sink: 'splunk', pending: 1 }]);
  m.setCoverageProbe(() => [
    { severity: 'critical', cves: 10, protected: 7 },
    { severity: 'high', cves: 20, protected: 9 },
  ]);
  return parseExposition(await m.scrape());
}

let samples: Sample[];
beforeAll(async () => {
  samples = await scrapeAfterSamples();
});

/** Every metric, label and literal label value the expression names is in the scrape. */
function checkAgainstScrape(where: string, expr: string): Analysis {
  const a = analyse(expr);
  for (const s of a.selectors) {
    const series = samples.filter((x) => x.name === s.metric);
    expect(series.length, `${where}: ${s.metric} is not exported`).toBeGreaterThan(0);
    const labels = new Set(series.flatMap((x) => Object.keys(x.labels)));
    for (const mt of s.matchers) {
      expect(labels.has(mt.label), `${where}: ${s.metric} has no label ${mt.label}`).toBe(true);
      const values = new Set(series.map((x) => x.labels[mt.label]));
      if (mt.op === '=' || mt.op === '!=')
        expect(values.has(mt.value), `${where}: ${s.metric}{${mt.label}="${mt.value}"} never appears`).toBe(
          true,
        );
      if (mt.op === '=~')
        for (const alt of mt.value.split('|'))
          expect(values.has(alt), `${where}: ${s.metric}{${mt.label}=~"…${alt}…"} never appears`).toBe(true);
    }
  }
  const allLabels = new Set(
    a.selectors.flatMap((s) =>
      samples.filter((x) => x.name === s.metric).flatMap((x) => Object.keys(x.labels)),
    ),
  );
  for (const l of a.groupingLabels)
    expect(allLabels.has(l), `${where}: no metric in it has label ${l}`).toBe(true);
  return a;
}

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const alertFile = resolve(REPO_ROOT, 'ops/prometheus/alerts.yml');
const rules = (): AlertRule[] =>
  (
    parseYaml(readFileSync(alertFile, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] }
  ).groups.flatMap((g) => g.rules);

describe('ops/prometheus/alerts.yml', () => {
  it('is a Prometheus rule file: groups of alerts with expr, for, severity and a summary', () => {
    const doc = parseYaml(readFileSync(alertFile, 'utf8')) as {
      groups: { name: string; rules: AlertRule[] }[];
    };
    expect(Object.keys(doc)).toEqual(['groups']);
    const names = new Set<string>();
    for (const g of doc.groups) {
      expect(g.name).toMatch(/^[\w-]+$/);
      expect(g.rules.length).toBeGreaterThan(0);
      for (const r of g.rules) {
        expect(
          Object.keys(r).every((k) =>
            ['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(k),
          ),
        ).toBe(true);
        expect(r.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
        expect(names.has(r.alert), `duplicate ${r.alert}`).toBe(false);
        names.add(r.alert);
        if (r.for !== undefined) expect(r.for).toMatch(/^\d+[smhd]$/);
        expect(['critical', 'warning', 'info']).toContain(r.labels?.severity);
        expect(r.annotations?.summary).toBeTruthy();
      }
    }
  });

  it('every expression is well formed and names only exported metrics, labels and values', () => {
    for (const r of rules()) checkAgainstScrape(r.alert, r.expr);
  });

  it('carries the roadmap’s thresholds', () => {
    const expr = (name: string) =>
      rules()
        .find((r) => r.alert === name)
        ?.expr.replace(/\s+/g, ' ') ?? '';
    expect(expr('WafgenGenerationSuccessRateLow')).toMatch(/outcome="success".*\) < 0\.95 and/);
    expect(expr('WafgenGenerationLatencyP99High')).toMatch(
      /^histogram_quantile\(0\.99, .*wafgen_generation_duration_seconds_bucket.*\) > 30 ?$/,
    );
    expect(expr('WafgenAttemptsPerRuleHigh')).toMatch(
      /wafgen_generation_attempts_sum.*wafgen_generation_attempts_count.*> 2 ?$/,
    );
    expect(expr('WafgenTokensPerRuleHigh')).toMatch(
      /wafgen_generation_tokens_sum\{direction="total".*> 5000 ?$/,
    );
    expect(expr('WafgenCostPerRuleHigh')).toMatch(/wafgen_generation_cost_usd_sum.*> 0\.10 ?$/);
    expect(expr('WafgenValidationFailureRateHigh')).toMatch(/outcome="failed".*\) > 0\.10 and/);
  });

  it('the checker itself refuses what is wrong', () => {
    expect(() => analyse('sum(rate(wafgen_generations_total[5m])')).toThrow(/unclosed/);
    expect(() => analyse('sum(rate(wafgen_generations_total[5m])))')).toThrow(/unbalanced/);
    expect(() => analyse('summ(rate(wafgen_generations_total[5m]))')).toThrow(/unknown function summ/);
    expect(() => analyse('rate(wafgen_generations_total[5 minutes])')).toThrow(/bad range/);
    expect(() => analyse('sum(rate(wafgen_generations_total[5m])) >')).toThrow(/dangling/);
    expect(() => checkAgainstScrape('t', 'rate(wafgen_generation_total[5m])')).toThrow(/not exported/);
    expect(() => checkAgainstScrape('t', 'rate(wafgen_generations_total{result="success"}[5m])')).toThrow(
      /no label result/,
    );
    expect(() => checkAgainstScrape('t', 'rate(wafgen_generations_total{outcome="passed"}[5m])')).toThrow(
      /never appears/,
    );
    expect(() => checkAgainstScrape('t', 'sum by (region) (wafgen_queue_depth)')).toThrow(
      /no metric in it has label region/,
    );
  });
});

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string }[];
  panels?: Panel[];
}

describe.each(['operations', 'cost', 'quality'])('ops/grafana/%s.json', (name) => {
  const dash = JSON.parse(readFileSync(resolve(REPO_ROOT, `ops/grafana/${name}.json`), 'utf8')) as {
    title: string;
    uid: string;
    schemaVersion: number;
    panels: Panel[];
    templating: { list: { name: string; type: string }[] };
  };
  const panels = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

  it('is a Grafana dashboard model with a Prometheus datasource variable', () => {
    expect(dash.uid).toBe(`wafgen-${name}`);
    expect(dash.title).toMatch(/^wafgen/);
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dash.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource' }),
    );
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(new Set(p.targets!.map((t) => t.refId)).size).toBe(p.targets!.length);
    }
  });

  it('every query is well formed and names only exported metrics, labels and values', () => {
    for (const p of panels)
      for (const t of p.targets ?? []) checkAgainstScrape(`${name}: ${p.title}`, t.expr);
  });
});

describe('coverage of the metrics by ops/', () => {
  it('every wafgen_ metric family is used by a dashboard or an alert', () => {
    const used = new Set<string>();
    for (const r of rules()) for (const s of analyse(r.expr).selectors) used.add(s.metric);
    for (const name of ['operations', 'cost', 'quality']) {
      const dash = JSON.parse(readFileSync(resolve(REPO_ROOT, `ops/grafana/${name}.json`), 'utf8')) as {
        panels: Panel[];
      };
      for (const p of dash.panels)
        for (const t of p.targets ?? []) for (const s of analyse(t.expr).selectors) used.add(s.metric);
    }
    const family = (n: string) => n.replace(/_(bucket|sum|count)$/, '');
    const usedFamilies = new Set([...used].map(family));
    const exported = new Set(samples.map((s) => family(s.name)).filter((n) => n.startsWith('wafgen_')));
    expect([...exported].filter((n) => !usedFamilies.has(n))).toEqual([]);
  });
});
