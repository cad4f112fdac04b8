// A small, deterministic evaluator for the nuclei DSL expressions found inside `{{...}}` in request
// templates: variables, string and number literals, `+ - * / %`, parentheses and helper calls such as
// `base64(concat("a", randstr))`. Everything works on byte strings (one char per byte), like the
// requests it builds, so `hex_decode("ff")` is the single byte 0xFF and `md5()` hashes bytes.
//
// Randomness (`rand_*`) comes from a seeded PRNG so every run gives the same requests. Anything the
// evaluator does not know (an unknown name, a helper that needs runtime data) raises `Unresolved`; the
// caller then reports the request instead of guessing a value.

import { createHash, createHmac } from 'node:crypto';
import { deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';

export type DslValue = string | number;

/** A placeholder or expression that cannot be given a concrete value. */
export class Unresolved extends Error {
  readonly placeholder: string;
  constructor(placeholder: string, why?: string) {
    super(why ? `unresolved placeholder ${placeholder} (${why})` : `unresolved placeholder ${placeholder}`);
    this.name = 'Unresolved';
    this.placeholder = placeholder;
  }
}

/** Deterministic PRNG (mulberry32) seeded from a string. */
export class Rng {
  private state: number;
  constructor(seed: string) {
    let h = 0x811c9dc5;
    for (let i = 0; i < seed.length; i++) {
      h ^= seed.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    this.state = h >>> 0;
  }
  /** Float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [min, max). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * Math.max(0, max - min));
  }
  pick(charset: string, n: number): string {
    if (charset === '') return '';
    let out = '';
    for (let i = 0; i < n; i++) out += charset[this.int(0, charset.length)];
    return out;
  }
}

/** Largest value an expression or a resolved text may reach (nested variables can double at each level). */
const MAX_RESOLVED_BYTES = 8 * 1024 * 1024;

export const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const DIGITS = '0123456789';

export interface DslScope {
  /** Value of a variable, or undefined when the name is unknown. */
  lookup(name: string): DslValue | undefined;
  rng: Rng;
}

function dslToString(v: DslValue): string {
  return typeof v === 'number' ? String(v) : v;
}

function toNumber(v: DslValue, what: string): number {
  const n = typeof v === 'number' ? v : Number(v.trim());
  if (v === '' || !Number.isFinite(n)) throw new Unresolved(what, `"${dslToString(v)}" is not a number`);
  return n;
}

// ---------------------------------------------------------------------------------------------------
// Helpers

const enc = (s: string) => Buffer.from(s, 'latin1');
const dec = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const hash = (algo: string) => (args: DslValue[]) =>
  createHash(algo)
    .update(enc(str(args, 0)))
    .digest('hex');

function str(args: DslValue[], i: number, fallback?: string): string {
  const v = args[i];
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Unresolved(`argument ${i + 1}`, 'missing argument');
  }
  return dslToString(v);
}

function num(args: DslValue[], i: number, fallback?: number): number {
  const v = args[i];
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Unresolved(`argument ${i + 1}`, 'missing argument');
  }
  return toNumber(v, `argument ${i + 1}`);
}

/** Go's url.QueryEscape on bytes: unreserved bytes kept, space → '+', the rest %XX. */
function queryEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (/[A-Za-z0-9\-_.~]/.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else out += '%' + c.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function queryUnescape(s: string): string {
  return s
    .replace(/\+/g, ' ')
    .replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function without(charset: string, bad: string): string {
  return [...charset].filter((c) => !bad.includes(c)).join('');
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&#34;',
  "'": '&#39;',
};

type Helper = (args: DslValue[], scope: DslScope) => DslValue;

const HELPERS: Record<string, Helper> = {
  base64: (a) => enc(str(a, 0)).toString('base64'),
  base64_py: (a) => enc(str(a, 0)).toString('base64'),
  base64_decode: (a) => dec(Buffer.from(str(a, 0), 'base64')),
  url_encode: (a) => queryEscape(str(a, 0)),
  url_decode: (a) => queryUnescape(str(a, 0)),
  hex_encode: (a) => enc(str(a, 0)).toString('hex'),
  hex_decode: (a) => {
    const s = str(a, 0);
    if (!/^(?:[0-9A-Fa-f]{2})*$/.test(s)) throw new Unresolved('hex_decode()', 'not hex');
    return dec(Buffer.from(s, 'hex'));
  },
  html_escape: (a) => str(a, 0).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c),
  html_unescape: (a) =>
    str(a, 0)
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;|&#34;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&'),
  to_lower: (a) => str(a, 0).replace(/[A-Z]+/g, (c) => c.toLowerCase()),
  to_upper: (a) => str(a, 0).replace(/[a-z]+/g, (c) => c.toUpperCase()),
  md5: hash('md5'),
  sha1: hash('sha1'),
  sha256: hash('sha256'),
  sha512: hash('sha512'),
  hmac: (a) =>
    createHmac(str(a, 0), enc(str(a, 2)))
      .update(enc(str(a, 1)))
      .digest('hex'),
  gzip: (a) => dec(gzipSync(enc(str(a, 0)))),
  gzip_decode: (a) => dec(gunzipSync(enc(str(a, 0)))),
  zlib: (a) => dec(deflateSync(enc(str(a, 0)))),
  zlib_decode: (a) => dec(inflateSync(enc(str(a, 0)))),
  concat: (a) => a.map(dslToString).join(''),
  join: (a) => a.slice(1).map(dslToString).join(str(a, 0)),
  repeat: (a) => {
    const n = num(a, 1);
    const s = str(a, 0);
    if (!Number.isInteger(n) || n < 0 || s.length * n > MAX_RESOLVED_BYTES) {
      throw new Unresolved('repeat()', 'count out of range');
    }
    return s.repeat(n);
  },
  padding: (a) => {
    // padding(input, char, length[, "prefix"|"suffix"]): pad `input` with `char` up to `length` bytes.
    const input = str(a, 0);
    const pad = str(a, 1);
    const length = num(a, 2);
    if (length > MAX_RESOLVED_BYTES) throw new Unresolved('padding()', 'length out of range');
    if (pad === '' || input.length >= length) return input;
    const fill = pad.repeat(Math.ceil((length - input.length) / pad.length)).slice(0, length - input.length);
    return str(a, 3, 'suffix') === 'prefix' ? fill + input : input + fill;
  },
  replace: (a) => str(a, 0).split(str(a, 1)).join(str(a, 2)),
  trim: (a) => {
    const cut = str(a, 1, ' \t\r\n');
    const s = str(a, 0);
    let i = 0;
    let j = s.length;
    while (i < j && cut.includes(s[i]!)) i++;
    while (j > i && cut.includes(s[j - 1]!)) j--;
    return s.slice(i, j);
  },
  trim_space: (a) => str(a, 0).trim(),
  trim_prefix: (a) => (str(a, 0).startsWith(str(a, 1)) ? str(a, 0).slice(str(a, 1).length) : str(a, 0)),
  trim_suffix: (a) =>
    str(a, 1) !== '' && str(a, 0).endsWith(str(a, 1)) ? str(a, 0).slice(0, -str(a, 1).length) : str(a, 0),
  reverse: (a) => [...str(a, 0)].reverse().join(''),
  len: (a) => str(a, 0).length,
  to_string: (a) => str(a, 0),
  to_number: (a) => num(a, 0),
  unix_time: (a) => 1_700_000_000 + num(a, 0, 0),
  rand_base: (a, s) => s.rng.pick(str(a, 1, LETTERS + DIGITS), num(a, 0)),
  rand_char: (a, s) => s.rng.pick(str(a, 0, LETTERS + DIGITS), 1),
  rand_int: (a, s) => s.rng.int(num(a, 0, 0), num(a, 1, 2147483647)),
  rand_text_alpha: (a, s) => s.rng.pick(without(LETTERS, str(a, 1, '')), num(a, 0)),
  rand_text_alphanumeric: (a, s) => s.rng.pick(without(LETTERS + DIGITS, str(a, 1, '')), num(a, 0)),
  rand_text_numeric: (a, s) => s.rng.pick(without(DIGITS, str(a, 1, '')), num(a, 0)),
};

// ---------------------------------------------------------------------------------------------------
// Expression parsing

type Token =
  { t: 'num'; v: number } | { t: 'str'; v: string } | { t: 'id'; v: string } | { t: 'op'; v: string };

const NUMBER = /[0-9]+(?:\.[0-9]+)?/y;
/** `interactsh-url` is the one name with a dash; otherwise `-` is subtraction. */
const IDENT = /interactsh-url|[A-Za-z_][A-Za-z0-9_.]*/y;

function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '"' || c === "'") {
      let v = '';
      i++;
      while (i < expr.length && expr[i] !== c) {
        if (expr[i] === '\\' && i + 1 < expr.length) {
          const e = expr[i + 1]!;
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          i += 2;
        } else v += expr[i++];
      }
      if (i >= expr.length) throw new Unresolved(`{{${expr}}}`, 'unterminated string');
      i++;
      out.push({ t: 'str', v });
    } else if (/[0-9]/.test(c)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(expr)!;
      out.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      IDENT.lastIndex = i;
      const m = IDENT.exec(expr)!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else if ('()+-*/%,'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
    } else {
      throw new Unresolved(`{{${expr}}}`, `unsupported syntax "${c}"`);
    }
  }
  return out;
}

