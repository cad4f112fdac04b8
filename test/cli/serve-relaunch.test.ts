// `wafgen serve` runs its server in a node started with V8 heap flags (src/cli/commands/serve.ts,
// relaunchServe): the compiled bin, its child process read from /proc (Linux), signals forwarded,
// the server stopping when the launcher dies, and WAFGEN_SERVE_NODE_ARGS checked at the boundary.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../support/shared.js';

const BIN = resolve(REPO_ROOT, 'bin/wafgen.js');
const work = mkdtempSync(join(tmpdir(), 'wafgen-serve-relaunch-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const linux = existsSync('/proc/self/task');

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    WAFGEN_DATA_DIR: join(work, 'data'),
    WAFGEN_OFFLINE: '1',
    WAFGEN_AUTH_DISABLED: '1',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** Starts `wafgen serve --port 0` and resolves once it says where it listens. */
async function serve(extra: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    env: env(extra),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<{ code: number | null; stderr: string }>((done) =>
    child.on('exit', (code) => done({ code, stderr })),
  );
  const url = await new Promise<string>((done, fail) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/\S+) /.exec(stderr);
      if (m) done(m[1]!);
    });
    void exited.then(() => fail(new Error(`wafgen serve exited: ${stderr}`)));
  });
  return { child, url, exited };
}

/** Process ids of a process's children. */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
}

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(statusOf(pid));
const statusOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
};

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
}

function kill(child: ChildProcess) {
  if (child.exitCode === null) child.kill('SIGKILL');
}

describe.runIf(linux)('wafgen serve: the server in a node with heap flags', () => {
  it('runs the server in a child started with the default flags, which stops gracefully on SIGTERM', async () => {
    const { child, url, exited } = await serve();
    try {
      const [server, ...others] = childrenOf(child.pid!);
      expect(others).toEqual([]);
      const args = cmdline(server!);
      expect(args).toContain('--max-semi-space-size=2');
      expect(args).toContain('--max-old-space-size=384');
      expect(readFileSync(`/proc/${server!}/environ`, 'utf8').split('\0')).toContain('MALLOC_ARENA_MAX=2');
      expect(args.slice(-4, -1)).toEqual(['serve', '--port', '0']);
      // The launcher itself runs without them, and the API answers from the child.
      expect(cmdline(child.pid!)).not.toContain('--max-semi-space-size=2');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      child.kill('SIGTERM');
      const { code, stderr } = await exited;
      expect(code).toBe(0);
      expect(stderr).toMatch(/wafgen API stopped\n/);
      expect(await gone(server!)).toBe(true);
    } finally {
      kill(child);
    }
  }, 30_000);

  it('stops the server when the launcher is killed', async () => {
    const { child } = await serve();
    const [server] = childrenOf(child.pid!);
    expect(server).toBeDefined();
    child.kill('SIGKILL');
    expect(await gone(server!)).toBe(true);
  }, 30_000);

  it('runs in the process itself with WAFGEN_SERVE_NODE_ARGS empty, and refuses flags it cannot read', async () => {
    const { child, url, exited } = await serve({ WAFGEN_SERVE_NODE_ARGS: '' });
    try {
      expect(childrenOf(child.pid!)).toEqual([]);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      child.kill('SIGTERM');
      expect((await exited).code).toBe(0);
    } finally {
      kill(child);
    }
    const bad = spawnSync(process.execPath, [BIN, 'serve', '--port', '0'], {
      env: env({ WAFGEN_SERVE_NODE_ARGS: '--max-old-space-size=384 $(reboot)' }),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(bad.stderr).toBe(
      'wafgen: WAFGEN_SERVE_NODE_ARGS must be up to 16 node flags (--name or --name=value) separated by spaces\n',
    );
    expect(bad.status).toBe(2);
  }, 30_000);
});
