// The library's side of the input limits: a typed WafgenInputError (code `input-limit`, the limit
// named, the HTTP status the API answers), the same capacity judgement in validateRules and
// testRules, and request files held to the byte limit.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { and, byteMatch, not, or, rule } from '../support/rules.js';
import { inputLimitErrorOf } from '../../src/core/limits.js';
import { testRules, validateRules, WafgenInputError } from '../../src/app/library.js';
import type { Statement } from '../../src/waf/schema.js';

const tmp = mkdtempSync(join(tmpdir(), 'wafgen-library-limits-'));
const leaf = byteMatch('jndi');
const nested = (levels: number) => {
  let s: Statement = leaf;
  for (let i = 0; i < levels; i++) s = not(s);
  return rule(s);
};
const caught = async (f: () => unknown): Promise<unknown> => {
  try {
    await f();
  } catch (e) {
    return e;
  }
  return undefined;
};
const request = { method: 'GET', uri: '/jndi' };

describe('library input limits', () => {
  it('validateRules throws a typed input-limit error the API can map', async () => {
    const err = await caught(() => validateRules(nested(65)));
    expect(err).toBeInstanceOf(WafgenInputError);
    expect(err).toMatchObject({
      code: 'input-limit',
      limit: { name: 'statement-depth', max: 64, status: 400 },
    });
    expect((err as Error).message).toMatch(/^document: input exceeds WAFGEN limit statement-depth=64 \(/);
    expect(inputLimitErrorOf(err)?.limit).toBe('statement-depth');
    expect(validateRules(nested(64)).valid).toBe(true);
  });

  it('testRules refuses exactly what validateRules refuses', async () => {
    for (const doc of [nested(65), rule(or(...Array.from({ length: 10_000 }, () => leaf)))]) {
      const v = await caught(() => validateRules(doc));
      const t = await caught(() => testRules(doc, [request]));
      expect((t as WafgenInputError).code).toBe('input-limit');
      expect((t as Error).message).toBe((v as Error).message);
    }
    const overCapacity = Array.from({ length: 600 }, (_, i) =>
      rule(and(leaf, byteMatch('x')), { name: `r${i}`, priority: i }),
    );
    const report = validateRules(overCapacity);
    expect(report).toMatchObject({ valid: false, wcu: 12_000 });
    const t = await caught(() => testRules(overCapacity, [request]));
    expect(t).toMatchObject({ code: 'invalid-document' });
    expect((t as Error).message).toContain('rules need 12000 WCU');
  });

  it('holds request files to maxInputBytes', async () => {
    const file = join(tmp, 'requests.jsonl');
    writeFileSync(file, (JSON.stringify(request) + '\n').repeat(200));
    const err = await caught(() => testRules(rule(leaf), file, { maxInputBytes: 1024 }));
    expect(err).toMatchObject({
      code: 'input-limit',
      limit: { name: 'input-bytes', max: 1024, status: 413 },
    });
    expect((await testRules(rule(leaf), file)).summary.total).toBe(200);
    const endless = await caught(() => testRules(rule(leaf), '/dev/zero', { maxInputBytes: 4096 }));
    expect(endless).toMatchObject({ code: 'input-limit', limit: { name: 'input-bytes' } });
  });
});
