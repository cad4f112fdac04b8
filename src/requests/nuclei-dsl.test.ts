import { describe, expect, it } from 'vitest';
import {
  type DslScope,
  type DslValue,
  evaluateExpression,
  resolvePlaceholders,
  Rng,
  Unresolved,
} from './nuclei-dsl.js';

function scope(vars: Record<string, DslValue> = {}, seed = 'seed'): DslScope {
  return { rng: new Rng(seed), lookup: (name) => vars[name] };
}

describe('evaluateExpression', () => {
  const s = scope({ name: 'World', n: 3, 'interactsh-url': 'oast.example' });

  it.each([
    ['name', 'World'],
    ['"lit"', 'lit'],
    ["'single'", 'single'],
    ['7*7', 49],
    ['10 - 2 - 3', 5],
    ['-n + 10', 7],
    ['"a" + n', 'a3'],
    ['interactsh-url', 'oast.example'],
    ['concat("x", name, n)', 'xWorld3'],
    ['base64(concat("a", "b"))', 'YWI='],
    ['to_upper(name)', 'WORLD'],
    ['len(name)', 5],
    ['sha256("")', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['hex_encode("\xff")', 'ff'],
    ['url_decode("a+b%2F")', 'a b/'],
    ['html_escape("<a href=\'x\'>")', '&lt;a href=&#39;x&#39;&gt;'],
    ['replace("a-b-c", "-", "_")', 'a_b_c'],
    ['trim("  x  ")', 'x'],
    ['join(",", "a", "b")', 'a,b'],
    ['reverse("abc")', 'cba'],
  ])('%s → %j', (expr, want) => {
    expect(evaluateExpression(expr, s)).toEqual(want);
  });

  it('raises Unresolved for unknown names, unknown helpers and bad syntax', () => {
    expect(() => evaluateExpression('csrf', s)).toThrow(Unresolved);
    expect(() => evaluateExpression('aes_gcm("k", "v")', s)).toThrow(/unsupported helper/);
    expect(() => evaluateExpression('a == b', s)).toThrow(Unresolved);
    expect(() => evaluateExpression('1/0', s)).toThrow(/division by zero/);
    expect(() => evaluateExpression('hex_decode("zz")', s)).toThrow(Unresolved);
    expect(() => evaluateExpression('repeat("a", 100000000)', s)).toThrow(Unresolved);
    expect(() => evaluateExpression('gzip_decode("not gzip")', s)).toThrow(Unresolved);
    expect(() => evaluateExpression('hmac("nope", "d", "k")', s)).toThrow(Unresolved);
  });
});

describe('resolvePlaceholders', () => {
  it('replaces every placeholder and reports the first unresolved one', () => {
    const r = resolvePlaceholders('a={{name}}&b={{missing}}&c={{ name }}', scope({ name: 'x' }));
    expect(r.text).toBe('a=x&b={{missing}}&c=x');
    expect(r.unresolved?.placeholder).toBe('{{missing}}');
  });

  it('does not stop at }} inside a string literal', () => {
    expect(resolvePlaceholders('{{concat("}}", "!")}}', scope()).text).toBe('}}!');
  });

  it('leaves text without a closing }} alone', () => {
    expect(resolvePlaceholders('x {{ y', scope()).text).toBe('x {{ y');
  });
});

describe('Rng', () => {
  it('is deterministic per seed', () => {
    const a = new Rng('CVE-1');
    const b = new Rng('CVE-1');
    const c = new Rng('CVE-2');
    const seq = (r: Rng) => Array.from({ length: 5 }, () => r.int(0, 1000));
    expect(seq(a)).toEqual(seq(b));
    expect(seq(new Rng('CVE-1'))).not.toEqual(seq(c));
  });
});