type Node =
  | { k: 'lit'; v: DslValue }
  | { k: 'var'; name: string }
  | { k: 'call'; name: string; args: Node[] }
  | { k: 'bin'; op: string; a: Node; b: Node }
  | { k: 'neg'; a: Node };

class ExprParser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  parse(): Node {
    const node = this.additive();
    if (this.i < this.tokens.length) this.fail('unexpected token');
    return node;
  }

  private fail(why: string): never {
    throw new Unresolved(`{{${this.source}}}`, why);
  }

  private isOp(v: string): boolean {
    const t = this.tokens[this.i];
    return t !== undefined && t.t === 'op' && t.v === v;
  }

  private additive(): Node {
    let a = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.tokens[this.i++] as { v: string }).v;
      a = { k: 'bin', op, a, b: this.multiplicative() };
    }
    return a;
  }

  private multiplicative(): Node {
    let a = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = (this.tokens[this.i++] as { v: string }).v;
      a = { k: 'bin', op, a, b: this.unary() };
    }
    return a;
  }

  private unary(): Node {
    if (this.isOp('-')) {
      this.i++;
      return { k: 'neg', a: this.unary() };
    }
    return this.primary();
  }

  private primary(): Node {
    if (++this.depth > 64) this.fail('expression too deep');
    try {
      const t = this.tokens[this.i++];
      if (!t) return this.fail('unexpected end');
      if (t.t === 'num' || t.t === 'str') return { k: 'lit', v: t.v };
      if (t.t === 'op' && t.v === '(') {
        const inner = this.additive();
        if (!this.isOp(')')) this.fail('missing ")"');
        this.i++;
        return inner;
      }
      if (t.t === 'id') {
        if (!this.isOp('(')) return { k: 'var', name: t.v };
        this.i++;
        const args: Node[] = [];
        if (!this.isOp(')')) {
          for (;;) {
            args.push(this.additive());
            if (this.isOp(',')) {
              this.i++;
              continue;
            }
            break;
          }
        }
        if (!this.isOp(')')) this.fail('missing ")"');
        this.i++;
        return { k: 'call', name: t.v, args };
      }
      return this.fail(`unexpected "${t.v}"`);
    } finally {
      this.depth--;
    }
  }
}

