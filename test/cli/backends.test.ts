// Backends away, as a user meets them: the real `wafgen` binary with a DATABASE_URL or REDIS_URL
// on a port where nothing listens. Every command that opens PostgreSQL says so in one line, with
// host:port and the error code, exits 5, and never shows the URL's password.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { postgresAdminUrl } from '../store/support.js';
import { fixture, runBin } from '../support/cli.js';
import { deadPort } from '../support/net.js';
import { REPO_ROOT } from '../support/shared.js';

// The local server, for the one case that needs a PostgreSQL that answers (CI must have it).
const adminUrl = await postgresAdminUrl();

const PASSWORD = 'secret-pw-7d1c';
let pgPort = 0;
let redisPort = 0;
let env: Record<string, string> = {};
const work = mkdtempSync(join(tmpdir(), 'wafgen-backends-'));

beforeAll(async () => {
  pgPort = await deadPort();
  redisPort = await deadPort();
  env = {
    WAFGEN_DATA_DIR: join(work, 'data'),
    WAFGEN_OFFLINE: '1',
    WAFGEN_AUTH_DISABLED: '1',
    DATABASE_URL: `postgres://wafgen:${PASSWORD}@127.0.0.1:${pgPort}/wafgen`,
  };
});

describe('PostgreSQL that cannot be reached', () => {
  const batchFile = join(work, 'cves.txt');
  const storeExport = join(work, 'export.jsonl');
  writeFileSync(batchFile, 'CVE-2021-44228\n');
  writeFileSync(storeExport, '{"type":"header","format":"wafgen-store","version":1}\n');

  const commands: [string, string[]][] = [
    ['generate', ['generate', 'CVE-2021-44228', '--no-fetch']],
    ['batch', ['batch', '--from', batchFile]],
    ['list', ['list']],
    ['info', ['info', 'CVE-2021-44228']],
    ['import', ['import', fixture('vulns/nvd-cve-2021-44228.json')]],
    ['import --store', ['import', '--store', storeExport]],
    ['export', ['export']],
    ['stats', ['stats']],
    ['archive', ['archive', '--bucket', 'wafgen-test', '--region', 'us-east-1']],
    ['deploy', ['deploy', 'CVE-2021-44228', '--web-acl', 'prod']],
    ['serve', ['serve', '--port', '0']],
    ['worker', ['worker']],
  ];

  it.each(commands)('%s: one line naming host:port and the code, exit 5, no password', (_name, args) => {
    // The worker needs a REDIS_URL before it opens the store; its Redis is away too, and the store,
    // opened first, is what it reports.
    const r = runBin(args, {
      ...env,
      ...(args[0] === 'worker' ? { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${redisPort}` } : {}),
    });
    const line = `wafgen: cannot reach PostgreSQL at 127.0.0.1:${pgPort} (ECONNREFUSED)\n`;
    // archive loads the AWS SDK: its Node-version notice is switched off for the command too.
    expect(r.stderr).toBe(line);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  it('an unknown host is named with the resolver code', () => {
    const unknown = runBin(['list'], {
      ...env,
      DATABASE_URL: `postgres://wafgen:${PASSWORD}@no-such-host.invalid:6543/wafgen`,
    });
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toMatch(
      /^wafgen: cannot reach PostgreSQL at no-such-host\.invalid:6543 \((ENOTFOUND|EAI_AGAIN)\)\n$/,
    );
    expect(unknown.stderr).not.toContain(PASSWORD);
  });

  it.skipIf(!adminUrl)(
    'a database the server does not have is named with its SQLSTATE (the local PostgreSQL)',
    () => {
      const url = new URL(adminUrl!);
      url.pathname = '/wafgen_no_such_db';
      const r = runBin(['list'], { ...env, DATABASE_URL: url.href });
      expect(r.stderr).toBe(
        `wafgen: cannot reach PostgreSQL at ${url.host} (database does not exist, 3D000)\n`,
      );
      expect(r.code).toBe(5);
    },
  );
});

describe('Redis that cannot be reached', () => {
  it('wafgen serve says so in one warning line, serves anyway, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/wafgen.js'), 'serve', '--port', '0'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        WAFGEN_DATA_DIR: join(work, 'serve-data'),
        WAFGEN_OFFLINE: '1',
        WAFGEN_AUTH_DISABLED: '1',
        REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${redisPort}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const warned = new Promise<void>((done) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/warning: cannot reach Redis/.test(stderr)) done();
      });
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    await Promise.race([warned, exited]);
    child.kill('SIGTERM');
    await exited;
    expect(stderr).toMatch(/wafgen API listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(stderr).toContain(
      `wafgen: warning: cannot reach Redis at 127.0.0.1:${redisPort} (ECONNREFUSED); serving without the shared cache, rate limits and job queue until it answers\n`,
    );
    expect(stdout + stderr).not.toContain(PASSWORD);
  }, 60_000);
});
