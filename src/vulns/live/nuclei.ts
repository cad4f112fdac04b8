// The nuclei template for a CVE, from projectdiscovery/nuclei-templates: either over HTTP from a base
// laid out like the repository (`{base}/http/cves/{year}/{CVE-ID}.yaml`; by default the raw files on
// GitHub) or from a local checkout with the same layout, where `http/cves/**` is searched when the
// exact path is missing (templates sometimes sit in another year's folder). Read through the nuclei
// importer (`parseNucleiVuln`): the record fields from `info`, the exploit requests as evidence.

import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { ImportResult } from '../importers/common.js';
import { parseNucleiVuln } from '../importers/nuclei.js';
import type { Clock } from './clock.js';
import { DEFAULT_NUCLEI_TEMPLATES, DEFAULT_TIMEOUT_MS } from './defaults.js';
import { type FetchImpl, fetchText, HttpError } from './http.js';

/** Templates are kilobytes; the importer keeps at most 200,000 characters of one. */
const DEFAULT_NUCLEI_MAX_BYTES = 1024 * 1024;
/** Folders walked under http/cves when searching a checkout (years, then files). */
const MAX_SEARCH_DEPTH = 4;

export interface NucleiTemplatesOptions {
  /** An http(s) URL or a local directory (default: the raw GitHub files). */
  base?: string;
  timeoutMs?: number;
  maxBytes?: number;
  retries?: number;
  baseDelayMs?: number;
  fetchImpl?: FetchImpl;
  clock?: Clock;
  random?: () => number;
  /** fetchedAt of the record and evidence (default now). */
  fetchedAt?: string;
}

export interface NucleiTemplate {
  /** Where it came from: the URL or the file path (the evidence's `source`). */
  source: string;
  text: string;
}

function isHttpBase(base: string): boolean {
  return /^https?:\/\//i.test(base);
}

/** `http/cves/{year}/{ID}.yaml`, the repository's path for a CVE template. */
export function templatePath(cveId: string): string {
  const id = cveId.toUpperCase();
  const year = /^CVE-(\d{4})-/.exec(id)?.[1];
  if (year === undefined) throw new TypeError(`not a CVE id: ${JSON.stringify(cveId)}`);
  return `http/cves/${year}/${id}.yaml`;
}

export class NucleiTemplates {
  readonly base: string;

  constructor(private readonly opts: NucleiTemplatesOptions = {}) {
    this.base = opts.base ?? DEFAULT_NUCLEI_TEMPLATES;
  }

  /** The template text for `cveId`, or undefined when there is none. */
  async find(cveId: string, signal?: AbortSignal): Promise<NucleiTemplate | undefined> {
    return isHttpBase(this.base) ? this.#fromHttp(cveId, signal) : this.#fromDirectory(cveId);
  }

  /** The template read through the nuclei importer; undefined when there is no template. */
  async lookup(
    cveId: string,
    signal?: AbortSignal,
  ): Promise<(ImportResult & { source: string }) | undefined> {
    const template = await this.find(cveId, signal);
    if (template === undefined) return undefined;
    const result = parseNucleiVuln(
      template.text,
      template.source,
      this.opts.fetchedAt ? { fetchedAt: this.opts.fetchedAt } : {},
    );
    return { ...result, source: template.source };
  }

  async #fromHttp(cveId: string, signal: AbortSignal | undefined): Promise<NucleiTemplate | undefined> {
    const url = `${this.base.replace(/\/+$/, '')}/${templatePath(cveId)}`;
    try {
      const res = await fetchText(url, {
        what: 'nuclei-templates',
        maxBytes: this.opts.maxBytes ?? DEFAULT_NUCLEI_MAX_BYTES,
        timeoutMs: this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        retries: this.opts.retries ?? 2,
        headers: { accept: 'text/plain, application/yaml, */*;q=0.5' },
        ...(this.opts.baseDelayMs !== undefined ? { baseDelayMs: this.opts.baseDelayMs } : {}),
        ...(this.opts.fetchImpl ? { fetchImpl: this.opts.fetchImpl } : {}),
        ...(this.opts.clock ? { clock: this.opts.clock } : {}),
        ...(this.opts.random ? { random: this.opts.random } : {}),
        ...(signal ? { signal } : {}),
      });
      return { source: url, text: res.text };
    } catch (err) {
      if (err instanceof HttpError && (err.status === 404 || err.status === 410)) return undefined;
      throw err;
    }
  }

  async #fromDirectory(cveId: string): Promise<NucleiTemplate | undefined> {
    const root = this.base;
    const info = await stat(root).catch(() => undefined);
    if (!info?.isDirectory()) throw new Error(`nuclei templates directory ${root} does not exist`);
    const exact = join(root, templatePath(cveId));
    const file = (await isFile(exact))
      ? exact
      : await search(join(root, 'http', 'cves'), cveId.toUpperCase());
    if (file === undefined) return undefined;
    const size = (await stat(file)).size;
    const max = this.opts.maxBytes ?? DEFAULT_NUCLEI_MAX_BYTES;
    if (size > max) throw new Error(`nuclei template ${file} is ${size} bytes, over the ${max}-byte limit`);
    return { source: file, text: await readFile(file, 'utf8') };
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** `{ID}.yaml` / `.yml` (any case) under `dir`, depth first in name order; undefined when absent. */
async function search(dir: string, id: string, depth = 0): Promise<string | undefined> {
  if (depth > MAX_SEARCH_DEPTH) return undefined;
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const wanted = new Set([`${id}.yaml`, `${id}.yml`].map((n) => n.toLowerCase()));
  const hit = entries.find((e) => (e.isFile() || e.isSymbolicLink()) && wanted.has(e.name.toLowerCase()));
  if (hit) return join(dir, hit.name);
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const found = await search(join(dir, e.name), id, depth + 1);
    if (found) return found;
  }
  return undefined;
}
