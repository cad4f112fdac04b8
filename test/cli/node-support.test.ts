// Node support (issue 17, item 6): the Node versions package.json declares are ones every
// production dependency declares it runs on, and the CLI prints no deprecation warning or notice on
// the Node running the tests (a supported one), also when it loads and calls the AWS SDK.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

import semver from 'semver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startFakeSecretsManager, type FakeSecretsManager } from '../support/fake-aws/secrets-manager.js';
import { fixture } from '../support/cli.js';
import { REPO_ROOT } from '../support/shared.js';

interface Manifest {
  name: string;
  version: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const readManifest = (path: string): Manifest => JSON.parse(readFileSync(path, 'utf8')) as Manifest;
const ours = readManifest(join(REPO_ROOT, 'package.json'));

/** Where Node would resolve `name` from `dir`: the nearest node_modules up the tree. */
function resolveManifest(name: string, dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(d) === d) return undefined;
  }
}

/** Every installed package of the production tree (dependencies and installed optional ones). */
function productionTree(): Manifest[] {
  const seen = new Map<string, Manifest>();
  const walk = (dir: string, deps: Record<string, string>) => {
    for (const name of Object.keys(deps)) {
      const path = resolveManifest(name, dir);
      if (!path || seen.has(path)) continue;
      const manifest = readManifest(path);
      seen.set(path, manifest);
      walk(dirname(path), { ...manifest.dependencies, ...manifest.optionalDependencies });
    }
  };
  walk(REPO_ROOT, ours.dependencies ?? {});
  return [...seen.values()];
}

describe('declared engines', () => {
  it('every production dependency runs on every Node version package.json admits', () => {
    const range = ours.engines?.node;
    expect(range).toBeTruthy();
    const tree = productionTree();
    // The walk found the tree, not just the direct dependencies.
    expect(tree.length).toBeGreaterThan(Object.keys(ours.dependencies ?? {}).length);
    const disagree = tree
      .filter((m) => m.engines?.node && !semver.subset(range!, m.engines.node))
      .map((m) => `${m.name}@${m.version} wants node ${m.engines!.node}`);
    expect(disagree, `package.json says node ${range}`).toEqual([]);
  });

  it('the check itself catches a dependency that wants more than the floor', () => {
    expect(semver.subset(ours.engines!.node!, '>=99')).toBe(false);
    // lru-cache's own range skips Node 21: a floor of ">=20.19" alone would not do.
    expect(semver.subset('>=20.19.0', '20 || >=22')).toBe(false);
  });

  it('the Node running these tests is a supported one', () => {
    expect(semver.satisfies(process.version, ours.engines!.node!)).toBe(true);
  });
});

describe('no deprecation warning on a supported Node', () => {
  let secrets: FakeSecretsManager;
  let arn: string;
  beforeAll(async () => {
    secrets = await startFakeSecretsManager();
    arn = secrets.put({ name: 'wafgen/keys', secretString: JSON.stringify({ NVD_API_KEY: 'nvd-test-key' }) });
  });
  afterAll(async () => {
    await secrets?.close();
  });

  const WARNING = /DeprecationWarning|ExperimentalWarning|^NOTE:|\(node:\d+\)/m;
  const work = mkdtempSync(join(tmpdir(), 'wafgen-node-support-'));
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [resolve(REPO_ROOT, 'bin/wafgen.js'), ...args], {
      encoding: 'utf8',
      cwd: work,
      env: {
        PATH: process.env.PATH,
        HOME: work,
        WAFGEN_OFFLINE: '1',
        WAFGEN_DATA_DIR: join(work, 'data'),
        ...env,
      },
      timeout: 60_000,
    });

  const runAsync = (args: string[], env: NodeJS.ProcessEnv) =>
    new Promise<{ status: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/wafgen.js'), ...args], {
        cwd: work,
        env: {
          PATH: process.env.PATH,
          HOME: work,
          WAFGEN_OFFLINE: '1',
          WAFGEN_DATA_DIR: join(work, 'data'),
          ...env,
        },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (status) => done({ status, stderr }));
    });

  it('help, validate, test, config show and completion print none', () => {
    const rule = fixture('rules/log4shell-rule.json');
    for (const args of [
      ['--help'],
      ['validate', rule, '--format', 'sarif'],
      ['test', '--rule', rule, '--requests', fixture('requests/two-requests.http'), '--format', 'junit'],
      ['config', 'show'],
      ['completion', 'bash'],
    ]) {
      const r = run(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBeLessThan(2);
      expect(r.stderr, args.join(' ')).not.toMatch(WARNING);
    }
  });

  it('nor a command that loads and calls the AWS SDK (Secrets Manager before validate)', async () => {
    // Asynchronous: the fake server answers in this process, which spawnSync would block.
    const r = await runAsync(['validate', fixture('rules/log4shell-rule.json')], {
      WAFGEN_SECRETS_ARN: arn,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      AWS_ACCESS_KEY_ID: 'local-test-key',
      AWS_SECRET_ACCESS_KEY: 'local-test-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(r.status, r.stderr).toBe(0);
    // The SDK was really called: the secret was read.
    expect(secrets.calls.some((c) => c.target.endsWith('GetSecretValue'))).toBe(true);
    expect(r.stderr).toBe('');
  });
});
