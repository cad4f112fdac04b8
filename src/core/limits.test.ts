import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { InputError } from './errors.js';
import { parseJson, readTextFile } from './input.js';
import {
  checkJsonTextDepth,
  INPUT_LIMITS,
  InputLimitError,
  inputLimitErrorOf,
  jsonDepthOffset,
  walkJsonValue,
} from './limits.js';
import { readLimited } from './read-limited.js';

/** Depth of JSON text the slow, obvious way (for valid JSON). */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe('jsonDepthOffset', () => {
  it.each([
    '{}',
    '[[[]]]',
    '{"a":[{"b":[1,2,{"c":null}]}]}',
    '"[[[[[[["',
    '{"k\\"[[[": "v\\\\", "x": [["]]]]"]]}',
    '["\\\\\\"[[[", [[]]]',
  ])('measures %j as JSON.parse sees it', (text) => {
    const depth = depthOf(JSON.parse(text));
    expect(jsonDepthOffset(text, depth)).toBe(-1);
    if (depth > 0) expect(jsonDepthOffset(text, depth - 1)).toBeGreaterThanOrEqual(0);
  });

  it('points at the bracket that goes one level too deep', () => {
    const text = '{"a": [[ [1] ]]}';
    expect(jsonDepthOffset(text, 3)).toBe(text.indexOf('[1'));
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonDepthOffset('["' + '['.repeat(1000) + '\\"' + '{'.repeat(1000) + '"]', 1)).toBe(-1);
  });

  it('scans a million levels without recursion', () => {
    const text = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    expect(jsonDepthOffset(text)).toBe(INPUT_LIMITS['json-depth'].value);
  });
});

describe('parseJson (core/input)', () => {
  it('refuses nesting past json-depth before parsing, naming the limit and the place', () => {
    const text = '{\n"a": ' + '['.repeat(300) + ']'.repeat(300) + '}';
    const err = (() => {
      try {
        parseJson(text, 'rule.json');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InputLimitError);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(
      'rule.json: input exceeds WAFGEN limit json-depth=256 (nesting goes deeper at line 2, column 261)',
    );
    expect(err).toMatchObject({ limit: 'json-depth', max: 256, status: 400 });
  });

  it('still parses documents at the limit', () => {
    const text = '['.repeat(256) + ']'.repeat(256);
    expect(() => parseJson(text, 'f')).not.toThrow();
    expect(() => checkJsonTextDepth(text, 'f')).not.toThrow();
  });
});

describe('readLimited', () => {
  it('reads a stream up to the limit', async () => {
    const buf = await readLimited(Readable.from([Buffer.from('abc'), Buffer.from('def')]), { max: 6 });
    expect(buf.toString()).toBe('abcdef');
  });

  it('stops an endless stream at the limit + 1 byte and destroys it', async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 1024;
        this.push(Buffer.alloc(1024, 0x41));
      },
    });
    const err = await readLimited(endless, { max: 10_000, source: 'stdin' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputLimitError);
    expect((err as Error).message).toBe(
      'stdin: input exceeds WAFGEN limit input-bytes=10000 (more than 9.8 KiB read; set WAFGEN_MAX_INPUT_BYTES to raise it)',
    );
    expect((err as InputLimitError).status).toBe(413);
    expect(endless.destroyed).toBe(true);
    // What was read ahead is the stream's buffer, not the whole source.
    expect(produced).toBeLessThan(200_000);
  });

  it('reads a web ReadableStream and names the limit it is held to', async () => {
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(4096));
      },
    });
    const err = await readLimited(body as unknown as AsyncIterable<Uint8Array>, {
      limit: 'body-bytes',
      source: 'request body',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ limit: 'body-bytes', max: 1024 * 1024, status: 413 });
    expect((err as Error).message).toMatch(/^request body: input exceeds WAFGEN limit body-bytes=1048576 /);
  });

  it('cuts /dev/zero through readTextFile', async () => {
    await expect(readTextFile('/dev/zero', 4096)).rejects.toThrow(
      /^\/dev\/zero: input exceeds WAFGEN limit input-bytes=4096 \(more than 4\.0 KiB read/,
    );
  });
});

describe('walkJsonValue', () => {
  it('refuses a value nested past json-depth, with its path', () => {
    let v: unknown = 1;
    for (let i = 0; i < 300; i++) v = { a: v };
    expect(() => walkJsonValue(v, { source: 'document' })).toThrow(
      /^document: input exceeds WAFGEN limit json-depth=256 \(nesting goes deeper at \$\.a\.a/,
    );
  });

  it('ends on a cycle (it nests past the limit)', () => {
    const a: Record<string, unknown> = {};
    a.self = [a];
    expect(() => walkJsonValue(a)).toThrow(/json-depth/);
  });

  it('bounds the work on shared sub-objects (a small value that is a huge tree)', () => {
    let v: unknown = [0, 0];
    for (let i = 0; i < 60; i++) v = [v, v];
    expect(() => walkJsonValue(v)).toThrow(/json-values=2000000/);
  });

  it('hands each node its parent state and a path on demand', () => {
    const seen: string[] = [];
    walkJsonValue<number>(
      { a: [{ b: {} }] },
      {
        enter: (key, _node, ctx) => {
          seen.push(`${String(key)}@${ctx.depth}:${ctx.state ?? '-'}:${ctx.path()}`);
          return ctx.depth;
        },
      },
    );
    expect(seen).toEqual(['undefined@1:-:$', 'a@2:1:$.a', '0@3:2:$.a[0]', 'b@4:3:$.a[0].b']);
  });
});

describe('InputLimitError', () => {
  it('is found through a cause chain, and serialises for an API body', () => {
    const limit = new InputLimitError('rules', 'more than 10000 rules', { source: 'body' });
    const wrapped = new Error('outer', { cause: new Error('middle', { cause: limit }) });
    expect(inputLimitErrorOf(wrapped)).toBe(limit);
    expect(inputLimitErrorOf(new Error('x'))).toBeUndefined();
    expect(limit.toJSON()).toEqual({
      code: 'input_limit',
      limit: 'rules',
      max: 10_000,
      message: 'body: input exceeds WAFGEN limit rules=10000 (more than 10000 rules)',
    });
  });
});
