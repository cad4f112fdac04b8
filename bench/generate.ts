// npm run bench:generate — what generating one rule costs, in CPU, with the built-in engine.
//
// In one process, through the public API (`generateRule` from src/index.ts: builtin engine, no
// store, offline), a rule for each of the 103 bundled CVEs, with their bundled exploit requests as
// evidence (what `wafgen generate CVE-…` does). Each generation is timed with process.cpuUsage()
// deltas (user + system, every thread of the process: GC included) and with the wall clock.
//
// Printed:
//   * per rule: median / p90 / max CPU ms and median wall ms, the first generation apart (it pays
//     the per-process warm-up: JIT, the benign corpus's leaf cache, module loading of the engine);
//   * the one-off per-process cost of loading the built-in benign corpus (data/benign.jsonl: read,
//     JSON-parse, validate, build the request model), measured on the first load as a process pays it;
//   * a baseline in the same run: evaluating the final rule once, freshly compiled, over the same
//     benign + exploit + variant requests — the cost of one check pass, which a generation cannot go
//     below by much — so "generation / one check pass" is a ratio that holds across machines;
//   * the verdicts (proven / failed / untested), so a speed change that costs quality shows.
//
// Usage: npm run bench:generate [-- --cve CVE-…] [--verbose]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    cve: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

interface Cpu {
  cpu: number;
  wall: number;
}
/** CPU (user + system) and wall milliseconds of `f`. */
async function timed<T>(f: () => Promise<T> | T): Promise<Cpu & { value: T }> {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const value = await f();
  const wall = performance.now() - w0;
  const c = process.cpuUsage(c0);
  return { value, cpu: (c.user + c.system) / 1000, wall };
}

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
const pick = (xs: readonly number[], p: number): number => {
  const s = sorted(xs);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const median = (xs: readonly number[]) => pick(xs, 0.5);
const ms = (x: number) => x.toFixed(1);

async function main(): Promise<void> {
  const started = performance.now();
  // Module loading is a per-process cost too (the library imports the generation machinery lazily,
  // on the first generateRule: that part lands in the first generation).
  const imported = await timed(async () => {
    const library = await import('../src/index.js');
    const benign = await import('../src/generation/benign.js');
    const loop = await import('../src/generation/loop.js');
    const bundled = await import('../src/vulns/bundled.js');
    const evaluator = await import('../src/evaluator/index.js');
    return { library, benign, loop, bundled, evaluator };
  });
  const { library, benign, loop, bundled, evaluator } = imported.value;

  // The built-in benign corpus, first load: what every process pays once (generateRule uses this
  // same cached array).
  const corpus = await timed(() => benign.loadBenignSample());
  const benignRequests = corpus.value;
  // Its parts, measured again afterwards (JIT warm, so a lower bound): reading the file, and
  // JSON.parse of every line; the rest of the first load is validation and the request model.
  const read = await timed(() => readFileSync(new URL('../data/benign.jsonl', import.meta.url), 'utf8'));
  const parsed = await timed(() =>
    read.value
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as unknown),
  );

  const records = bundled.loadBundled().filter((r) => !opts.cve || r.id === opts.cve.toUpperCase());
  const gens: (Cpu & { cve: string; verdict: string })[] = [];
  const checks: Cpu[] = [];
  for (const record of records) {
    const g = await timed(() => library.generateRule(record.id));
    const { report, rule } = g.value;
    gens.push({ cve: record.id, cpu: g.cpu, wall: g.wall, verdict: report.verdict });

    // Baseline: one check pass of the final rule, freshly compiled, over the requests the loop checked.
    const exploits = await bundled.bundledExploits(record.id);
    const requests = [...benignRequests, ...exploits, ...loop.deriveAllVariants(exploits, 12)];
    const c = await timed(() => {
      const compiled = evaluator.compileDocument({ kind: 'rule', rule }, { trace: false });
      let blocked = 0;
      for (const r of requests) if (evaluator.isCaught('rule', compiled.evaluate(r))) blocked++;
      return blocked;
    });
    checks.push({ cpu: c.cpu, wall: c.wall });
    if (opts.verbose)
      console.error(
        `${record.id} ${report.verdict} ${report.strategy} gen ${ms(g.cpu)} ms cpu / ${ms(g.wall)} ms wall; check pass ${ms(c.cpu)} ms cpu`,
      );
  }
  if (gens.length === 0) throw new Error(`no bundled CVE ${opts.cve ?? ''}`);

  const [first, ...rest] = gens;
  const steady = rest.length > 0 ? rest : gens;
  const cpu = steady.map((g) => g.cpu);
  const checkCpu = checks.slice(gens.length > 1 ? 1 : 0).map((c) => c.cpu);
  const ratios = steady.map((g, i) => g.cpu / checks[gens.length > 1 ? i + 1 : i]!.cpu);
  const verdicts = new Map<string, number>();
  for (const g of gens) verdicts.set(g.verdict, (verdicts.get(g.verdict) ?? 0) + 1);

  console.log('# bench:generate — builtin engine, bundled CVEs with their bundled exploits, one process\n');
  console.log(
    `${gens.length} rules; ${benignRequests.length.toLocaleString('en-US')} benign requests; node ${process.version}; ` +
      `verdicts: ${['proven', 'failed', 'untested'].map((v) => `${v} ${verdicts.get(v) ?? 0}`).join(', ')}\n`,
  );
  console.log(
    '| rules | CPU ms/rule median | p90 | max | wall ms/rule median | one check pass CPU ms (median) | generation / one check pass (median of per-rule ratios) |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(
    `| ${steady.length} (after the first) | ${ms(median(cpu))} | ${ms(pick(cpu, 0.9))} | ${ms(Math.max(...cpu))} | ${ms(median(steady.map((g) => g.wall)))} | ${ms(median(checkCpu))} | ${median(ratios).toFixed(2)}x |`,
  );
  console.log('\n| one-off, per process | CPU ms | wall ms |');
  console.log('| --- | ---: | ---: |');
  console.log(
    `| importing the library and the bench's modules | ${ms(imported.cpu)} | ${ms(imported.wall)} |`,
  );
  console.log(
    `| loading the built-in benign corpus (first load: read, parse, validate, request model) | ${ms(corpus.cpu)} | ${ms(corpus.wall)} |`,
  );
  console.log(`|   of which reading the file (measured again, warm) | ${ms(read.cpu)} | ${ms(read.wall)} |`);
  console.log(
    `|   of which JSON.parse of every line (measured again, warm) | ${ms(parsed.cpu)} | ${ms(parsed.wall)} |`,
  );
  console.log(
    `| first generation (${first!.cve}; includes loading the engine and warming the benign leaf cache) | ${ms(first!.cpu)} | ${ms(first!.wall)} |`,
  );
  console.log(
    `| the rest, median (for comparison) | ${ms(median(cpu))} | ${ms(median(steady.map((g) => g.wall)))} |`,
  );
  const failed = gens.filter((g) => g.verdict !== 'proven').map((g) => `${g.cve} (${g.verdict})`);
  if (failed.length > 0) console.log(`\nnot proven: ${failed.join(', ')}`);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await main();
