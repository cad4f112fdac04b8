// The CISA Known Exploited Vulnerabilities catalog, fetched whole (it is one JSON file of a few MiB)
// and cached on disk for 24 hours: `<cacheDir>/kev-<hash of the URL>.json`, fresh while its mtime is.
// Read through the KEV importer (`parseKev`). When a refresh fails and an older copy is on disk, the
// older copy answers, with a warning.

import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { parseKev } from '../importers/kev.js';
import type { VulnRecord } from '../model.js';
import type { Clock } from './clock.js';
import { DEFAULT_KEV_URL, DEFAULT_TIMEOUT_MS } from './defaults.js';
import { type FetchImpl, fetchText } from './http.js';

export const KEV_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** The catalog was about 1.5 MiB in 2025. */
const DEFAULT_KEV_MAX_BYTES = 64 * 1024 * 1024;

export interface KevCatalogOptions {
  url?: string;
  /** Folder for the cached copy (created when missing); without one the catalog is kept in memory only. */
  cacheDir?: string;
  /** How long a copy stays fresh (default 24 h). */
  maxAgeMs?: number;
  timeoutMs?: number;
  maxBytes?: number;
  retries?: number;
  baseDelayMs?: number;
  fetchImpl?: FetchImpl;
  /** For retry back-off only: freshness is wall-clock time, like the cache file's mtime. */
  clock?: Clock;
  random?: () => number;
}

export type KevOrigin = 'memory' | 'cache' | 'network' | 'stale-cache';

interface Loaded {
  marks: Map<string, VulnRecord>;
  /** When this copy was fetched (ms). */
  at: number;
  origin: KevOrigin;
}

export class KevCatalog {
  readonly url: string;
  /** Problems met while loading that did not stop it (bad entries, a failed refresh). */
  readonly warnings: string[] = [];
  #loaded: Loaded | undefined;
  #loading: Promise<Loaded> | undefined;

  constructor(private readonly opts: KevCatalogOptions = {}) {
    this.url = opts.url ?? DEFAULT_KEV_URL;
  }

  /** The cache file for this URL (undefined without a cache folder). */
  get cacheFile(): string | undefined {
    if (this.opts.cacheDir === undefined) return undefined;
    const hash = createHash('sha256').update(this.url).digest('hex').slice(0, 16);
    return join(this.opts.cacheDir, `kev-${hash}.json`);
  }

  get #maxAge(): number {
    return this.opts.maxAgeMs ?? KEV_MAX_AGE_MS;
  }

  /** The catalog's marks by CVE id, from memory, the disk cache or the network, and where from. */
  async load(signal?: AbortSignal): Promise<{ marks: ReadonlyMap<string, VulnRecord>; origin: KevOrigin }> {
    const now = Date.now();
    if (this.#loaded && now - this.#loaded.at < this.#maxAge)
      return { marks: this.#loaded.marks, origin: 'memory' };
    this.#loading ??= this.#load(signal).finally(() => {
      this.#loading = undefined;
    });
    const loaded = await this.#loading;
    this.#loaded = loaded;
    return { marks: loaded.marks, origin: loaded.origin };
  }

  /** The KEV mark (kev, kevDateAdded, tags) for `cveId`, or undefined when the catalog does not list it. */
  async lookup(cveId: string, signal?: AbortSignal): Promise<VulnRecord | undefined> {
    return (await this.load(signal)).marks.get(cveId.toUpperCase());
  }

  /** The date CISA added `cveId` to the catalog, or undefined when it is not listed. */
  async isKnownExploited(cveId: string, signal?: AbortSignal): Promise<string | undefined> {
    const mark = await this.lookup(cveId, signal);
    return mark === undefined ? undefined : (mark.kevDateAdded ?? '');
  }

  async #load(signal: AbortSignal | undefined): Promise<Loaded> {
    const file = this.cacheFile;
    const cached = file === undefined ? undefined : await this.#readCache(file);
    if (cached && Date.now() - cached.at < this.#maxAge) return cached;
    try {
      const res = await fetchText(this.url, {
        what: 'CISA KEV',
        maxBytes: this.opts.maxBytes ?? DEFAULT_KEV_MAX_BYTES,
        timeoutMs: this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        retries: this.opts.retries ?? 2,
        headers: { accept: 'application/json' },
        ...(this.opts.baseDelayMs !== undefined ? { baseDelayMs: this.opts.baseDelayMs } : {}),
        ...(this.opts.fetchImpl ? { fetchImpl: this.opts.fetchImpl } : {}),
        ...(this.opts.clock ? { clock: this.opts.clock } : {}),
        ...(this.opts.random ? { random: this.opts.random } : {}),
        ...(signal ? { signal } : {}),
      });
      const marks = this.#parse(res.text, this.url, true);
      if (file !== undefined) await this.#writeCache(file, res.text);
      return { marks, at: Date.now(), origin: 'network' };
    } catch (err) {
      if (!cached) throw err;
      const age = new Date(cached.at).toISOString();
      this.warnings.push(
        `using the CISA KEV catalog cached at ${age}: refreshing it failed (${err instanceof Error ? err.message : String(err)})`,
      );
      return { ...cached, origin: 'stale-cache' };
    }
  }

  /** Marks by id; throws when the text is not a KEV catalog at all. */
  #parse(text: string, source: string, warn: boolean): Map<string, VulnRecord> {
    const parsed = parseKev(text, source);
    if (parsed.records.length === 0 && parsed.errors.length > 0) {
      const e = parsed.errors[0]!;
      throw new Error(`the CISA KEV catalog from ${source} could not be read (${e.position}: ${e.message})`);
    }
    if (warn && parsed.errors.length > 0) {
      this.warnings.push(`CISA KEV catalog: ${parsed.errors.length} malformed entries skipped`);
    }
    return new Map(parsed.records.map((r) => [r.id, r]));
  }

  async #readCache(file: string): Promise<Loaded | undefined> {
    try {
      const info = await stat(file);
      const text = await readFile(file, 'utf8');
      return { marks: this.#parse(text, file, false), at: info.mtimeMs, origin: 'cache' };
    } catch {
      return undefined; // missing or unreadable: fetch a new copy
    }
  }

  async #writeCache(file: string, text: string): Promise<void> {
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    try {
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(tmp, text, 'utf8');
      await rename(tmp, file); // atomic: a concurrent reader sees the old copy or the new one
    } catch (err) {
      await unlink(tmp).catch(() => {});
      this.warnings.push(
        `could not cache the CISA KEV catalog in ${file}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}
