// npm run bench:engine — the local AWS WAF evaluator's speed and memory.
//   * throughput: ten CVE rules + an SQLi/XSS rule as one rule group, over every request of
//     ../shared/corpus (streamed), in requests x rules per second, with per-request latency;
//   * baseline in the same run: the same search strings and compiled regexes applied directly to
//     the raw strings (path+query, header values, body) with no field extraction or transforms;
//     the ratio engine/baseline is the figure to watch (aim: within 3x);
//   * memory: the corpus streamed 1x and 10x; peak heap should not grow with the request count;
//   * hostile rules: a catastrophic regex on a long input, thousands of nested statements,
//     a 10 MB search string: each must fail fast or run in linear time.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { utf8ToByteString } from '../src/core/bytes.js';
import { detectSqli, detectXss } from '../src/evaluator/detect/index.js';
import { compileDocument, RuleCompileError } from '../src/evaluator/index.js';
import { byteMatchOffset } from '../src/evaluator/match/byte-match.js';
import { loadRequests } from '../src/requests/index.js';
import type { HttpRequest } from '../src/requests/model.js';
import { compileRegex } from '../src/waf/regex.js';
import type { Statement } from '../src/waf/schema.js';
import { walkStatements } from '../src/waf/statements.js';
import { validateRuleDocument } from '../src/lint/validate.js';
import { RULE_GROUP } from './rules.js';

const corpusDir = resolve(fileURLToPath(import.meta.url), '../../../shared/corpus');
const files = ['exploits.dev.jsonl', 'benign.dev.jsonl'].map((f) => resolve(corpusDir, f));

