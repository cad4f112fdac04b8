// Locates ../shared (the design, the API model and the corpus) beside the checkout. CI always has
// it; on a machine without it the tests that need it skip with one line, except under CI=true.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const SHARED_DIR = process.env.WAFGEN_SHARED_DIR ?? resolve(REPO_ROOT, '../shared');

export function sharedPath(...parts: string[]): string | undefined {
  const p = resolve(SHARED_DIR, ...parts);
  if (existsSync(p)) return p;
  if (process.env.CI === 'true')
    throw new Error(`${p} is missing: CI must have ../shared beside the checkout`);
  console.warn(`skipping: ${p} not found (set WAFGEN_SHARED_DIR to the shared folder)`);
  return undefined;
}
