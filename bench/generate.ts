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
// --profile cpu|alloc, after the figures: two more passes over the same CVEs under V8's CPU profiler
// (shares of the CPU by function: self, and inclusive for wafgen's own functions) or its sampling
// heap profiler with collected objects counted (what each function allocates a rule), the top 20 of
// each; how the README's profile shares were measured.
//
// Usage: npm run bench:generate [-- --cve CVE-…] [--verbose] [--profile cpu|alloc]
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    cve: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
});

if (opts.profile !== undefined && opts.profile !== 'cpu' && opts.profile !== 'alloc')
  throw new Error('--profile takes cpu or alloc');

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
  if (opts.profile) {
    const twice = async (): Promise<void> => {
      for (let pass = 0; pass < 2; pass++)
        for (const record of records) await library.generateRule(record.id);
    };
    await profile(opts.profile, twice, records.length * 2);
  }
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

interface CallFrame {
  functionName: string;
  url: string;
}
const frameName = (f: CallFrame): string =>
  // No line numbers: under tsx every function of a file reports line 0.
  `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*?\/(src|node_modules)\//, '$1/')}`;
const top = (m: Map<string, number>, n = 20): [string, number][] =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n);

/** Runs `work` (`rules` generations) under V8's CPU or sampling heap profiler and prints the top functions. */
async function profile(kind: string, work: () => Promise<void>, rules: number): Promise<void> {
  const session = new Session();
  session.connect();
  try {
    if (kind === 'alloc') {
      await session.post('HeapProfiler.enable');
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      await work();
      const { profile } = await session.post('HeapProfiler.stopSampling');
      interface Node {
        callFrame: CallFrame;
        selfSize: number;
        children: Node[];
      }
      const self = new Map<string, number>();
      let total = 0;
      const walk = (node: Node): void => {
        const k = frameName(node.callFrame);
        self.set(k, (self.get(k) ?? 0) + node.selfSize);
        total += node.selfSize;
        for (const c of node.children) walk(c);
      };
      walk(profile.head as Node);
      console.log(
        `\n## allocation profile: ${rules} generations, ${(total / rules / 1e6).toFixed(2)} MB a rule (sampled, collected objects included)\n`,
      );
      console.log('| KB a rule | function (self) |\n| ---: | --- |');
      for (const [k, v] of top(self)) console.log(`| ${(v / rules / 1e3).toFixed(1)} | ${k} |`);
      return;
    }
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    await work();
    const { profile } = await session.post('Profiler.stop');
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const self = new Map<string, number>();
    const inclusive = new Map<string, number>();
    const samples = profile.samples ?? [];
    for (const id of samples) {
      const k = frameName(nodes.get(id)!.callFrame);
      self.set(k, (self.get(k) ?? 0) + 1);
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const frame = nodes.get(at)!.callFrame;
        const name = frameName(frame);
        if (!frame.url.includes('/src/') || seen.has(name)) continue;
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
      }
    }
    const pct = (v: number) => `${((100 * v) / samples.length).toFixed(1)}%`;
    console.log(`\n## CPU profile: ${rules} generations, ${samples.length} samples of 200 µs\n`);
    console.log('| share | function (self) |\n| ---: | --- |');
    for (const [k, v] of top(self)) console.log(`| ${pct(v)} | ${k} |`);
    console.log('\n| share | wafgen function (inclusive) |\n| ---: | --- |');
    for (const [k, v] of top(inclusive, 40)) console.log(`| ${pct(v)} | ${k} |`);
  } finally {
    session.disconnect();
  }
}

await main();
