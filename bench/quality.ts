// npm run bench:quality — how good the generated rules are, over a corpus of CVEs with real exploit
// requests (default ../shared/corpus, the project's yardstick; `--corpus DIR` scores another set in
// the same format, e.g. a held-out one).
//
//   evidence mode:    the generator gets the CVE record and the CVE's FIRST exploit request; the rule
//                     is scored on all the CVE's exploit requests (the unseen ones are counted apart)
//                     and on evasion variants of all of them;
//   description mode: the generator gets the CVE record only; scored the same way.
//
// Leave-one-out (the default): the engine may not use anything wafgen bundles about the CVE being
// scored — not its bundled record, not its hand-written exploit facts, not its bundled exploit
// requests. The record is the corpus's own (title, description, CWE, vendor, product, tags), so the
// figure measures generalisation, not memory. `--with-bundled` measures what a user of a bundled
// CVE gets instead (bundled facts and exploits added).
//
// Every rule is also run against the corpus's benign requests, which the generator never sees
// (inside its loop it checks the built-in benign corpus, data/benign.jsonl).
// In process: no CLI start per rule. Usage:
//   npm run bench:quality [-- --mode evidence|description] [--with-bundled] [--set corpus|bundled] [--cve CVE-…] [--corpus DIR] [--verbose]
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// The generator is driven through the public API (`import { generateRule } from 'wafgen'`), as an
// outside tool would; the scoring uses the evaluator directly (the yardstick stays independent).
import { generateRule, type HttpRequestInput, type VulnRecordInput } from '../src/index.js';
import { compileDocument, isCaught } from '../src/evaluator/index.js';
import { readAllRequests } from '../src/requests/index.js';
import type { HttpRequest } from '../src/requests/model.js';
import { loadBenignSample } from '../src/generation/benign.js';
import { deriveAllVariants } from '../src/generation/loop.js';
import { BUNDLED_EXPLOITS_FILE, loadBundled } from '../src/vulns/bundled.js';

const { values: opts } = parseArgs({
  options: {
    corpus: { type: 'string', default: resolve(fileURLToPath(import.meta.url), '../../../shared/corpus') },
    mode: { type: 'string' },
    cve: { type: 'string' },
    'with-bundled': { type: 'boolean', default: false },
    set: { type: 'string', default: 'corpus' },
    verbose: { type: 'boolean', default: false },
  },
});
const MODES = (opts.mode ? [opts.mode] : ['evidence', 'description']) as ('evidence' | 'description')[];
if (MODES.some((m) => m !== 'evidence' && m !== 'description'))
  throw new Error('--mode must be evidence or description');
const leaveOneOut = !opts['with-bundled'];

// The issue's targets for leave-one-out on the dev corpus.
const TARGETS = {
  evidence: 0.97,
  description: 0.75,
  variants: 0.95,
  benignPer3000: 1,
  medianWcu: 200,
};

function corpusRecord(line: string): VulnRecordInput & { id: string } {
  const c = JSON.parse(line) as Record<string, unknown>;
  return {
    id: c.cve,
    title: c.name,
    description: c.description ?? '',
    cwes: c.cwe ? [c.cwe] : [],
    ...(typeof c.cvss_score === 'number' ? { cvss: { score: c.cvss_score } } : {}),
    severity: c.severity ?? 'unknown',
    ...(c.vendor ? { vendor: c.vendor } : {}),
    ...(c.product ? { product: c.product } : {}),
    references: c.references ?? [],
    tags: c.tags ?? [],
    source: 'corpus',
    fetchedAt: new Date(0).toISOString(),
  } as VulnRecordInput & { id: string };
}

interface Row {
  cve: string;
  mode: 'evidence' | 'description';
  exploits: [number, number];
  unseen: [number, number];
  variants: [number, number];
  benign: string[];
  wcu: number;
  ms: number;
  verdictPassed: boolean;
  strategy: string;
  attackClass: string;
}

