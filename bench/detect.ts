// Detection and false-positive rates of the SQLi / XSS detectors, and their speed.
//
//   npx tsx bench/detect.ts [path/to/benign.dev.jsonl]
//
// Detection: every line of test/fixtures/payloads/{sqli,xss}.txt, used as-is (UTF-8 bytes).
// False positives: for every request of the benign corpus (default ../shared/corpus/benign.dev.jsonl
// next to the repository), each query-argument value, the URI path and the body, each URL-decoded
// (%XX and '+' as space) into a byte string, as AWS WAF's URL_DECODE transformation would.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { utf8ToByteString } from '../src/core/bytes.js';
import { detectSqli, detectXss } from '../src/evaluator/detect/index.js';
import { TEXT_TRANSFORMATIONS } from '../src/evaluator/transforms/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const corpusPath = resolve(process.argv[2] ?? resolve(repoRoot, '../shared/corpus/benign.dev.jsonl'));

// AWS's URL_DECODE: %XX to a byte, '+' to a space, malformed escapes kept.
const urlDecode = TEXT_TRANSFORMATIONS.URL_DECODE;

function readLines(rel: string): string[] {
  return readFileSync(resolve(repoRoot, rel), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map(utf8ToByteString);
}

interface Request {
  id: string;
  uri: string;
  body?: string;
}

function benignValues(): { values: string[]; owners: number[]; requests: number } {
  if (!existsSync(corpusPath)) {
    console.error(`benign corpus not found: ${corpusPath}`);
    process.exit(2);
  }
  const values: string[] = [];
  const owners: number[] = [];
  const lines = readFileSync(corpusPath, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0);
  lines.forEach((line, n) => {
    const r = JSON.parse(line) as Request;
    const raw = utf8ToByteString(r.uri);
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    values.push(urlDecode(path));
    owners.push(n);
    if (q >= 0) {
      for (const pair of raw.slice(q + 1).split('&')) {
        if (pair === '') continue;
        const eq = pair.indexOf('=');
        values.push(urlDecode(eq < 0 ? '' : pair.slice(eq + 1)));
        owners.push(n);
      }
    }
    if (r.body !== undefined) {
      values.push(urlDecode(utf8ToByteString(r.body)));
      owners.push(n);
    }
  });
  return { values, owners, requests: lines.length };
}

type Detector = (s: string) => boolean;
const detectors: Record<string, Detector> = {
  'SQLi LOW': (s) => detectSqli(s, 'LOW').matched,
  'SQLi HIGH': (s) => detectSqli(s, 'HIGH').matched,
  XSS: (s) => detectXss(s).matched,
};

function pct(n: number, d: number): string {
  return d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}% (${n}/${d})`;
}

function callsPerSecond(fn: Detector, inputs: string[]): number {
  const minMs = 400;
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (const s of inputs) fn(s);
    calls += inputs.length;
    elapsed = performance.now() - start;
  }
  return (calls / elapsed) * 1000;
}

const sqliPayloads = readLines('test/fixtures/payloads/sqli.txt');
const xssPayloads = readLines('test/fixtures/payloads/xss.txt');
const benign = benignValues();

const rows: string[][] = [];
for (const [name, fn] of Object.entries(detectors)) {
  const onSqli = sqliPayloads.filter(fn).length;
  const onXss = xssPayloads.filter(fn).length;
  const flaggedRequests = new Set<number>();
  let flaggedValues = 0;
  benign.values.forEach((v, i) => {
    if (fn(v)) {
      flaggedValues++;
      flaggedRequests.add(benign.owners[i]!);
    }
  });
  const mixed = [...sqliPayloads, ...xssPayloads, ...benign.values];
  const cps = callsPerSecond(fn, mixed);
  rows.push([
    name,
    pct(onSqli, sqliPayloads.length),
    pct(onXss, xssPayloads.length),
    pct(flaggedValues, benign.values.length),
    pct(flaggedRequests.size, benign.requests),
    Math.round(cps).toLocaleString('en-US'),
  ]);
}

const header = [
  'detector',
  'sqli.txt detected',
  'xss.txt detected',
  'benign values flagged',
  'benign requests flagged',
  'calls/s',
];
const table = [header, header.map(() => '---'), ...rows];
console.log(`benign corpus: ${corpusPath} (${benign.requests} requests, ${benign.values.length} values)\n`);
for (const row of table) console.log(`| ${row.join(' | ')} |`);

if (process.env.DETECT_BENCH_VERBOSE) {
  const show = (title: string, list: string[]): void => {
    console.log(`\n${title} (${list.length})`);
    for (const s of list.slice(0, 60)) console.log('  ' + JSON.stringify(s.slice(0, 160)));
  };
  show(
    'sqli payloads missed by LOW',
    sqliPayloads.filter((s) => !detectSqli(s).matched),
  );
  show(
    'sqli payloads caught by HIGH only',
    sqliPayloads.filter((s) => !detectSqli(s).matched && detectSqli(s, 'HIGH').matched),
  );
  show(
    'xss payloads missed',
    xssPayloads.filter((s) => !detectXss(s).matched),
  );
  show(
    'benign values flagged by SQLi LOW',
    benign.values.filter((s) => detectSqli(s).matched),
  );
  show(
    'benign values flagged by SQLi HIGH only',
    benign.values.filter((s) => !detectSqli(s).matched && detectSqli(s, 'HIGH').matched),
  );
  show(
    'benign values flagged by XSS',
    benign.values.filter((s) => detectXss(s).matched),
  );
}
