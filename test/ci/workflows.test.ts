// The GitHub files cannot run here, so they are checked: every workflow is parsed and converted by
// GitHub's own workflow parser (@actions/workflow-parser, the schema the Actions service and the
// VS Code extension use), then held to what the roadmap asks of it: the deploy jobs run on main only,
// after the tests, with credentials from secrets; the security workflow audits dependencies and
// runs CodeQL; actions are pinned to a release. dependabot.yml is checked against its documented
// shape, and the lockfile check .ci/run runs is shown to fail on a tampered lockfile.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { register } from 'node:module';

import type { WorkflowTemplate } from '@actions/workflow-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { REPO_ROOT } from '../support/shared.js';

// @actions/workflow-parser imports its schema JSON without `with { type: 'json' }`, which bundlers
// accept and Node 20 refuses (ERR_IMPORT_ASSERTION_TYPE_MISSING); vitest loads node_modules with
// Node itself. A load hook adds the attribute to JSON imports for this test process.
register(
  'data:text/javascript,' +
    encodeURIComponent(
      "export async function load(url, context, next) { return next(url, url.endsWith('.json') ? { ...context, importAttributes: { type: 'json' } } : context); }",
    ),
);
const { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } =
  await import('@actions/workflow-parser');

const DIR = resolve(REPO_ROOT, '.github/workflows');
const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));

async function check(
  name: string,
  content: string,
): Promise<{ errors: string[]; template?: WorkflowTemplate }> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (!parsed.value) return { errors };
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  return { errors: [...errors, ...(template.errors ?? []).map((e) => e.Message)], template };
}

interface RawStep {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface RawJob {
  needs?: string[];
  if?: string;
  permissions?: Record<string, string>;
  environment?: string;
  env?: Record<string, string>;
  steps: RawStep[];
}
const raw = (file: string) =>
  parse(readFileSync(join(DIR, file), 'utf8')) as {
    on: unknown;
    permissions?: unknown;
    jobs: Record<string, RawJob>;
  };

const checked = new Map<string, Awaited<ReturnType<typeof check>>>();
beforeAll(async () => {
  for (const f of files) checked.set(f, await check(f, readFileSync(join(DIR, f), 'utf8')));
});

describe('workflow files', () => {
  it('are ci.yml and security.yml', () => {
    expect(files.sort()).toEqual(['ci.yml', 'security.yml']);
  });

  it.each(files)('%s is valid for GitHub Actions (its own parser, no errors)', (file) => {
    const r = checked.get(file)!;
    expect(r.errors).toEqual([]);
    expect(r.template?.jobs.length).toBeGreaterThan(0);
  });

  it('the parser is not a rubber stamp: unknown keys, a missing job and bad expressions fail', async () => {
    const bad = await check(
      'bad.yml',
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n  b:\n    needs: [nope]\n    runs-on: ubuntu-latest\n    if: ${{ github.ref == }}\n    steps: [{ run: echo }]\n',
    );
    expect(bad.errors.length).toBeGreaterThanOrEqual(2);
    expect(bad.errors.join('\n')).toMatch(/stepz/);
  });

  it.each(files)('%s pins every action to a release or a commit, never a branch', (file) => {
    for (const job of Object.values(raw(file).jobs))
      for (const step of job.steps)
        if (step.uses) {
          const [action, ref] = step.uses.split('@');
          expect(action, file).toMatch(/^[\w.-]+\/[\w./-]+$/);
          expect(ref, step.uses).toMatch(/^(v\d[\d.]*|[0-9a-f]{40})$/);
        }
  });

  it.each(files)('%s gives the token read-only contents by default', (file) => {
    expect(raw(file).permissions).toEqual({ contents: 'read' });
  });

  it.each(files)('%s holds no credential, only references to secrets', (file) => {
    const text = readFileSync(join(DIR, file), 'utf8');
    expect(text).not.toMatch(/AKIA[0-9A-Z]{16}/);
    expect(text).not.toMatch(/(token|password|secret)\s*[:=]\s*['"]?[A-Za-z0-9/+]{20,}/i);
  });
});

describe('ci.yml', () => {
  const ci = raw('ci.yml');

  it('runs the checks .ci/run runs', () => {
    const runs = ci.jobs.test!.steps.map((s) => s.run ?? '').join('\n');
    const ciRun = readFileSync(resolve(REPO_ROOT, '.ci/run'), 'utf8');
    for (const cmd of [
      'npm run lint:lockfile',
      'npm run typecheck',
      'npm run lint',
      'npm run format:check',
      'npm test',
    ]) {
      expect(runs, cmd).toContain(cmd);
      expect(ciRun, cmd).toContain(cmd);
    }
  });

  it.each(['deploy-aws', 'deploy-vercel'])('%s runs on pushes to main only, after the tests pass', (id) => {
    const job = ci.jobs[id]!;
    expect(job.needs).toEqual(['test']);
    expect(job.if).toMatch(/^github\.event_name == 'push' && github\.ref == 'refs\/heads\/main' && /);
    expect(job.environment).toBe('production');
    // The converted template agrees: GitHub sees the same dependency.
    const converted = checked.get('ci.yml')!.template!.jobs.find((j) => j.id.value === id) as {
      needs?: { value: string }[];
    };
    expect(converted.needs?.map((n) => n.value)).toEqual(['test']);
  });

  it('the AWS deploy assumes a role from a secret (OIDC) and deploys the CDK app to both regions', () => {
    const job = ci.jobs['deploy-aws']!;
    expect(job.permissions).toMatchObject({ 'id-token': 'write', contents: 'read' });
    const creds = job.steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(creds?.with?.['role-to-assume']).toBe('${{ secrets.AWS_DEPLOY_ROLE_ARN }}');
    const runs = job.steps.map((s) => s.run ?? '');
    expect(runs).toContain('npm run infra:bundle');
    expect(runs.find((r) => r.includes('cdk deploy'))).toMatch(/--all\b/);
    for (const v of ['WAFGEN_PRIMARY_REGION', 'WAFGEN_SECONDARY_REGION'])
      expect(job.env?.[v]).toBe(`\${{ vars.${v} }}`);
    const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['infra:bundle']).toBe('bash infra/bundle.sh');
    expect(JSON.parse(readFileSync(resolve(REPO_ROOT, 'infra/cdk.json'), 'utf8'))).toMatchObject({
      app: 'npx tsx app.ts',
    });
  });

  it('the Vercel deploy takes its token from a secret, through the environment, and pins the CLI', () => {
    const step = ci.jobs['deploy-vercel']!.steps.find((s) => s.run?.includes('vercel'))!;
    expect(step.env?.VERCEL_TOKEN).toBe('${{ secrets.VERCEL_TOKEN }}');
    expect(step.run).toMatch(/vercel@\d+\.\d+\.\d+ deploy --prod/);
    expect(step.run).not.toContain('${{'); // no expression pasted into the shell
  });
});

describe('security.yml', () => {
  const sec = raw('security.yml');

  it('audits dependencies and runs CodeQL on pushes to main, pull requests and weekly', () => {
    expect(sec.on).toMatchObject({
      push: { branches: ['main'] },
      pull_request: null,
      schedule: [{ cron: expect.any(String) }],
    });
    const audit = sec.jobs['dependency-audit']!.steps.map((s) => s.run ?? '');
    expect(audit).toContain('npm run lint:lockfile');
    expect(audit.find((r) => r.startsWith('npm audit'))).toMatch(/--audit-level=high/);
    const codeql = sec.jobs.codeql!;
    expect(codeql.permissions).toMatchObject({ 'security-events': 'write' });
    const uses = codeql.steps.map((s) => s.uses ?? '');
    expect(uses).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^github\/codeql-action\/init@/),
        expect.stringMatching(/^github\/codeql-action\/analyze@/),
      ]),
    );
    expect(codeql.steps.find((s) => s.uses?.includes('/init@'))?.with?.languages).toBe(
      'javascript-typescript',
    );
  });
});

