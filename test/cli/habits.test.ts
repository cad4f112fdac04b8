// CLI habits (issue 17, item 5), on the real binary: the config file found the usual way and its
// precedence (flag > env > file > default) as `wafgen config show` reports it, strict checking of
// the file, `-` for stdin, --quiet and --verbose, shell completion, one-line errors.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { showsProgress } from '../../src/cli/io.js';
import { fixture } from '../support/cli.js';
import { REPO_ROOT } from '../support/shared.js';

const BIN = resolve(REPO_ROOT, 'bin/wafgen.js');
const root = mkdtempSync(join(tmpdir(), 'wafgen-habits-'));
const dataDir = join(root, 'data');
const log4shell = fixture('rules/log4shell-rule.json');

/** A project folder with the given files. */
function project(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
  return dir;
}

function run(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? root,
    encoding: 'utf8',
    // HOME is the temporary root: the config search stops there, whatever the machine has.
    env: { PATH: process.env.PATH, HOME: root, WAFGEN_OFFLINE: '1', WAFGEN_DATA_DIR: dataDir, ...opts.env },
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface Shown {
  file: string | null;
  settings: { key: string; value?: string; source: string; from?: string }[];
}
const show = (cwd: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Shown => {
  const r = run([...args, 'config', 'show', '--json'], { cwd, env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Shown;
};
const setting = (shown: Shown, key: string) => shown.settings.find((s) => s.key === key)!;

const request = (id: string, expect: 'block' | 'allow', uri = '/') =>
  JSON.stringify({ id, method: 'GET', uri, expect });

describe('config file', () => {
  const yamlProject = project('yaml', {
    'wafgen.config.yaml': [
      'offline: true',
      'maxInputBytes: 2048000',
      'databaseUrl: postgres://app:hunter2@db.internal:5432/wafgen',
      'pgPrepare: false',
      'commands:',
      '  test:',
      '    format: json',
      '    resource: CLOUDFRONT',
    ].join('\n'),
    'sub/dir/.keep': '',
  });

  it('is found from a subfolder; each setting says where it came from: flag > env > file > default', () => {
    const shown = show(join(yamlProject, 'sub/dir'), ['--data-dir', join(root, 'flag-data')], {
      WAFGEN_OFFLINE: '',
      LOG_LEVEL: 'warn',
    });
    const file = join(yamlProject, 'wafgen.config.yaml');
    expect(shown.file).toBe(file);
    expect(setting(shown, 'dataDir')).toMatchObject({
      source: 'flag',
      from: '--data-dir',
      value: join(root, 'flag-data'),
    });
    expect(setting(shown, 'logLevel')).toMatchObject({ source: 'env', from: 'LOG_LEVEL', value: 'warn' });
    expect(setting(shown, 'maxInputBytes')).toMatchObject({ source: 'file', from: file, value: '2048000' });
    expect(setting(shown, 'offline')).toMatchObject({ source: 'file', value: '1' });
    expect(setting(shown, 'pgPrepare')).toMatchObject({ source: 'file', value: '0' });
    expect(setting(shown, 'port')).toMatchObject({ source: 'default', value: '8080' });
    // A URL's password is never printed.
    expect(setting(shown, 'databaseUrl').value).toBe('postgres://[redacted]@db.internal:5432/wafgen');
  });

  it('the environment wins over the file', () => {
    const shown = show(yamlProject, [], { WAFGEN_MAX_INPUT_BYTES: '4096' });
    expect(setting(shown, 'maxInputBytes')).toMatchObject({ source: 'env', value: '4096' });
  });

  it('the text form names the file and the source of each line', () => {
    const r = run(['config', 'show'], { cwd: yamlProject });
    expect(r.stdout).toContain(`config file: ${join(yamlProject, 'wafgen.config.yaml')}`);
    expect(r.stdout).toMatch(/^ {2}port +8080 +from default$/m);
    expect(r.stdout).toMatch(/^ {2}commands\.test\.resource +CLOUDFRONT +from file /m);
  });

  it("a command's defaults come from the file, and a flag given wins", () => {
    const requests = join(yamlProject, 'r.jsonl');
    writeFileSync(requests, request('home', 'allow') + '\n');
    const fromFile = run(['test', '--rule', log4shell, '--requests', requests], { cwd: yamlProject });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(JSON.parse(fromFile.stdout).summary.total).toBe(1); // format: json from the file
    const flagged = run(['test', '--rule', log4shell, '--requests', requests, '--format', 'text'], {
      cwd: yamlProject,
    });
    expect(flagged.stdout).toMatch(/^request +expect +result/);
  });

  it('package.json "wafgen" key and wafgen.config.js are found too; --config names a file', () => {
    const pkg = project('pkg', { 'package.json': JSON.stringify({ name: 'x', wafgen: { port: 9001 } }) });
    expect(setting(show(pkg), 'port')).toMatchObject({ source: 'file', value: '9001' });
    const js = project('js', { 'wafgen.config.js': 'module.exports = { host: "0.0.0.0" };\n' });
    expect(setting(show(js), 'host')).toMatchObject({ source: 'file', value: '0.0.0.0' });
    const named = project('named', { 'team.json': JSON.stringify({ logLevel: 'debug' }) });
    const shown = show(root, ['--config', join(named, 'team.json')]);
    expect(shown.file).toBe(join(named, 'team.json'));
    expect(setting(shown, 'logLevel')).toMatchObject({ source: 'file', value: 'debug' });
  });

  it('no file: every setting from the environment or its default', () => {
    const none = project('none', {});
    const shown = show(none);
    expect(shown.file).toBeNull();
    expect(setting(shown, 'host')).toMatchObject({ source: 'default', value: '127.0.0.1' });
  });

  it('a bad file stops every command with one line naming the file, the key and the fix (exit 2)', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { ofline: true },
        /wafgen\.config\.json: unknown key ofline at the top level; allowed: dataDir, offline/,
      ],
      [
        { openaiApiKey: 'sk-x' },
        /openaiApiKey looks like a credential; keep credentials out of config files/,
      ],
      [{ port: 'eighty' }, /wafgen\.config\.json: port must be a number$/m],
      [
        { commands: { test: { resourse: 'ALB' } } },
        /commands\.test\.resourse is not an option of wafgen test; see wafgen test --help/,
      ],
      [{ commands: { test: { resource: 'MOON' } } }, /commands\.test\.resource must be one of ALB, /],
      [{ commands: { test: { variants: 'yes' } } }, /commands\.test\.variants is a flag: give true or false/],
    ];
    cases.forEach(([config, message], i) => {
      const dir = project(`bad-${i}`, { 'wafgen.config.json': JSON.stringify(config) });
      const r = run(['test', '--rule', log4shell, '--requests', log4shell], { cwd: dir });
      expect(r.code, JSON.stringify(config)).toBe(2);
      expect(r.stderr).toMatch(/^wafgen: invalid configuration: [^\n]+\n$/);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    });
    const yaml = project('bad-yaml', { 'wafgen.config.yaml': 'offline: [\n' });
    const r = run(['config', 'show'], { cwd: yaml });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^wafgen: invalid configuration: wafgen\.config\.yaml: invalid YAML: [^\n]+\n$/);
  });
});

