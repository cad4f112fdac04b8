// The one-way house: layers.js is a strict order (no two folders may import each other), it names
// every top-level folder of src/, and eslint fails an import against the grain or an I/O import in
// the pure layers. The rule is run on real file paths of the tree, as `npm run lint` runs it.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT } from './support/shared.js';

const { LAYERS } = (await import(join(REPO_ROOT, 'layers.js'))) as {
  LAYERS: Record<string, readonly string[]>;
};

describe('layers.js', () => {
  it('names every top-level folder of src/, and only those', () => {
    const folders = readdirSync(join(REPO_ROOT, 'src'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(Object.keys(LAYERS).sort()).toEqual(folders);
    for (const allowed of Object.values(LAYERS)) for (const name of allowed) expect(folders).toContain(name);
  });

  it('is a strict order: no folder reaches itself through the folders it may import', () => {
    const reaches = (from: string, seen = new Set<string>()): Set<string> => {
      for (const next of LAYERS[from] ?? [])
        if (!seen.has(next)) {
          seen.add(next);
          reaches(next, seen);
        }
      return seen;
    };
    for (const name of Object.keys(LAYERS)) expect(reaches(name).has(name), name).toBe(false);
  });
});

describe('eslint enforces the direction', () => {
  let eslint: ESLint;
  beforeAll(() => {
    eslint = new ESLint({ cwd: REPO_ROOT });
  });
  const problems = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: join(REPO_ROOT, file) });
    return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
  };

  it('fails an import against the grain', async () => {
    const up = await problems(
      'src/waf/against-the-grain.ts',
      "import type { Service } from '../app/index.js';\nexport type S = Service;\n",
    );
    expect(up).toEqual([expect.stringMatching(/^boundaries\/dependencies: waf\/ may not import app\//)]);
    const sideways = await problems(
      'src/evaluator/against-the-grain.ts',
      "import { lintDocument } from '../lint/index.js';\nexport const f = lintDocument;\n",
    );
    expect(sideways).toEqual([expect.stringMatching(/evaluator\/ may not import lint\//)]);
  });

  it('lets an import down the layers through', async () => {
    expect(
      await problems(
        'src/lint/with-the-grain.ts',
        "import { compileDocument } from '../evaluator/index.js';\nexport const f = compileDocument;\n",
      ),
    ).toEqual([]);
  });

  it('keeps the evaluator and the shared API app free of I/O modules', async () => {
    expect(
      await problems(
        'src/evaluator/reads-files.ts',
        "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n",
      ),
    ).toEqual([expect.stringMatching(/^no-restricted-imports: 'node:fs'/)]);
    expect(
      await problems(
        'src/api/uses-http.ts',
        "import { createServer } from 'node:http';\nexport const f = createServer;\n",
      ),
    ).toEqual([expect.stringMatching(/^no-restricted-imports: 'node:http'/)]);
    expect(
      await problems(
        'src/api/adapters/uses-http.ts',
        "import { createServer } from 'node:http';\nexport const f = createServer;\n",
      ),
    ).toEqual([]);
  });
});