function evalNode(node: Node, scope: DslScope): DslValue {
  switch (node.k) {
    case 'lit':
      return node.v;
    case 'var': {
      const v = scope.lookup(node.name);
      if (v === undefined) throw new Unresolved(`{{${node.name}}}`);
      return v;
    }
    case 'neg':
      return -toNumber(evalNode(node.a, scope), '-');
    case 'bin': {
      const a = evalNode(node.a, scope);
      const b = evalNode(node.b, scope);
      if (node.op === '+')
        return typeof a === 'number' && typeof b === 'number' ? a + b : dslToString(a) + dslToString(b);
      const x = toNumber(a, node.op);
      const y = toNumber(b, node.op);
      if ((node.op === '/' || node.op === '%') && y === 0) throw new Unresolved(node.op, 'division by zero');
      return node.op === '-' ? x - y : node.op === '*' ? x * y : node.op === '/' ? x / y : x % y;
    }
    case 'call': {
      const helper = HELPERS[node.name];
      if (!helper) throw new Unresolved(`{{${node.name}()}}`, 'unsupported helper');
      return helper(
        node.args.map((a) => evalNode(a, scope)),
        scope,
      );
    }
  }
}

/** Evaluate the text inside one `{{...}}`. Throws `Unresolved` when it cannot be given a value. */
export function evaluateExpression(expr: string, scope: DslScope): DslValue {
  const trimmed = expr.trim();
  try {
    // A plain name (possibly with characters the expression grammar does not allow) is a lookup.
    const direct = scope.lookup(trimmed);
    if (direct !== undefined) return direct;
    if (/^[A-Za-z_][\w.-]*$/.test(trimmed) && trimmed.includes('-') && trimmed !== 'interactsh-url') {
      throw new Unresolved(`{{${trimmed}}}`);
    }
    return evalNode(new ExprParser(tokenize(trimmed), trimmed).parse(), scope);
  } catch (err) {
    if (err instanceof Unresolved) throw err;
    // A helper failing on its input (bad gzip data, an unknown HMAC algorithm, a string too long).
    throw new Unresolved(`{{${trimmed}}}`, err instanceof Error ? err.message : String(err));
  }
}

