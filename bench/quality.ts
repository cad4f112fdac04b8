// npm run bench:quality — how good the generated rules are, over ../shared/corpus.
//   evidence mode:    the generator gets half of each CVE's exploit requests (every other one); the
//                     rule is tested on the other half and on evasion variants of all of them;
//   description mode: the generator gets the CVE record only; tested on all its exploit requests
//                     and their variants.
// In both, every rule is also run against the ~3,000 benign corpus requests, which the generator
// never sees (inside the loop it checks against its own built-in benign sample).
// Usage: npm run bench:quality [-- --engine builtin|llm] [--cve CVE-...] [--verbose]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { compileDocument, isCaught } from '../src/evaluator/index.js';
import { readAllRequests } from '../src/requests/index.js';
import type { HttpRequest } from '../src/requests/model.js';
import { loadBenignSample } from '../src/generation/benign.js';
import { BuiltinEngine } from '../src/generation/builtin/index.js';
import { mergeFacts } from '../src/generation/facts.js';
import { deriveAllVariants, runGeneration } from '../src/generation/loop.js';
import type { GenerationResult } from '../src/generation/types.js';
import { VulnRecordSchema, type VulnRecord } from '../src/vulns/model.js';

const corpus = resolve(fileURLToPath(import.meta.url), '../../../shared/corpus');
const args = process.argv.slice(2);
const only = args.includes('--cve') ? args[args.indexOf('--cve') + 1] : undefined;
const verbose = args.includes('--verbose');

function corpusRecord(line: string): VulnRecord {
  const c = JSON.parse(line) as Record<string, unknown>;
  return VulnRecordSchema.parse({
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
  });
}

interface Row {
  cve: string;
  mode: 'evidence' | 'description';
  heldOut: [number, number];
  variants: [number, number];
  benign: number;
  wcu: number;
  ms: number;
  passed: boolean;
  strategy: string;
}

const pct = (a: number, b: number): string =>
  b === 0 ? '   -  ' : `${((100 * a) / b).toFixed(1).padStart(5)}%`;

async function main(): Promise<void> {
  const records = readFileSync(resolve(corpus, 'cves.dev.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(corpusRecord);
  const exploits = (await readAllRequests(resolve(corpus, 'exploits.dev.jsonl'))).requests;
  const benignCorpus = (await readAllRequests(resolve(corpus, 'benign.dev.jsonl'))).requests;
  const benignSample = await loadBenignSample();
  const engine = new BuiltinEngine();
  const rows: Row[] = [];

  const measure = (result: GenerationResult, test: HttpRequest[], variants: HttpRequest[]) => {
    const compiled = compileDocument({ kind: 'rule', rule: result.rule }, { trace: false });
    const caught = (r: HttpRequest) => isCaught('rule', compiled.evaluate(r));
    return {
      heldOut: [test.filter(caught).length, test.length] as [number, number],
      variants: [variants.filter(caught).length, variants.length] as [number, number],
      benign: benignCorpus.filter(caught).length,
    };
  };

  for (const record of records) {
    if (only && record.id !== only) continue;
    const mine = exploits
      .filter((r) => r.cve === record.id)
      .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    if (mine.length === 0) continue;
    const variantsOfAll = deriveAllVariants(mine, 12);
    // Evidence mode: every other request to the generator, the rest held back.
    const train = mine.filter((_, i) => i % 2 === 0);
    const test = mine.filter((_, i) => i % 2 === 1);
    for (const mode of ['evidence', 'description'] as const) {
      const t = performance.now();
      const result = await runGeneration(
        {
          record,
          exploits: mode === 'evidence' ? train : [],
          facts: mergeFacts(record),
          benign: benignSample,
          evidenceSources: [],
        },
        engine,
      );
      const ms = performance.now() - t;
      const m = measure(result, mode === 'evidence' ? test : mine, variantsOfAll);
      rows.push({
        cve: record.id,
        mode,
        ...m,
        wcu: result.report.wcu,
        ms,
        passed: result.report.passed,
        strategy: result.report.strategy ?? '',
      });
      if (verbose)
        console.error(
          record.id,
          mode,
          result.report.strategy,
          JSON.stringify(result.report.notes),
          result.report.reasons.join(' | '),
        );
    }
  }

  for (const mode of ['evidence', 'description'] as const) {
    const mine = rows.filter((r) => r.mode === mode);
    console.log(`\n## ${mode} mode (builtin engine)\n`);
    console.log('| CVE | held-out blocked | variants blocked | benign blocked | WCU | ms | strategy |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const r of mine) {
      console.log(
        `| ${r.cve} | ${r.heldOut[0]}/${r.heldOut[1]} | ${r.variants[0]}/${r.variants[1]} | ${r.benign} | ${r.wcu} | ${r.ms.toFixed(0)} | ${r.strategy} |`,
      );
    }
    const sum = (f: (r: Row) => number) => mine.reduce((a, r) => a + f(r), 0);
    const held = [sum((r) => r.heldOut[0]), sum((r) => r.heldOut[1])] as const;
    const vars = [sum((r) => r.variants[0]), sum((r) => r.variants[1])] as const;
    const benignTotal = sum((r) => r.benign);
    const rulesWithFp = mine.filter((r) => r.benign > 0).length;
    console.log(
      `\n**${mode} total** — CVEs ${mine.length}; ${mode === 'evidence' ? 'held-out' : 'exploit'} requests blocked ${held[0]}/${held[1]} (${pct(held[0], held[1]).trim()}); ` +
        `variants blocked ${vars[0]}/${vars[1]} (${pct(vars[0], vars[1]).trim()}); benign requests blocked ${benignTotal} (by ${rulesWithFp} rules, of ${benignCorpus.length} benign x ${mine.length} rules); ` +
        `median WCU ${median(mine.map((r) => r.wcu))}; median ms/rule ${median(mine.map((r) => r.ms)).toFixed(0)}`,
    );
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};

await main();
