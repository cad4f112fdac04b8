// npm run bench:engine — the local AWS WAF evaluator's speed and memory.
//   * throughput: ten CVE rules + an SQLi/XSS rule as one rule group, over every request of
//     ../shared/corpus (streamed), in requests x rules per second, with per-request latency;
//   * baseline in the same run: the same search strings and compiled regexes applied directly to
//     the raw strings (path+query, header values, body) with no field extraction or transforms;
//     the ratio engine/baseline is the figure to watch (aim: within 1.8x, issue 13);
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
//
// Two changes made it a barer loop (both make it faster, so the ratio harder, not easier): regexes
// use RE2JS#test, the cheapest boolean match (the engine uses it too when no trace is kept; it was
// matcher().find(), which also builds a Matcher and capture positions), and the joined header values
// are built once per request instead of once per header statement (extraction work the engine shares
// between statements, so the baseline should not repeat it either).
type Raw = (r: HttpRequest) => string;
let headersOf: HttpRequest | undefined;
let headersJoined = '';
const joinedHeaders: Raw = (r) => {
  if (headersOf !== r) {
    headersOf = r;
    headersJoined = r.headers.map((h) => h[1]).join('\n');
  }
  return headersJoined;
};

function rawComponent(s: Statement): Raw {
  const f = (s.ByteMatchStatement ?? s.RegexMatchStatement ?? s.SqliMatchStatement ?? s.XssMatchStatement)!
    .FieldToMatch;
  if (f.UriPath) return (r) => r.path;
  if (f.QueryString || f.AllQueryArguments || f.SingleQueryArgument) return (r) => r.query;
  if (f.Body || f.JsonBody) return (r) => r.body ?? '';
  return joinedHeaders;
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
        out.push((r) => re.test(raw(r)));
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

  // Warm up both paths (JIT), then measure several passes. Engine and baseline take turns on chunks
  // of 64 requests (a few ms each; which one goes first alternates by chunk and pass), so a
  // neighbour's load on this shared machine weighs on both alike: with whole passes taking turns,
  // single passes ranged from 0.7x to 3.5x under a load average of 13 on 2 cores. The ratio is of the
  // summed wall times; the same ratio in process CPU time (time the process ran, whoever else wanted
  // the cores) is shown next to it, with each pass's wall ratio, to make the noise visible.
  // Then a whole warm-up pass, run and timed like the others, printed, and left out of the ratio.
  // With only the first 500 requests as warm-up, the first measured pass ran at 2.28x against
  // 1.56-1.71x for the four after it (npm run bench:engine, 2026-12-05): both paths are cold there
  // (V8 optimising, caches filling), and its ratio swings (1.06-1.94x as the warm-up pass in four
  // runs since), while a long-running server or worker pays it once. The 500 requests stay first:
  // with the whole pass alone as warm-up, the first counted pass still ran at 1.87x and 1.93x in
  // two runs (against 1.21-1.50x with both).
  for (const r of requests.slice(0, 500)) {
    engine.evaluate(r);
    for (const m of matchers) m(r);
  }
  const passes = 5;
  const CHUNK = 64;
  const latencies: number[] = [];
  let blocked = 0;
  let baselineHits = 0;
  let engineMs = 0;
  let baselineMs = 0;
  const cpuMs = { engine: 0, baseline: 0 };
  const passRatios: number[] = [];
  const timed = (path: keyof typeof cpuMs, run: () => void): number => {
    const t = performance.now();
    const c = process.cpuUsage();
    run();
    const used = process.cpuUsage(c);
    cpuMs[path] += (used.user + used.system) / 1000;
    return performance.now() - t;
  };
  const engineChunk = (from: number, to: number, p: number): number =>
    timed('engine', () => {
      for (let i = from; i < to; i++) {
        const s = process.hrtime.bigint();
        if (engine.evaluate(requests[i]!).action === 'BLOCK' && p === 0) blocked++;
        latencies.push(Number(process.hrtime.bigint() - s) / 1e3);
      }
    });
  const baselineChunk = (from: number, to: number): number =>
    timed('baseline', () => {
      for (let i = from; i < to; i++) {
        const r = requests[i]!;
        for (const m of matchers) if (m(r)) baselineHits++;
      }
    });
  let coldRatio = 0;
  for (let p = -1; p < passes; p++) {
    let e = 0;
    let b = 0;
    for (let from = 0, k = 0; from < requests.length; from += CHUNK, k++) {
      const to = Math.min(requests.length, from + CHUNK);
      if ((k + p) % 2 === 0) {
        e += engineChunk(from, to, p);
        b += baselineChunk(from, to);
      } else {
        b += baselineChunk(from, to);
        e += engineChunk(from, to, p);
      }
    }
    if (p < 0) {
      coldRatio = e / b;
      latencies.length = 0;
      baselineHits = 0;
      cpuMs.engine = cpuMs.baseline = 0;
      continue;
    }
    engineMs += e;
    baselineMs += b;
    passRatios.push(e / b);
  }
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
    `\nratio engine/baseline: ${(engineMs / baselineMs).toFixed(2)}x (aim: within 1.8x); in CPU time ${(cpuMs.engine / cpuMs.baseline).toFixed(2)}x; per pass ${passRatios.map((x) => x.toFixed(2)).join(' ')}, after a warm-up pass (not counted) at ${coldRatio.toFixed(2)}x; blocked ${blocked} of ${requests.length}; baseline raw hits ${baselineHits / passes}`,
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
