import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  PRE_PARSE_TRANSFORMATIONS,
  PRE_PARSE_TRANSFORMATION_TYPES,
  TEXT_TRANSFORMATIONS,
  TEXT_TRANSFORMATION_TYPES,
  applyPreParseTransformations,
  applyTextTransformations,
  compileTextTransformations,
  isTextTransformationType,
  type Transform,
} from './index.js';

// Shared JSON vectors, one file per type: test/vectors/transforms/<TYPE>.json and preparse-<TYPE>.json.

interface Vector {
  input: string;
  output: string;
  note?: string;
}
interface VectorFile {
  type: string;
  source: string;
  vectors: Vector[];
}

const VECTOR_DIR = new URL('../../../test/vectors/transforms/', import.meta.url);
const PRE_PARSE_PREFIX = 'preparse-';

const files = readdirSync(VECTOR_DIR)
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((name) => ({
    name,
    preParse: name.startsWith(PRE_PARSE_PREFIX),
    data: JSON.parse(readFileSync(new URL(name, VECTOR_DIR), 'utf8')) as VectorFile,
  }));

function isByteString(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

/** Readable form of a byte string for failure messages. */
function show(s: string): string {
  return JSON.stringify(s).replace(/[\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
}

function registryFor(preParse: boolean): Readonly<Record<string, Transform>> {
  return preParse ? PRE_PARSE_TRANSFORMATIONS : TEXT_TRANSFORMATIONS;
}

describe('vector files', () => {
  it('every registered text transformation has a vector file', () => {
    const names = new Set(files.filter((f) => !f.preParse).map((f) => f.name));
    for (const type of TEXT_TRANSFORMATION_TYPES) expect(names, type).toContain(`${type}.json`);
    expect(Object.keys(TEXT_TRANSFORMATIONS).sort()).toEqual([...TEXT_TRANSFORMATION_TYPES].sort());
    expect(TEXT_TRANSFORMATION_TYPES).toHaveLength(31);
  });

  it('every registered pre-parse transformation has a vector file', () => {
    const names = new Set(files.filter((f) => f.preParse).map((f) => f.name));
    for (const type of PRE_PARSE_TRANSFORMATION_TYPES) expect(names, type).toContain(`preparse-${type}.json`);
    expect(Object.keys(PRE_PARSE_TRANSFORMATIONS).sort()).toEqual([...PRE_PARSE_TRANSFORMATION_TYPES].sort());
  });

  it.each(files.map((f) => [f.name, f] as const))('%s is well-formed and names a registered type', (_, f) => {
    expect(f.name).toBe(`${f.preParse ? PRE_PARSE_PREFIX : ''}${f.data.type}.json`);
    expect(Object.hasOwn(registryFor(f.preParse), f.data.type)).toBe(true);
    expect(f.data.source.length).toBeGreaterThan(0);
    expect(f.data.vectors.length).toBeGreaterThanOrEqual(5);
    for (const v of f.data.vectors) {
      expect(typeof v.input).toBe('string');
      expect(typeof v.output).toBe('string');
      expect(isByteString(v.input) && isByteString(v.output), show(v.input)).toBe(true);
    }
  });
});

for (const f of files) {
  describe(`${f.preParse ? 'pre-parse ' : ''}${f.data.type}`, () => {
    const fn = registryFor(f.preParse)[f.data.type];
    it.each(f.data.vectors.map((v) => [v.note ?? show(v.input), v] as const))('%s', (_, v) => {
      expect(fn, f.data.type).toBeTypeOf('function');
      const out = (fn as Transform)(v.input);
      expect(show(out), `input ${show(v.input)}`).toBe(show(v.output));
    });
  });
}

describe('applyTextTransformations', () => {
  it('applies in ascending Priority, not list order', () => {
    // URL_DECODE then HTML_ENTITY_DECODE decodes both layers; the reverse order leaves "&lt;".
    const value = '%26lt%3Bscript%26gt%3B';
    const listed = [
      { Priority: 5, Type: 'HTML_ENTITY_DECODE' },
      { Priority: 1, Type: 'URL_DECODE' },
    ];
    expect(applyTextTransformations(value, listed)).toBe('<script>');
    const reversed = [
      { Priority: 1, Type: 'HTML_ENTITY_DECODE' },
      { Priority: 5, Type: 'URL_DECODE' },
    ];
    expect(applyTextTransformations(value, reversed)).toBe('&lt;script&gt;');
  });

  it('orders three or more, with non-consecutive priorities', () => {
    const list = [
      { Priority: 30, Type: 'LOWERCASE' },
      { Priority: 0, Type: 'BASE64_DECODE' },
      { Priority: 7, Type: 'COMPRESS_WHITE_SPACE' },
    ];
    // base64("SELECT \t FROM") → compress → lowercase
    expect(applyTextTransformations('U0VMRUNUIAkgRlJPTQ==', list)).toBe('select from');
    // A second call with the same (cached) list gives the same answer.
    expect(applyTextTransformations('U0VMRUNUIAkgRlJPTQ==', list)).toBe('select from');
    expect(compileTextTransformations(list)('U0VMRUNUIAkgRlJPTQ==')).toBe('select from');
  });

  it('returns the value unchanged for an empty list and handles a single transformation', () => {
    expect(applyTextTransformations('A%41', [])).toBe('A%41');
    expect(applyTextTransformations('A%41', [{ Priority: 0, Type: 'URL_DECODE' }])).toBe('AA');
  });

  it('throws a clear error for an unknown type', () => {
    expect(() => applyTextTransformations('x', [{ Priority: 0, Type: 'ROT13' }])).toThrow(
      /Unknown text transformation type "ROT13"/,
    );
    expect(() =>
      applyTextTransformations('x', [
        { Priority: 0, Type: 'NONE' },
        { Priority: 1, Type: 'lowercase' },
      ]),
    ).toThrow(/Unknown text transformation type "lowercase"/);
    expect(() => applyTextTransformations('x', [{ Priority: 0, Type: 'toString' }])).toThrow(/Unknown/);
    expect(() => compileTextTransformations([{ Priority: 0, Type: '__proto__' }])).toThrow(/Unknown/);
    expect(isTextTransformationType('constructor')).toBe(false);
    expect(isTextTransformationType('SHA256')).toBe(true);
  });
});

describe('applyPreParseTransformations', () => {
  it('applies in ascending Priority', () => {
    const list = [
      { Priority: 2, Type: 'COMBINE_DUPLICATE_QUERY_ARGS_BY_COMMA' },
      { Priority: 1, Type: 'REPLACE_SEMICOLONS_WITH_AMPERSANDS' },
    ];
    expect(applyPreParseTransformations('a=1;b=2;a=3', list)).toBe('a=1,3&b=2');
    const reversed = [
      { Priority: 1, Type: 'COMBINE_DUPLICATE_QUERY_ARGS_BY_COMMA' },
      { Priority: 2, Type: 'REPLACE_SEMICOLONS_WITH_AMPERSANDS' },
    ];
    expect(applyPreParseTransformations('a=1;b=2;a=3', reversed)).toBe('a=1&b=2&a=3');
  });

  it('throws for a type that is only a text transformation', () => {
    expect(() => applyPreParseTransformations('a=1', [{ Priority: 0, Type: 'LOWERCASE' }])).toThrow(
      /Unknown pre-parse text transformation type "LOWERCASE"/,
    );
  });
});

// Deterministic fuzzing: every transformation maps byte strings to byte strings and never throws.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING =
  '%+&#;xXuU{}\\/.*-=!<>\'" \t\r\n\v\f\0' + '0123456789abcdefABCDEF' + '\xa0\xc3\xa9\xed\xf0\xff';

function randomByteString(rand: () => number, maxLength: number): string {
  const length = Math.floor(rand() * (maxLength + 1));
  let s = '';
  for (let i = 0; i < length; i++) {
    s +=
      rand() < 0.7
        ? INTERESTING[Math.floor(rand() * INTERESTING.length)]
        : String.fromCharCode(Math.floor(rand() * 256));
  }
  return s;
}

describe('fuzz', () => {
  const rand = mulberry32(0x5eed);
  const inputs = Array.from({ length: 400 }, () => randomByteString(rand, 48));
  const all = [
    ...Object.entries(TEXT_TRANSFORMATIONS),
    ...Object.entries(PRE_PARSE_TRANSFORMATIONS).map(([k, v]) => [`preparse ${k}`, v] as const),
  ];

  it.each(all)('%s outputs only byte strings', (_, fn) => {
    for (const input of inputs) {
      const out = fn(input);
      if (!isByteString(out)) expect.fail(`non-byte output for ${show(input)}: ${JSON.stringify(out)}`);
      // A second pass must also be well-defined (outputs feed further transformations).
      expect(isByteString(fn(out))).toBe(true);
    }
  });

  it('random pipelines output only byte strings', () => {
    for (let k = 0; k < 200; k++) {
      const list = Array.from({ length: 1 + Math.floor(rand() * 5) }, (_, i) => ({
        Priority: Math.floor(rand() * 100) * 10 + i,
        Type: TEXT_TRANSFORMATION_TYPES[Math.floor(rand() * TEXT_TRANSFORMATION_TYPES.length)] as string,
      }));
      const input = inputs[k] as string;
      expect(isByteString(applyTextTransformations(input, list))).toBe(true);
    }
  });

  it('runs in linear time on adversarial inputs', { timeout: 10_000 }, () => {
    const n = 100_000;
    const adversarial = [
      '%'.repeat(n),
      '%u'.repeat(n / 2),
      '\\'.repeat(n),
      '\\u'.repeat(n / 2),
      '&#'.repeat(n / 2),
      '&'.repeat(n),
      ' /'.repeat(n / 2),
      '../'.repeat(n / 3),
      'a/'.repeat(n / 2) + '../'.repeat(n / 3),
      '/*'.repeat(n / 2),
      '0x'.repeat(n / 2),
      'a=1&'.repeat(n / 4),
      ' \t'.repeat(n / 2) + 'x',
      '\xc3'.repeat(n),
    ];
    for (const [, fn] of all) for (const input of adversarial) expect(isByteString(fn(input))).toBe(true);
  });
});
