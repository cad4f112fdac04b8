// Evidence from a vulnerability record's reference URLs: each reference is fetched through the safe fetcher,
// converted to clean text (an 'article', ready to be fenced for a prompt) and read for exploit facts (a
// 'signature'). The facts come from an optional extractor hook (the LLM extractor plugs in here) with the
// heuristic extractor as the default and as the fallback when the hook fails or returns something invalid.
// A reference that cannot be fetched is skipped with a logged reason; nothing here throws for one bad page.

import { createHash } from 'node:crypto';

import { type ExploitFacts, type VulnRecord, ExploitFactsSchema } from '../vulns/model.js';
import { extractFacts, hasFacts } from './extract.js';
import { fenceUntrusted } from './fence.js';
import { DEFAULT_MAX_TEXT_CHARS, pageToText } from './html-text.js';
import { type Evidence, EvidenceSchema } from '../vulns/evidence.js';
import {
  type SafeFetchOptions,
  type SafeFetchResult,
  FetchFailed,
  FetchRefused,
  safeFetch,
} from './safe-fetch.js';
import { stripControls } from './text-clean.js';

/** What the collector needs from a fetcher (safeFetch, or a test double). */
export type Fetcher = (url: string) => Promise<SafeFetchResult>;

interface ExtractorContext {
  /** The page's final URL. */
  source: string;
  title?: string;
  /** The same text, already fenced as untrusted data: what an LLM prompt must use. */
  fenced: string;
}

/**
 * Pluggable fact extractor (the LLM one). It receives the cleaned, unfenced text plus a fenced copy for
 * prompts; its output is validated with ExploitFactsSchema before use.
 */
export type FactsExtractor = (text: string, context: ExtractorContext) => Promise<ExploitFacts>;

interface CollectLogger {
  warn(message: string): void;
}

export interface CollectOptions {
  /** Fetch references at all (false: offline, returns no evidence). */
  fetch: boolean;
  /** Defaults to safeFetch with `fetchOptions`. */
  fetcher?: Fetcher;
  fetchOptions?: SafeFetchOptions;
  /** How many references to fetch (default 5, most promising first). */
  maxReferences?: number;
  /** Fetches in flight at once (default 3). */
  concurrency?: number;
  /** Fact extractor hook; the heuristic extractor is used when absent or when it fails. */
  extractor?: FactsExtractor;
  /** Name recorded in Evidence.extractor for the hook's output, e.g. "llm:gpt-4.1-mini" (default "llm"). */
  extractorName?: string;
  /** Cap on each article's text (default 100,000 characters). */
  maxChars?: number;
  /** Where skipped references are reported (default: console.warn). */
  logger?: CollectLogger;
  /** Clock, for tests. */
  now?: () => Date;
}

const DEFAULT_MAX_REFERENCES = 5;

const defaultLogger: CollectLogger = { warn: (message) => console.warn(`wafgen: evidence: ${message}`) };

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** JSON with sorted keys, so equal facts hash equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Order references so the likeliest sources of exploit detail come first: PoC and exploit pages, then
 * advisories and write-ups, with the CVE databases (which only repeat the record) last.
 */
