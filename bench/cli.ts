// npm run bench:cli [-- --runs N] — the `wafgen` command as a user meets it, whole processes:
//   * start-up: `wafgen --help`, `wafgen --version` and `wafgen validate` of a small rule, against
//     `node -e 0` (the floor: Node itself) in the same run, as ratios of CPU time;
//   * the first `wafgen generate CVE-2021-44228` in a new data directory (a fresh install's first
//     command: the embedded database is made then), and a warm one (the same directory again).
// Each process is measured by itself: a preload (`--import bench/cli-usage.mjs`) writes its
// process.resourceUsage() at exit (user + system CPU, peak RSS), so the figures are the process's own
// and no platform `time` command is needed; `node -e 0` gets the same preload. Runs alternate
// between commands so a drift in the machine's speed touches all of them alike. Prints medians,
// min–max, and each target beside its figure. Needs `npm run build` (it runs bin/wafgen.js).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const preload = resolve(root, 'bench/cli-usage.mjs');
const bin = resolve(root, 'bin/wafgen.js');
const rule = resolve(root, 'test/fixtures/rules/log4shell-rule.json');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1 || v > 50)
    throw new Error(`--${name} must be a whole number from 1 to 50`);
  return v;
}
const runs = arg('runs', 5);

interface Usage {
  wallMs: number;
  cpuMs: number;
  rssMiB: number;
  code: number | null;
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Usage> {
  const work = mkdtempSync(join(tmpdir(), 'wafgen-bench-cli-'));
  const out = join(work, 'usage.json');
  const started = performance.now();
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(process.execPath, ['--import', preload, ...args], {
      cwd: root,
      env: { ...process.env, ...env, WAFGEN_BENCH_USAGE_FILE: out },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    child.on('error', fail);
    child.on('exit', (c) => done(c));
  });
  const wallMs = performance.now() - started;
  try {
    const u = JSON.parse(readFileSync(out, 'utf8')) as {
      userCPUTime: number;
      systemCPUTime: number;
      maxRSS: number;
    };
    return { wallMs, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, rssMiB: u.maxRSS / 1024, code };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

interface Case {
  name: string;
  /** A new run's arguments and environment (a data directory per run when it needs one). */
  make(): { args: string[]; env?: NodeJS.ProcessEnv; cleanup?: () => void };
  /** Exit codes the command must end with (a failing command's timing means nothing). */
  ok: number[];
}

const offline = { WAFGEN_OFFLINE: '1' };
const warmDir = mkdtempSync(join(tmpdir(), 'wafgen-bench-warm-'));
const cases: Case[] = [
  { name: 'node -e 0 (baseline)', make: () => ({ args: ['-e', '0'] }), ok: [0] },
  { name: 'wafgen --help', make: () => ({ args: [bin, '--help'] }), ok: [0] },
  { name: 'wafgen --version', make: () => ({ args: [bin, '--version'] }), ok: [0] },
  { name: 'wafgen validate (one rule)', make: () => ({ args: [bin, 'validate', rule] }), ok: [0] },
  {
    name: 'wafgen generate, first run',
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), 'wafgen-bench-first-'));
      return {
        args: [bin, 'generate', 'CVE-2021-44228'],
        env: { ...offline, WAFGEN_DATA_DIR: dir },
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
    ok: [0],
  },
  {
    name: 'wafgen generate, warm',
    make: () => ({
      args: [bin, 'generate', 'CVE-2021-44228'],
      env: { ...offline, WAFGEN_DATA_DIR: warmDir },
    }),
    ok: [0],
  },
];

const results = new Map<string, Usage[]>(cases.map((c) => [c.name, []]));
try {
  // One run of each first, not counted: files in the page cache, the warm data directory made.
  for (const c of cases) {
    const { args, env, cleanup } = c.make();
    const u = await run(args, env);
    cleanup?.();
    if (!c.ok.includes(u.code ?? -1))
      throw new Error(`${c.name} exited ${u.code}: run it by hand to see why`);
  }
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      const { args, env, cleanup } = c.make();
      const u = await run(args, env);
      cleanup?.();
      if (!c.ok.includes(u.code ?? -1)) throw new Error(`${c.name} exited ${u.code}`);
      results.get(c.name)!.push(u);
    }
    process.stderr.write(`  run ${i + 1}/${runs}\n`);
  }
} finally {
  rmSync(warmDir, { recursive: true, force: true });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const range = (xs: number[], d = 0): string => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;
const base = results.get(cases[0]!.name)!;
const baseCpu = median(base.map((u) => u.cpuMs));

// Targets of issue 13 (2-core machine): start-up CPU as a ratio to Node itself; generate in wall
// time and peak memory.
const targets: Record<string, { text: string; met: (u: Usage[]) => boolean }> = {
  'wafgen --help': {
    text: 'CPU ≤ 3× node -e 0',
    met: (u) => median(u.map((x) => x.cpuMs)) <= 3 * baseCpu,
  },
  'wafgen generate, first run': {
    text: '≤ 3 s wall, ≤ 200 MiB',
    met: (u) => median(u.map((x) => x.wallMs)) <= 3000 && Math.max(...u.map((x) => x.rssMiB)) <= 200,
  },
  'wafgen generate, warm': {
    text: '≤ 1 s wall',
    met: (u) => median(u.map((x) => x.wallMs)) <= 1000,
  },
};

const lines = [
  `bench:cli — whole processes, ${runs} counted runs each after one warm-up, alternating; Node ${process.version}`,
  '',
  '| command | wall ms median (range) | CPU ms median (range) | CPU / node -e 0 | peak RSS MiB (max) | target | met |',
  '| --- | ---: | ---: | ---: | ---: | --- | --- |',
];
for (const c of cases) {
  const u = results.get(c.name)!;
  const cpu = median(u.map((x) => x.cpuMs));
  const t = targets[c.name];
  lines.push(
    `| ${c.name} | ${median(u.map((x) => x.wallMs)).toFixed(0)} (${range(u.map((x) => x.wallMs))}) | ${cpu.toFixed(0)} (${range(u.map((x) => x.cpuMs))}) | ${(cpu / baseCpu).toFixed(2)}× | ${Math.max(...u.map((x) => x.rssMiB)).toFixed(0)} | ${t?.text ?? ''} | ${t ? (t.met(u) ? 'yes' : 'no') : ''} |`,
  );
}
console.log(lines.join('\n'));
writeFileSync(join(tmpdir(), 'wafgen-bench-cli.md'), lines.join('\n') + '\n');