describe('- reads stdin', () => {
  it('test --requests -: the requests come from stdin; an unreadable entry is named stdin:LINE', () => {
    const input =
      [request('jndi', 'block', '/?q=%24%7Bjndi%3Aldap%3A%2F%2Fx%2Fa%7D'), '{broken'].join('\n') + '\n';
    const r = run(['test', '--rule', log4shell, '--requests', '-', '--json'], { input });
    expect(r.code).toBe(2); // the broken entry is bad input; the other still ran
    expect(r.stderr).toContain('stdin:2: ');
    expect(r.stderr).not.toContain('wafgen-stdin-');
    const out = JSON.parse(r.stdout);
    expect(out.results).toMatchObject([{ id: 'jndi', matched: true, mismatch: false }]);
    expect(out.parseErrors[0].file).toBe('stdin');
  });

  it('--rule - and validate - read the document from stdin', () => {
    const rule = readFileSync(log4shell, 'utf8');
    const v = run(['validate', '-'], { input: rule });
    expect(v).toMatchObject({ code: 0 });
    expect(v.stdout).toMatch(/^stdin: Rule valid/);
  });
});

describe('--quiet and --verbose', () => {
  it('--quiet leaves stderr empty on success; --verbose adds the config source and the steps', () => {
    const quiet = run(['-q', 'generate', 'CVE-2021-44228', '--no-save']);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(JSON.parse(quiet.stdout).Name).toBeTruthy();
    const verbose = run(['generate', 'CVE-2021-44228', '--no-save', '--verbose']);
    expect(verbose.code).toBe(0);
    expect(verbose.stderr).toMatch(/^wafgen: config file: none\n/);
    expect(verbose.stderr).toMatch(/… attempt 1: /);
    expect(verbose.stderr).toMatch(/CVE-2021-44228: proven/);
  });

  it('both at once is a usage error', () => {
    const r = run(['--quiet', '--verbose', 'validate', log4shell]);
    expect(r).toMatchObject({
      code: 2,
      stderr: 'wafgen: --quiet and --verbose disagree; pass one of them\n',
    });
  });

  it('progress is drawn only on a terminal, and never with --quiet', () => {
    const io = { out: () => {}, err: () => {}, color: false };
    expect(showsProgress({ ...io, progress: true })).toBe(true);
    expect(showsProgress({ ...io, progress: false })).toBe(false);
    expect(showsProgress({ ...io, progress: true, quiet: true })).toBe(false);
  });
});

