// Linearity of the parts that read hostile text: each case is timed at size n and 4n, and the
// table prints the growth ratio t(4n)/t(n) — about 4 for linear work, 16 for quadratic. Unit tests
// check these inputs give the right answer; how fast they run is measured here, not asserted there.
//
//   npm run bench:linearity [-- --n 50000 --runs 5]
//
// Every case is the median of --runs runs, after one warm-up run at each size.
import { parseArgs } from 'node:util';

import { detectSqli, detectXss } from '../src/evaluator/detect/index.js';
import { compileDocument } from '../src/evaluator/index.js';
import { extractFacts } from '../src/evidence/extract.js';
import { htmlToText, parseDepth } from '../src/evidence/html-text.js';
import { buildRequest } from '../src/requests/model.js';
import { parseRawHttp } from '../src/requests/raw-http.js';
import { statementCapacity } from '../src/waf/capacity.js';
import type { Rule, Statement } from '../src/waf/model/shapes.generated.js';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '50000' }, runs: { type: 'string', default: '5' } },
});
const N = Number(values.n);
const RUNS = Number(values.runs);

const rule = (Statement: Statement): Rule => ({
  Name: 'r',
  Priority: 0,
  Statement,
  Action: { Block: {} },
  VisibilityConfig: { SampledRequestsEnabled: false, CloudWatchMetricsEnabled: false, MetricName: 'r' },
});

/** A case: builds its input for a size, and the work to time on it. */
interface Case {
  name: string;
  run: (n: number) => () => unknown;
}

const detector = (name: string, make: (n: number) => string): Case => ({
  name: `detect SQLi HIGH + XSS: ${name}`,
  run: (n) => {
    const s = make(n);
    return () => [detectSqli(s, 'HIGH'), detectXss(s)];
  },
});

const catastrophic = compileDocument(
  {
    kind: 'rule',
    rule: rule({
      RegexMatchStatement: {
        RegexString: '(?:a+)+$',
        FieldToMatch: { QueryString: {} },
        TextTransformations: [{ Priority: 0, Type: 'NONE' }],
      },
    }),
  },
  { trace: false },
);

const text = (name: string, make: (n: number) => string, work: (s: string) => unknown): Case => ({
  name,
  run: (n) => {
    const s = make(n);
    return () => work(s);
  },
});

const CASES: Case[] = [
  detector(`"'" + "\\\\'" × n`, (n) => "'" + "\\'".repeat(n)),
  detector(`"'" + "''" × n`, (n) => "'" + "''".repeat(n)),
  detector('"/*" × n', (n) => '/*'.repeat(n)),
  detector('"$a$ " × n', (n) => '$a$ '.repeat(n)),
  detector('"1+" × n', (n) => '1+'.repeat(n)),
  detector('"(" × n', (n) => '('.repeat(n)),
  detector('"<a " × n', (n) => '<a '.repeat(n)),
  detector('"<a /" × n', (n) => '<a /'.repeat(n)),
  detector('"<!--" + "-" × n', (n) => '<!--' + '-'.repeat(n)),
  detector('"<%" + "%" × n', (n) => '<%' + '%'.repeat(n)),
  detector('\'<a b="\' + "&#" × n', (n) => '<a b="' + '&#'.repeat(n)),
  detector('" " × n + "1 OR 1=1"', (n) => ' '.repeat(n) + '1 OR 1=1'),
  {
    name: 'evaluator: (?:a+)+$ on "a" × n + "!"',
    run: (n) => {
      const r = buildRequest({ id: 'x', method: 'GET', uri: '/?q=' + 'a'.repeat(n) + '!', headers: [] });
      return () => catastrophic.evaluate(r);
    },
  },
  {
    name: 'raw HTTP: body lines of n spaces',
    run: (n) => {
      const body = 'GET ' + ' '.repeat(n) + 'x\n';
      const src = `POST /a HTTP/1.1\nHost: h\n\n${body}\n${body}`;
      return () => [...parseRawHttp(src, 'r.http')];
    },
  },
  text('HTML to text: "<div>" × n (flattened)', (n) => '<div>'.repeat(n) + 'deep', htmlToText),
  text('HTML to text: "<p><li>" × n', (n) => '<p><li>'.repeat(n) + 'x', htmlToText),
  text('HTML to text: deep page + "<a" × n', (n) => '<div>'.repeat(300) + '<a'.repeat(n), htmlToText),
  text(
    'HTML depth: "<span></div>" × n',
    (n) => '<span></div>'.repeat(n),
    (s) => parseDepth(s, 256),
  ),
  text('facts: "${" × n + "jndi:"', (n) => '${'.repeat(n) + 'jndi:', extractFacts),
  text('facts: "curl " + "\'a" × n', (n) => 'curl ' + "'a".repeat(n), extractFacts),
  text('facts: "http://target/" + "(" × n', (n) => 'http://target/' + '('.repeat(n), extractFacts),
  {
    name: 'capacity: n/10 nested NotStatements',
    run: (n) => {
      let s: Statement = {
        ByteMatchStatement: {
          SearchString: 'x',
          FieldToMatch: { UriPath: {} },
          PositionalConstraint: 'EXACTLY',
          TextTransformations: [{ Priority: 0, Type: 'NONE' }],
        },
      };
      for (let i = 0; i < n / 10; i++) s = { NotStatement: { Statement: s } };
      return () => statementCapacity(s);
    },
  },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(work: () => unknown): number {
  work(); // warm-up
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    work();
    runs.push(performance.now() - t);
  }
  return median(runs);
}

console.log(`n = ${N}, median of ${RUNS} runs; growth = t(4n) / t(n): ~4 linear, ~16 quadratic\n`);
const rows = CASES.map((c) => {
  const small = time(c.run(N));
  const large = time(c.run(4 * N));
  return {
    case: c.name,
    'ms(n)': small.toFixed(2),
    'ms(4n)': large.toFixed(2),
    growth: (large / small).toFixed(1),
  };
});
console.table(rows);
const worst = Math.max(...rows.map((r) => Number(r.growth)));
console.log(`worst growth ${worst.toFixed(1)} (aim: below 8, i.e. no worse than linear with noise)`);
