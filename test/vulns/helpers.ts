// Shared bits for the vulnerability importer tests.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VULN_FIXTURES = resolve(fileURLToPath(import.meta.url), '../../fixtures/vulns');

/** A fixed import time, so two imports of the same file are equal. */
export const FETCHED_AT = '2025-06-15T12:00:00.000Z';

export function vulnFixture(name: string): string {
  return join(VULN_FIXTURES, name);
}

export function readFixture(name: string): string {
  return readFileSync(vulnFixture(name), 'utf8');
}

/** 1-based line of the first line of `text` that contains `needle` (to check error positions). */
export function lineOf(text: string, needle: string, from = 1): number {
  const lines = text.split('\n');
  for (let i = from - 1; i < lines.length; i++) if (lines[i]!.includes(needle)) return i + 1;
  throw new Error(`${needle} not found`);
}