describe('shell completion', () => {
  // The script calls `wafgen complete -- …`: wafgen on PATH, as after npm install -g.
  const binDir = join(root, 'bin');
  mkdirSync(binDir, { recursive: true });
  symlinkSync(BIN, join(binDir, 'wafgen'));
  const env = { PATH: `${binDir}:${process.env.PATH}`, HOME: root, WAFGEN_OFFLINE: '1' };
  const script = join(root, 'wafgen.bash');

  /** What bash completes for the words, the last one being completed. */
  const complete = (words: string[]): string[] => {
    const r = spawnSync(
      'bash',
      [
        '--norc',
        '-c',
        `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; __wafgen_complete 2>/dev/null; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8', env, timeout: 30_000 },
    );
    return r.stdout.split('\n').filter(Boolean);
  };

  it('bash: the sourced script completes a subcommand, an option and its choices', () => {
    const r = spawnSync(process.execPath, [BIN, 'completion', 'bash'], { encoding: 'utf8', env });
    expect(r.status).toBe(0);
    writeFileSync(script, r.stdout);
    expect(complete(['wafgen', 'val'])).toEqual(['validate']);
    expect(complete(['wafgen', 'test', '--requests-f'])).toEqual(['--requests-format']);
    expect(complete(['wafgen', 'test', '--resource', 'CL'])).toEqual(['CLOUDFRONT']);
  });

  it('zsh and fish scripts name their shell; an unknown shell is a usage error', () => {
    expect(run(['completion', 'zsh']).stdout).toMatch(/^#compdef wafgen/m);
    expect(run(['completion', 'fish']).stdout).toMatch(/complete -c wafgen/);
    const r = run(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /'tcsh' is invalid for argument 'shell'\. Allowed choices are bash, zsh, fish, powershell/,
    );
  });
});

describe('errors are one line with the cause and the fix', () => {
  it('each failure here is a single "wafgen: " line, never a bare Error or a stack', () => {
    const failures = [
      run(['validate', join(root, 'missing.json')]),
      run(['--config', join(root, 'nope.json'), 'config', 'show']),
      run(['test', '--rule', log4shell, '--requests', join(root, 'missing.jsonl')]),
      run(['generate', 'not-a-cve', '--no-save']),
      run(['test', '--rule', log4shell, '--requests', '-'], { input: '' }),
    ];
    for (const r of failures) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^wafgen: \S[^\n]*\n$/);
      expect(r.stderr).not.toMatch(/^wafgen: (internal error: )?Error\b|\n\s+at /);
    }
  });
});