async function* stream(times: number): AsyncGenerator<HttpRequest> {
  for (let i = 0; i < times; i++) {
    for (const f of files) {
      for await (const r of loadRequests(f)) if ('request' in r) yield r.request;
    }
  }
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const fmt = (n: number, d = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

// The baseline: each leaf pattern, compiled once, run straight over the raw string of the component
// it inspects (path, query, header values joined, body): no extraction rules, no transformations,
// no JSON parsing, no trace. What is left is the matching work itself.
function rawComponent(s: Statement): (r: HttpRequest) => string {
  const f = (s.ByteMatchStatement ?? s.RegexMatchStatement ?? s.SqliMatchStatement ?? s.XssMatchStatement)!
    .FieldToMatch;
  if (f.UriPath) return (r) => r.path;
  if (f.QueryString || f.AllQueryArguments || f.SingleQueryArgument) return (r) => r.query;
  if (f.Body || f.JsonBody) return (r) => r.body ?? '';
  return (r) => r.headers.map((h) => h[1]).join('\n');
}

function baselineMatchers(): ((r: HttpRequest) => boolean)[] {
  const out: ((r: HttpRequest) => boolean)[] = [];
  for (const rule of RULE_GROUP.Rules!) {
    walkStatements(rule.Statement, [], (s: Statement) => {
      if (!s.ByteMatchStatement && !s.RegexMatchStatement && !s.SqliMatchStatement && !s.XssMatchStatement)
        return;
      const raw = rawComponent(s);
      if (s.ByteMatchStatement) {
        const search = utf8ToByteString(s.ByteMatchStatement.SearchString);
        out.push((r) => byteMatchOffset(raw(r), search, 'CONTAINS') >= 0);
      } else if (s.RegexMatchStatement) {
        const re = compileRegex(s.RegexMatchStatement.RegexString);
        out.push((r) => re.matcher(raw(r)).find());
      } else if (s.SqliMatchStatement) out.push((r) => detectSqli(raw(r)).matched);
      else out.push((r) => detectXss(raw(r)).matched);
    });
  }
  return out;
}

async function main(): Promise<void> {
  const doc = validateRuleDocument(RULE_GROUP).document!;
  const engine = compileDocument(doc, { trace: false });
  const matchers = baselineMatchers();
  const requests: HttpRequest[] = [];
  for await (const r of stream(1)) requests.push(r);
  const rules = RULE_GROUP.Rules!.length;

  // Warm up both paths (JIT), then measure several passes.
  for (const r of requests.slice(0, 500)) engine.evaluate(r);
  const passes = 5;
  const latencies: number[] = [];
  let blocked = 0;
  let t = performance.now();
  for (let p = 0; p < passes; p++) {
    for (const r of requests) {
      const s = process.hrtime.bigint();
      if (engine.evaluate(r).action === 'BLOCK' && p === 0) blocked++;
      latencies.push(Number(process.hrtime.bigint() - s) / 1e3);
    }
  }
  const engineMs = performance.now() - t;

  let baselineHits = 0;
  t = performance.now();
  for (let p = 0; p < passes; p++) {
    for (const r of requests) for (const m of matchers) if (m(r)) baselineHits++;
  }
  const baselineMs = performance.now() - t;
  latencies.sort((a, b) => a - b);

  const n = requests.length * passes;
  console.log(
    `\nwafgen bench:engine — ${requests.length} corpus requests x ${passes} passes, ${rules} rules in one rule group (${matchers.length} leaf patterns)\n`,
  );
  console.log('| path | requests/s | requests x rules/s | p50 µs | p90 µs | p99 µs | max µs |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(
    `| engine (extraction, transforms, evaluation) | ${fmt(n / (engineMs / 1000))} | ${fmt((n * rules) / (engineMs / 1000))} | ${fmt(percentile(latencies, 0.5), 1)} | ${fmt(percentile(latencies, 0.9), 1)} | ${fmt(percentile(latencies, 0.99), 1)} | ${fmt(latencies.at(-1)!, 0)} |`,
  );
  console.log(
    `| baseline (same patterns on raw strings) | ${fmt(n / (baselineMs / 1000))} | ${fmt((n * rules) / (baselineMs / 1000))} | | | | |`,
  );
  console.log(
    `\nratio engine/baseline: ${(engineMs / baselineMs).toFixed(2)}x (aim: within 3x); blocked ${blocked} of ${requests.length}; baseline raw hits ${baselineHits / passes}`,
  );

  // Memory: stream 1x and 10x the corpus through the engine. Every 1,000 requests the heap is
  // collected and measured: what survives a GC is what the evaluation retains.
  console.log('\n| streamed requests | peak live heap MB (after GC) | peak RSS MB |');
  console.log('| ---: | ---: | ---: |');
  for (const times of [1, 10]) {
    global.gc?.();
    let peakHeap = 0;
    let peakRss = 0;
    let count = 0;
    for await (const r of stream(times)) {
      engine.evaluate(r);
      if (++count % 1000 === 0) {
        global.gc?.();
        const m = process.memoryUsage();
        peakHeap = Math.max(peakHeap, m.heapUsed);
        peakRss = Math.max(peakRss, m.rss);
      }
    }
    console.log(`| ${fmt(count)} | ${fmt(peakHeap / 2 ** 20, 1)} | ${fmt(peakRss / 2 ** 20, 1)} |`);
  }

  // Hostile rules.
  console.log('\n| hostile input | outcome | ms |');
  console.log('| --- | --- | ---: |');
  const hostile = async (name: string, fn: () => string): Promise<void> => {
    const s = performance.now();
    let outcome: string;
    try {
      outcome = fn();
    } catch (e) {
      outcome = `refused: ${e instanceof Error ? e.message.slice(0, 70) : String(e)}`;
    }
    console.log(`| ${name} | ${outcome} | ${fmt(performance.now() - s, 1)} |`);
  };
  const vis = { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'h' };
  const longReq: HttpRequest = {
    id: 'h',
    method: 'GET',
    uri: '/?q=' + 'a'.repeat(1_000_000) + '!',
    path: '/',
    query: 'q=' + 'a'.repeat(1_000_000) + '!',
    headers: [],
  };
  await hostile('regex (a+)+$ over a 1 MB query', () => {
    const rule = {
      Name: 'h',
      Priority: 0,
      Action: { Block: {} },
      VisibilityConfig: vis,
      Statement: {
        RegexMatchStatement: {
          RegexString: '(a+)+$',
          FieldToMatch: { QueryString: {} },
          TextTransformations: [{ Priority: 0, Type: 'NONE' as const }],
        },
      },
    };
    return compileDocument({ kind: 'rule', rule }).evaluate(longReq).action;
  });
  await hostile('5,000 nested NotStatements', () => {
    let st: Statement = {
      ByteMatchStatement: {
        SearchString: 'x',
        FieldToMatch: { UriPath: {} },
        PositionalConstraint: 'CONTAINS',
        TextTransformations: [{ Priority: 0, Type: 'NONE' }],
      },
    };
    for (let i = 0; i < 5000; i++) st = { NotStatement: { Statement: st } };
    try {
      return compileDocument({
        kind: 'rule',
        rule: { Name: 'h', Priority: 0, Action: { Block: {} }, VisibilityConfig: vis, Statement: st },
      }).evaluate(longReq).action;
    } catch (e) {
      if (e instanceof RuleCompileError) throw e;
      throw e;
    }
  });
  await hostile('10 MB SearchString (validate)', () => {
    const big = {
      Name: 'h',
      Priority: 0,
      Action: { Block: {} },
      VisibilityConfig: vis,
      Statement: {
        ByteMatchStatement: {
          SearchString: 'a'.repeat(10 * 2 ** 20),
          FieldToMatch: { UriPath: {} },
          PositionalConstraint: 'CONTAINS',
          TextTransformations: [{ Priority: 0, Type: 'NONE' }],
        },
      },
    };
    const r = validateRuleDocument(big);
    return r.valid ? 'accepted (wrong)' : `rejected: ${r.findings[0]!.code}`;
  });
  await hostile('10 MB SearchString (evaluator, unvalidated)', () => {
    const rule = {
      Name: 'h',
      Priority: 0,
      Action: { Block: {} },
      VisibilityConfig: vis,
      Statement: {
        ByteMatchStatement: {
          SearchString: 'a'.repeat(10 * 2 ** 20),
          FieldToMatch: { QueryString: {} },
          PositionalConstraint: 'CONTAINS' as const,
          TextTransformations: [{ Priority: 0, Type: 'NONE' as const }],
        },
      },
    };
    return compileDocument({ kind: 'rule', rule }).evaluate(longReq).action;
  });
}

await main();
