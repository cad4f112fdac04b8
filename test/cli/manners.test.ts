// CLI manners: exit codes as documented, a closed pipe ends quietly, input shown escaped, an
// unreadable request is not silently dropped.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { EXIT, printable, printableJson, printableJsonText } from '../../src/cli/io.js';
import { fixture, runBin, runCli } from '../support/cli.js';
import { useTempDataDir } from '../support/env.js';
import { REPO_ROOT } from '../support/shared.js';

const work = mkdtempSync(join(tmpdir(), 'wafgen-manners-'));
const log4shell = fixture('rules/log4shell-rule.json');
const good = '{"id":"l4s","method":"GET","uri":"/?q=%24%7Bjndi%3Aldap%3A%2F%2Fx%2Fa%7D","expect":"block"}';
/** Raw C0, C1 and bidi characters (not escapes): what must never reach a terminal as they are. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

useTempDataDir('wafgen-manners-data-');

describe('printable', () => {
  it('escapes controls, C1, bidi and zero-width characters, and nothing else', () => {
    expect(printable('plain ascii, ünïcode, \\x41 and "quotes"')).toBe(
      'plain ascii, ünïcode, \\x41 and "quotes"',
    );
    expect(printable('a\x1b]0;title\x07b\x1b[2Jc')).toBe('a\\x1b]0;title\\x07b\\x1b[2Jc');
    expect(printable('\x00\t\n\r\x7f\x9b')).toBe('\\x00\\x09\\x0a\\x0d\\x7f\\x9b');
    expect(printable('user\u202eexe.txt\u200b\ufeff')).toBe('user\\u{202e}exe.txt\\u{200b}\\u{feff}');
    expect(printable('line 1\n\tline 2\r\x1b', { lines: true })).toBe('line 1\n\tline 2\\x0d\\x1b');
  });

  it('is linear: a megabyte of controls is escaped in one pass', () => {
    const big = '\x1b'.repeat(1 << 20);
    expect(printable(big)).toHaveLength(4 << 20);
  });

  it('JSON keeps its value: C1 and bidi characters become \\u escapes that parse back the same', () => {
    const value = { id: 'a\x1b\x9b\u202eb', n: 1 };
    const json = printableJson(value);
    expect(json).not.toMatch(RAW_CONTROLS);
    expect(JSON.parse(json)).toEqual(value);
    const text = JSON.stringify([value]) + '\n';
    expect(JSON.parse(printableJsonText(text))).toEqual([value]);
  });
});

describe('exit codes', () => {
  it('--help ends with the whole table', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(EXIT.ok);
    for (const code of Object.values(EXIT)) expect(r.stdout).toMatch(new RegExp(`^  ${code}  \\S`, 'm'));
    expect(r.stdout).toMatch(/5 {2}a backend cannot be reached: "cannot reach PostgreSQL at host:port/);
    expect(EXIT).toEqual({ ok: 0, failed: 1, badInput: 2, noRule: 3, untested: 4, unavailable: 5 });
  });
});

describe('wafgen test and unreadable requests', () => {
  const mixed = join(work, 'mixed.jsonl');
  writeFileSync(mixed, `${good}\n{"id":"broken","method":\n`);

  it('an entry that cannot be read is bad input (exit 2), the others still run and are reported', async () => {
    const r = await runCli(['test', '--rule', log4shell, '--requests', mixed]);
    expect(r.code).toBe(EXIT.badInput);
    expect(r.stderr).toMatch(/mixed\.jsonl:2: /);
    expect(r.stderr).toMatch(
      /^wafgen: 1 request entry could not be read \(above\); fix it or pass --skip-invalid$/m,
    );
    expect(r.stdout).toMatch(/^l4s +block +BLOCK/m);
    expect(r.stdout).toMatch(
      /1 requests: 1 blocked, 0 allowed, 0 expectation mismatches, 1 unreadable entry\n$/,
    );
  });

  it('--skip-invalid reports and counts them and judges the rest', async () => {
    const r = await runCli(['test', '--rule', log4shell, '--requests', mixed, '--skip-invalid']);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stderr).toMatch(/mixed\.jsonl:2: /);
    expect(r.stderr).not.toMatch(/^wafgen:/m);
    expect(r.stdout).toMatch(/, 1 unreadable entry skipped\n$/);
    // Expectations still count: a mismatch is still exit 1.
    const wrong = join(work, 'wrong.jsonl');
    writeFileSync(wrong, `${good.replace('"block"', '"allow"')}\nnot json\n`);
    const miss = await runCli(['test', '--rule', log4shell, '--requests', wrong, '--skip-invalid', '--json']);
    expect(miss.code).toBe(EXIT.failed);
    expect((JSON.parse(miss.stdout) as { parseErrors: unknown[] }).parseErrors).toHaveLength(1);
  });
});

describe('input shown escaped', () => {
  it('request ids and file text with terminal controls are printed as escapes', async () => {
    const file = join(work, 'controls.jsonl');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'evil\x1b]0;pwned\x07\x1b[2J\u202e',
        method: 'GET',
        uri: '/?q=%24%7Bjndi%3Aldap%3A%2F%2Fx%2Fa%7D\x01',
        expect: 'block',
      }) + '\n',
    );
    const r = await runCli(['test', '--rule', log4shell, '--requests', file, '--explain']);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).not.toMatch(RAW_CONTROLS);
    expect(r.stdout).toContain('evil\\x1b]0;pwned\\x07\\x1b[2J\\u{202e}');
    const json = await runCli(['test', '--rule', log4shell, '--requests', file, '--json']);
    expect(json.stdout).not.toMatch(RAW_CONTROLS);
    expect((JSON.parse(json.stdout) as { results: { id: string }[] }).results[0]?.id).toBe(
      'evil\x1b]0;pwned\x07\x1b[2J\u202e',
    );
  });

  it('binary --evidence is one escaped line and exit 2', async () => {
    const binary = join(work, 'binary.http');
    writeFileSync(binary, Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 7 + 3) % 256)));
    const r = await runCli(['generate', 'CVE-2021-44228', '--evidence', binary, '--no-fetch', '--no-save']);
    expect(r.code).toBe(EXIT.badInput);
    expect(r.stderr).toMatch(/^wafgen: .*binary\.http.*\n$/);
    expect(r.stderr).not.toMatch(RAW_CONTROLS);
  }, 60_000);

  it('a usage error quoting an argument shows it escaped', async () => {
    const r = await runCli(['test', '--rule', log4shell, '--requests', 'x', '--bogus\x1b[2J']);
    expect(r.code).toBe(EXIT.badInput);
    expect(r.stderr).toContain('--bogus\\x1b[2J');
    expect(r.stderr).not.toMatch(RAW_CONTROLS);
  });
});

describe('wafgen import exit codes', () => {
  it('a file that holds no vulnerability records is bad input (2); bad records beside good ones are 1', async () => {
    const notVulns = join(work, 'not-vulns.json');
    writeFileSync(notVulns, '{"hello":"world"}\n');
    const none = await runCli(['import', notVulns]);
    expect(none.code).toBe(EXIT.badInput);
    expect(none.stderr).toMatch(/not-vulns\.json: file: unrecognised format/);
    // A good file beside one that is not vulnerability data: still bad input.
    expect((await runCli(['import', fixture('vulns/nvd-cve-2021-44228.json'), notVulns])).code).toBe(
      EXIT.badInput,
    );
    const partial = await runCli(['import', fixture('vulns/records-malformed.jsonl')]);
    expect(partial.code).toBe(EXIT.failed);
    expect((await runCli(['import', fixture('vulns/nvd-cve-2021-44228.json')])).code).toBe(EXIT.ok);
  }, 60_000);
});

describe('a closed pipe', () => {
  it('`wafgen test --explain | head` ends quietly with exit 0 when head has read enough', async () => {
    // Enough output to outlast the pipe's buffer once the reader is gone.
    const many = join(work, 'many.jsonl');
    writeFileSync(
      many,
      Array.from({ length: 3000 }, (_, i) => good.replace('"l4s"', `"l4s-${i}"`)).join('\n') + '\n',
    );
    const child = spawn(
      process.execPath,
      [resolve(REPO_ROOT, 'bin/wafgen.js'), 'test', '--rule', log4shell, '--requests', many, '--explain'],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Read the first chunk, then go away as head does.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 60_000);

  it.skipIf(!existsSync('/dev/full'))('a full disk is one line and exit 1', () => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = spawnSync(
        process.execPath,
        [
          resolve(REPO_ROOT, 'bin/wafgen.js'),
          'test',
          '--rule',
          log4shell,
          '--requests',
          fixture('requests-cli/log4shell.jsonl'),
        ],
        {
          env: { PATH: process.env.PATH, HOME: process.env.HOME },
          stdio: ['ignore', full, 'pipe'],
          encoding: 'utf8',
        },
      );
      expect(r.stderr).toBe('wafgen: cannot write to stdout: ENOSPC\n');
      expect(r.status).toBe(EXIT.failed);
    } finally {
      closeSync(full);
    }
  });

  it('the same run with its whole output read exits as usual', () => {
    const r = runBin(['test', '--rule', log4shell, '--requests', fixture('requests-cli/log4shell.jsonl')]);
    expect(r.code).toBe(EXIT.ok);
  });
});