describe('dependabot.yml', () => {
  const cfg = parse(readFileSync(resolve(REPO_ROOT, '.github/dependabot.yml'), 'utf8')) as {
    version: number;
    updates: {
      'package-ecosystem': string;
      directory: string;
      schedule: { interval: string };
      groups?: Record<string, { patterns?: string[]; 'dependency-type'?: string }>;
    }[];
  };

  it('is version 2 and watches npm, the actions and the Docker base image', () => {
    expect(cfg.version).toBe(2);
    expect(cfg.updates.map((u) => u['package-ecosystem']).sort()).toEqual([
      'docker',
      'github-actions',
      'npm',
    ]);
    for (const u of cfg.updates) {
      expect(u.directory).toBe('/');
      expect(['daily', 'weekly', 'monthly']).toContain(u.schedule.interval);
      for (const g of Object.values(u.groups ?? {}))
        expect(g.patterns?.length || g['dependency-type']).toBeTruthy();
    }
  });

  it('groups name packages that are in package.json', () => {
    const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
    const npm = cfg.updates.find((u) => u['package-ecosystem'] === 'npm')!;
    for (const [group, g] of Object.entries(npm.groups ?? {}))
      for (const p of g.patterns ?? []) {
        const re = new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
        expect(names.some((n) => re.test(n)) || p === '@smithy/*', `${group}: ${p}`).toBe(true);
      }
  });
});

describe('npm run lint:lockfile', () => {
  const run = (lockfile: string) =>
    spawnSync(
      process.execPath,
      [resolve(REPO_ROOT, 'node_modules/lockfile-lint/bin/lockfile-lint.js'), ...lintArgs(lockfile)],
      { encoding: 'utf8' },
    );
  const lintArgs = (lockfile: string) => {
    const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const args = pkg.scripts['lint:lockfile']!.split(/\s+/).slice(1);
    args[args.indexOf('--path') + 1] = lockfile;
    return args;
  };

  it('passes on the lockfile and fails on one that fetches from elsewhere or over http', () => {
    expect(run(resolve(REPO_ROOT, 'package-lock.json')).status).toBe(0);
    const lock = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string; integrity?: string }>;
    };
    const [name] = Object.keys(lock.packages).filter((k) => k.startsWith('node_modules/zod'));
    lock.packages[name!]!.resolved = 'http://registry.attacker.example/zod/-/zod-4.0.0.tgz';
    const file = join(mkdtempSync(join(tmpdir(), 'wafgen-lockfile-')), 'package-lock.json');
    writeFileSync(file, JSON.stringify(lock));
    const r = run(file);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/invalid host/);
    expect(r.stdout + r.stderr).toMatch(/invalid protocol/);
  });
});
