// The built-in benign corpus (data/benign.jsonl, written by scripts/benign-corpus.mjs): big and varied
// enough to catch a rule that blocks ordinary traffic, readable without errors, and reproducible.
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

import { readAllRequests } from '../requests/index.js';
import { requestSet } from '../evaluator/index.js';
import { buildRequest, type HttpRequest } from '../requests/model.js';
import type { Statement } from '../waf/model/shapes.generated.js';
import {
  loadBenignSample,
  readBenignSnapshot,
  recallLeaves,
  rememberLeaves,
  writeBenignSnapshot,
} from './benign.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CORPUS = join(ROOT, 'data/benign.jsonl');
const CATEGORIES = [
  'sample',
  'rest',
  'graphql',
  'form',
  'prose',
  'querylang',
  'upload',
  'oauth',
  'saml',
  'code',
  'i18n',
  'large',
  'webhook',
  'urlparam',
  'static',
  'cors',
  'health',
  'websocket',
  'soap',
  'xmlconfig',
  'template',
  'cookie',
  'cms',
];

const tmp = mkdtempSync(join(tmpdir(), 'wafgen-benign-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the built-in benign corpus', () => {
  it('is read whole, with unique ids, every category and some large bodies', async () => {
    const requests = await loadBenignSample();
    expect(requests.length).toBeGreaterThanOrEqual(3000);
    // loadBenignSample keeps only what parsed: every line must have.
    const { errors } = await readAllRequests(CORPUS);
    expect(errors).toEqual([]);
    const lines = readFileSync(CORPUS, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(requests).toHaveLength(lines.length);

    expect(new Set(requests.map((r) => r.id)).size).toBe(requests.length);
    expect(requests.every((r) => r.expect === 'allow' && r.class === 'benign')).toBe(true);
    const counts = new Map<string, number>();
    for (const r of requests) {
      const category = /^benign-([a-z0-9]+)-\d+$/.exec(r.id)?.[1] ?? `unexpected id ${r.id}`;
      counts.set(category, (counts.get(category) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([...CATEGORIES].sort());
    for (const category of CATEGORIES) expect(counts.get(category), category).toBeGreaterThanOrEqual(20);

    // Bodies are byte strings: length is bytes.
    expect(requests.filter((r) => (r.body?.length ?? 0) > 8 * 1024).length).toBeGreaterThanOrEqual(20);
  });

  it('is loaded as the generic request reader reads it (the loader reads the file whole)', async () => {
    const { requests } = await readAllRequests(CORPUS);
    expect(await loadBenignSample()).toEqual(requests);
  });

  it('is what scripts/benign-corpus.mjs writes, byte for byte', async () => {
    const out = join(tmp, 'benign.jsonl');
    await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/benign-corpus.mjs'), out]);
    expect(readFileSync(out).equals(readFileSync(CORPUS))).toBe(true);
  });
});

describe('the benign snapshot (the parsed corpus compiled wafgen reads)', () => {
  it('reads back exactly what parsing the corpus gives', async () => {
    const file = join(tmp, 'snapshot.v8');
    await writeBenignSnapshot(file);
    const { requests } = await readAllRequests(CORPUS);
    expect(await readBenignSnapshot(file)).toEqual(requests);
  });

  it('is ignored when the corpus changed since it was written, when damaged, or when missing', async () => {
    const corpus = join(tmp, 'corpus.jsonl');
    copyFileSync(CORPUS, corpus);
    const file = join(tmp, 'stale.v8');
    await writeBenignSnapshot(file, corpus);
    expect(await readBenignSnapshot(file, corpus)).toHaveLength(
      (await readAllRequests(CORPUS)).requests.length,
    );
    // The key is the corpus's size and time: a file rewritten (here only re-dated) is not the one
    // the snapshot was made from.
    const { mtime, atime } = statSync(corpus);
    utimesSync(corpus, atime, new Date(mtime.getTime() + 1000));
    expect(await readBenignSnapshot(file, corpus)).toBeUndefined();
    // Nor is a snapshot of another corpus.
    expect(await readBenignSnapshot(file)).toBeUndefined();

    utimesSync(corpus, atime, mtime);
    await writeBenignSnapshot(file, corpus);
    const bytes = readFileSync(file);
    const damaged = join(tmp, 'damaged.v8');
    writeFileSync(damaged, bytes.subarray(0, bytes.indexOf(10) + 1 + 100));
    expect(await readBenignSnapshot(damaged, corpus)).toBeUndefined();
    expect(await readBenignSnapshot(join(tmp, 'missing.v8'), corpus)).toBeUndefined();
  });
});

describe('leaf outcomes kept in a file (rememberLeaves, recallLeaves)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'wafgen-leaves-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  // A new array each time: requestSet keeps one set per array, so each stands for a new process.
  const requests = () =>
    ['/a?x=${jndi:ldap://h/a}', '/b?x=1', '/c', '/d?x=%24%7Bjndi:rmi://h/%7D'].map((uri, i) =>
      buildRequest({ id: String(i), method: 'GET', uri, headers: [['Host', 'a.example']] }),
    );
  const jndi: Statement = {
    ByteMatchStatement: {
      SearchString: 'jndi:',
      FieldToMatch: { QueryString: {} },
      TextTransformations: [{ Priority: 0, Type: 'URL_DECODE' }],
      PositionalConstraint: 'CONTAINS',
    },
  };

  const jndiIds = (set: readonly HttpRequest[]) =>
    requestSet(set)
      .matching(jndi)
      .map((r) => r.id);

  it('a set of the same requests reads back what another wrote, behind the same key only', async () => {
    const file = join(tmp, 'leaves.v8');
    const first = requests();
    expect(jndiIds(first)).toEqual(['0', '3']);
    expect(await rememberLeaves(first, file, 'key 1')).toBe(1);

    const second = requests();
    expect(await recallLeaves(second, file, 'key 1')).toBe(1);
    expect(jndiIds(second)).toEqual(['0', '3']);
    expect(requestSet(second).evaluations).toBe(0);
    // Another key (another build, corpus or regex engine): nothing taken, worked out again.
    const third = requests();
    expect(await recallLeaves(third, file, 'key 2')).toBe(0);
    expect(jndiIds(third)).toEqual(['0', '3']);
    expect(requestSet(third).evaluations).toBe(4);
    // No temporary file left beside it.
    expect(readdirSync(tmp).filter((f) => f.startsWith('leaves.v8'))).toEqual(['leaves.v8']);
  });

  it('takes nothing from a damaged, missing or oversized file', async () => {
    const file = join(tmp, 'good.v8');
    const set = requests();
    requestSet(set).matching(jndi);
    await rememberLeaves(set, file, 'k');
    const bytes = readFileSync(file);
    const damaged = join(tmp, 'damaged.v8');
    writeFileSync(damaged, bytes.subarray(0, bytes.length - 3));
    expect(await recallLeaves(requests(), damaged, 'k')).toBe(0);
    expect(await recallLeaves(requests(), join(tmp, 'missing.v8'), 'k')).toBe(0);
    const huge = join(tmp, 'huge.v8');
    writeFileSync(huge, Buffer.concat([bytes, Buffer.alloc(16 * 1024 * 1024)]));
    expect(await recallLeaves(requests(), huge, 'k')).toBe(0);
    expect(await recallLeaves(requests(), file, 'k')).toBe(1);
  });
});