const pct = (a: number, b: number): string => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`);
const n = (x: number): string => x.toLocaleString('en-US');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};

async function main(): Promise<void> {
  const started = performance.now();
  const corpus = resolve(opts.corpus!);
  // A corpus directory holds cves, exploits and benign JSONL files (`*.dev.jsonl` in shared/corpus).
  const file = (name: string) =>
    [`${name}.jsonl`, `${name}.dev.jsonl`].map((f) => resolve(corpus, f)).find((f) => existsSync(f)) ??
    resolve(corpus, `${name}.dev.jsonl`);
  // `--set bundled`: wafgen's own 103 CVEs scored on their bundled exploit requests (Metasploit, PoCs,
  // nuclei), leave-one-out, with the record's public fields only (title, description, CWE, product…,
  // written in wafgen's words) and the corpus's benign requests. A second, differently sourced measure.
  const bundledSet = opts.set === 'bundled';
  if (bundledSet && !leaveOneOut) throw new Error('--set bundled is leave-one-out only');
  const exploitsFile = bundledSet ? BUNDLED_EXPLOITS_FILE : file('exploits');
  const records = bundledSet
    ? loadBundled().map(({ exploit: _facts, ...rest }) => rest as VulnRecordInput & { id: string })
    : readFileSync(file('cves'), 'utf8').split('\n').filter(Boolean).map(corpusRecord);
  const exploits = (await readAllRequests(exploitsFile)).requests;
  // The same requests as the test-case objects the public API takes.
  const raw = new Map<string, HttpRequestInput>(
    readFileSync(exploitsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as HttpRequestInput)
      .map((r) => [r.id!, r]),
  );
  const benignCorpus = (await readAllRequests(file('benign'))).requests;
  const benignSample = await loadBenignSample();
  const rows: Row[] = [];

  for (const corpusRec of records) {
    if (opts.cve && corpusRec.id.toUpperCase() !== opts.cve.toUpperCase()) continue;
    const mine = exploits
      .filter((r) => r.cve === corpusRec.id)
      .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    if (mine.length === 0) continue;
    const variantsOfAll = deriveAllVariants(mine, 12);
    for (const mode of MODES) {
      const train = mode === 'evidence' ? [mine[0]!] : [];
      const t = performance.now();
      // Leave-one-out: the corpus record, nothing bundled. With bundled: the CVE ID alone, so the
      // bundled record, facts and exploit requests are used (plus the training request).
      const result = await generateRule(leaveOneOut ? corpusRec : corpusRec.id, {
        exploits: train.map((r) => raw.get(r.id)!),
        withholdBundled: leaveOneOut,
      });
      const ms = performance.now() - t;
      const compiled = compileDocument({ kind: 'rule', rule: result.rule }, { trace: false });
      const caught = (r: HttpRequest) => isCaught('rule', compiled.evaluate(r));
      const unseen = mine.filter((r) => !train.includes(r));
      rows.push({
        cve: corpusRec.id,
        mode,
        exploits: [mine.filter(caught).length, mine.length],
        unseen: [unseen.filter(caught).length, unseen.length],
        variants: [variantsOfAll.filter(caught).length, variantsOfAll.length],
        benign: benignCorpus.filter(caught).map((r) => r.id),
        wcu: result.report.wcu,
        ms,
        verdictPassed: result.report.passed,
        strategy: result.report.strategy ?? '',
        attackClass: result.report.attackClass ?? '',
      });
      if (opts.verbose)
        console.error(
          corpusRec.id,
          mode,
          result.report.attackClass,
          result.report.strategy,
          JSON.stringify(result.report.notes),
          result.report.reasons.join(' | '),
        );
    }
  }

  console.log(
    `# bench:quality — builtin engine, ${leaveOneOut ? 'leave-one-out (nothing bundled about the scored CVE)' : 'with the bundled record, facts and exploits'}`,
  );
  console.log(
    `${bundledSet ? `bundled set (${BUNDLED_EXPLOITS_FILE}), benign from ${corpus}` : `corpus ${corpus}`}: ${n(records.length)} CVEs, ${n(exploits.length)} exploit requests, ${n(benignCorpus.length)} benign requests; ` +
      `the generator's own benign corpus: ${n(benignSample.length)} requests`,
  );
  const summary: string[] = [];
  for (const mode of MODES) {
    const mine = rows.filter((r) => r.mode === mode);
    if (mine.length === 0) continue;
    if (opts.verbose || opts.cve) {
      console.log(`\n## ${mode} mode\n`);
      console.log(
        '| CVE | class | exploit requests | unseen | variants | benign blocked | WCU | ms | strategy |',
      );
      console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
      for (const r of mine)
        console.log(
          `| ${r.cve} | ${r.attackClass} | ${r.exploits[0]}/${r.exploits[1]} | ${r.unseen[0]}/${r.unseen[1]} | ${r.variants[0]}/${r.variants[1]} | ${r.benign.length} | ${r.wcu} | ${r.ms.toFixed(0)} | ${r.strategy} |`,
        );
    }
    const sum = (f: (r: Row) => number) => mine.reduce((a, r) => a + f(r), 0);
    const full = mine.filter((r) => r.exploits[0] === r.exploits[1]).length;
    const benignUnion = new Set(mine.flatMap((r) => r.benign)).size;
    const missed = mine.filter((r) => r.exploits[0] < r.exploits[1]).map((r) => r.cve);
    const row = {
      full,
      cves: mine.length,
      ex: [sum((r) => r.exploits[0]), sum((r) => r.exploits[1])],
      un: [sum((r) => r.unseen[0]), sum((r) => r.unseen[1])],
      va: [sum((r) => r.variants[0]), sum((r) => r.variants[1])],
      benignUnion,
      benignSum: sum((r) => r.benign.length),
      fpRules: mine.filter((r) => r.benign.length > 0).length,
      wcu: median(mine.map((r) => r.wcu)),
      ms: median(mine.map((r) => r.ms)),
    };
    const target = TARGETS[mode];
    const per3000 = (3000 * benignUnion) / benignCorpus.length;
    const ok = (b: boolean) => (b ? 'yes' : 'NO');
    summary.push(
      `| ${mode} | ${row.full}/${row.cves} (${pct(row.full, row.cves)}) | ${n(row.ex[0]!)}/${n(row.ex[1]!)} | ${n(row.un[0]!)}/${n(row.un[1]!)} | ` +
        `${n(row.va[0]!)}/${n(row.va[1]!)} (${pct(row.va[0]!, row.va[1]!)}) | ${row.benignUnion} (${row.benignSum} hits, ${row.fpRules} rules) | ${row.wcu} | ${row.ms.toFixed(0)} | ` +
        `${ok(row.full / row.cves >= target)} / ${ok(row.va[0]! / row.va[1]! >= TARGETS.variants)} / ${ok(per3000 <= TARGETS.benignPer3000)} / ${ok(row.wcu <= TARGETS.medianWcu)} |`,
    );
    if (missed.length > 0) summary.push(`|  | not fully blocked: ${missed.join(', ')} | | | | | | | |`);
  }
  console.log(
    `\n| mode | CVEs fully blocked | exploit requests | unseen requests | variants | benign blocked (distinct) | median WCU | median ms/rule | targets: CVEs ≥ ${TARGETS.evidence * 100}% (evidence) / ${TARGETS.description * 100}% (description), variants ≥ ${TARGETS.variants * 100}%, benign ≤ ${TARGETS.benignPer3000} per 3,000, WCU ≤ ${TARGETS.medianWcu} |`,
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const line of summary) console.log(line);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await main();
