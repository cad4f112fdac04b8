// Exploit evidence: the safe reference fetcher, page-to-text conversion, heuristic fact extraction, the
// untrusted-text fence for prompts, and the collector that ties them together for a vulnerability record.
export * from '../vulns/evidence.js';
export {
  ALLOWED_CONTENT_TYPES,
  FetchFailed,
  FetchRefused,
  MAX_REDIRECTS_LIMIT,
  checkUrl,
  safeFetch,
} from './safe-fetch.js';
export type {
  FailureCode,
  RefusalCode,
  Resolver,
  SafeFetchError,
  SafeFetchOptions,
  SafeFetchResult,
} from './safe-fetch.js';
export { canonicalAddress, checkHostName, classifyAddress, isMetadataAddress } from './address-policy.js';
export type { AddressCategory, AddressVerdict } from './address-policy.js';
export { htmlToText, pageToText, plainToText } from './html-text.js';
export type { HtmlTextOptions, PageText } from './html-text.js';
export { extractFacts, hasFacts } from './extract.js';
export type { ExtractOptions, Extraction, FactField, FactSource } from './extract.js';
export { PAYLOAD_PATTERNS } from './payload-catalog.js';
export type { PayloadPattern } from './payload-catalog.js';
export { fenceUntrusted, fenceUntrustedBlock, neutralise } from './fence.js';
export type { FenceOptions, FencedBlock } from './fence.js';
export { collectEvidence, rankReferences } from './collect.js';
export type { CollectLogger, CollectOptions, ExtractorContext, FactsExtractor, Fetcher } from './collect.js';
