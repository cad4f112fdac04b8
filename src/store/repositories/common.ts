// Small helpers the repositories share.
import { CveIdSchema } from '../../vulns/model.js';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

export function page(opts: { limit?: number; offset?: number }): { limit: number; offset: number } {
  const limit = Math.trunc(opts.limit ?? DEFAULT_LIMIT);
  const offset = Math.trunc(opts.offset ?? 0);
  return {
    limit: Number.isFinite(limit) ? Math.min(Math.max(limit, 1), MAX_LIMIT) : DEFAULT_LIMIT,
    offset: Number.isFinite(offset) ? Math.max(offset, 0) : 0,
  };
}

/** timestamptz as read (a Date from both drivers) to ISO 8601. */
export function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** bigint and bigserial columns: a number whether the driver gave a number, a bigint or a string. */
export function num(value: number | bigint | string): number {
  return typeof value === 'number' ? value : Number(value);
}

/** Identifiers the store keys by (CVE ids), compared upper-case. */
export function normalizeId(id: string): string {
  return id.trim().toUpperCase();
}

/** A LIKE pattern that matches `text` anywhere, with LIKE's wildcards in it taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Drops keys whose value is undefined, so records compare and print the same however built. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** CVE ids checked, normalised, without repeats and sorted (a TypeError names the first bad one). */
export function distinctCveIds(ids: readonly string[]): string[] {
  const parsed = ids.map((id) => {
    const r = CveIdSchema.safeParse(id);
    if (!r.success) throw new TypeError(`not a CVE id: ${JSON.stringify(id)}`);
    return r.data;
  });
  return [...new Set(parsed)].sort();
}