export function rankReferences(references: readonly string[]): string[] {
  const score = (url: string): number => {
    const u = url.toLowerCase();
    if (/\b(poc|exploit|proof-of-concept)\b|exploit-db\.com|packetstormsecurity|\/gist\.github/.test(u))
      return 0;
    if (/nvd\.nist\.gov|cve\.org|cve\.mitre\.org|cisa\.gov\/known-exploited/.test(u)) return 3;
    if (/github\.com\/[^/]+\/[^/]+\/?$/.test(u)) return 2; // a bare repository page
    return 1;
  };
  const unique = [...new Set(references.map((r) => r.trim()).filter((r) => /^https?:\/\//i.test(r)))];
  return unique
    .map((url, index) => ({ url, index, s: score(url) }))
    .sort((a, b) => a.s - b.s || a.index - b.index)
    .map((x) => x.url);
}

function reasonOf(err: unknown): string {
  if (err instanceof FetchRefused) return `refused (${err.code}): ${err.reason}`;
  if (err instanceof FetchFailed) return `failed (${err.code}): ${err.reason}`;
  return `failed: ${err instanceof Error ? err.message : String(err)}`;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

interface Page {
  url: string;
  title?: string;
  text: string;
}

/** Collect article and signature evidence for a record's references (see the file comment). */
export async function collectEvidence(record: VulnRecord, options: CollectOptions): Promise<Evidence[]> {
  if (!options.fetch) return [];
  const logger = options.logger ?? defaultLogger;
  const now = options.now ?? (() => new Date());
  const maxChars = Math.min(options.maxChars ?? DEFAULT_MAX_TEXT_CHARS, 200_000);
  const fetcher: Fetcher = options.fetcher ?? ((url) => safeFetch(url, options.fetchOptions));
  const references = rankReferences(record.references).slice(
    0,
    Math.max(0, options.maxReferences ?? DEFAULT_MAX_REFERENCES),
  );

  const pages = await mapLimit(
    references,
    options.concurrency ?? 3,
    async (url): Promise<Page | undefined> => {
      try {
        const res = await fetcher(url);
        const page = pageToText(res.text, res.contentType, { maxChars });
        if (page.text.trim() === '') {
          logger.warn(`${record.id}: skipped ${url}: no readable text`);
          return undefined;
        }
        return { url: res.url, ...(page.title ? { title: page.title } : {}), text: page.text };
      } catch (err) {
        logger.warn(`${record.id}: skipped ${url}: ${reasonOf(err)}`);
        return undefined;
      }
    },
  );

  const evidence: Evidence[] = [];
  const seen = new Set<string>();
  for (const page of pages) {
    if (!page) continue;
    const contentHash = sha256(page.text);
    if (seen.has(contentHash)) continue; // the same page behind two references
    seen.add(contentHash);
    const fetchedAt = now().toISOString();
    const source = page.url.slice(0, 2000);
    const title = page.title ? stripControls(page.title).slice(0, 500) : undefined;
    evidence.push(
      EvidenceSchema.parse({
        cveId: record.id,
        kind: 'article',
        source,
        ...(title ? { title } : {}),
        text: page.text,
        fetchedAt,
        contentHash,
      }),
    );

    const { facts, extractor } = await factsFor(page, options, logger, record.id);
    if (!hasFacts(facts)) continue;
    evidence.push(
      EvidenceSchema.parse({
        cveId: record.id,
        kind: 'signature',
        source,
        ...(title ? { title } : {}),
        signature: facts,
        extractor,
        fetchedAt,
        contentHash: sha256(canonicalJson({ source, signature: facts })),
      }),
    );
  }
  return evidence;
}

async function factsFor(
  page: Page,
  options: CollectOptions,
  logger: CollectLogger,
  cveId: string,
): Promise<{ facts: ExploitFacts; extractor: string }> {
  if (options.extractor) {
    const name = (options.extractorName ?? 'llm').slice(0, 100);
    try {
      const fenced = fenceUntrusted(page.text, {
        label: 'article',
        source: page.url,
        maxChars: page.text.length,
      });
      const raw = await options.extractor(page.text, {
        source: page.url,
        ...(page.title ? { title: page.title } : {}),
        fenced,
      });
      const parsed = ExploitFactsSchema.safeParse(raw);
      if (parsed.success) return { facts: parsed.data, extractor: name };
      logger.warn(`${cveId}: ${name} extractor returned invalid facts for ${page.url}; using the heuristic`);
    } catch (err) {
      logger.warn(
        `${cveId}: ${name} extractor failed for ${page.url} (${err instanceof Error ? err.message : String(err)}); using the heuristic`,
      );
    }
  }
  return { facts: extractFacts(page.text).facts, extractor: 'heuristic' };
}