/** Offset of the `}}` closing the `{{` at `open`, skipping quoted strings; -1 if none. */
function findClose(text: string, open: number): number {
  let i = open + 2;
  while (i < text.length) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      // An unmatched quote is text, not a string literal: fall back to the first `}}`.
      if (end < 0) return text.indexOf('}}', open + 2);
      i = end + 1;
      continue;
    }
    if (c === '}' && text[i + 1] === '}') return i;
    i++;
  }
  return -1;
}

/** The marker nuclei also accepts around payload names: `§name§` (UTF-8 bytes of U+00A7). */
const SECTION = '\xc2\xa7';

/**
 * Replace every `{{expr}}` in `text` with its value (and `§name§` with a known name's value).
 * Placeholders that cannot be resolved stay as they are; the first one is reported in `unresolved`.
 */
export function resolvePlaceholders(
  text: string,
  scope: DslScope,
): { text: string; unresolved?: Unresolved } {
  let out = '';
  let pos = 0;
  let unresolved: Unresolved | undefined;
  for (let open = text.indexOf('{{'); open >= 0; open = text.indexOf('{{', pos)) {
    const close = findClose(text, open);
    if (close < 0) break;
    out += text.slice(pos, open);
    const expr = text.slice(open + 2, close);
    try {
      out += dslToString(evaluateExpression(expr, scope));
    } catch (err) {
      unresolved ??= err instanceof Unresolved ? err : new Unresolved(`{{${expr.trim()}}}`, String(err));
      out += text.slice(open, close + 2);
    }
    pos = close + 2;
    if (out.length > MAX_RESOLVED_BYTES) {
      return { text: '', unresolved: new Unresolved(`{{${expr.trim()}}}`, 'value too large') };
    }
  }
  out += text.slice(pos);
  if (out.includes(SECTION)) {
    out = out.replace(/\xc2\xa7([A-Za-z_][\w-]*)\xc2\xa7/g, (whole, name: string) => {
      try {
        const v = scope.lookup(name);
        return v === undefined ? whole : dslToString(v);
      } catch (err) {
        unresolved ??= err instanceof Unresolved ? err : new Unresolved(whole, String(err));
        return whole;
      }
    });
  }
  return unresolved ? { text: out, unresolved } : { text: out };
}
