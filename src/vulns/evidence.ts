// Exploit evidence: what is known about how a vulnerability is exploited, each piece with its source
// so a report can say where a signature came from.
import { z } from 'zod';

import { ExploitFactsSchema } from './model.js';

/** A request in the design's test-case shape (JSON Lines format), as evidence. */
const EvidenceRequestSchema = z.object({
  id: z.string().min(1).max(300),
  method: z.string().min(1).max(20),
  uri: z.string().min(1).max(16_384),
  headers: z.array(z.tuple([z.string().max(256), z.string().max(16_384)])).max(200),
  body: z.string().max(1_048_576).optional(),
  expect: z.enum(['block', 'allow']).default('block'),
  class: z.string().max(50).optional(),
  cwe: z.string().max(30).nullable().optional(),
  cve: z.string().max(30).nullable().optional(),
  source: z.string().max(2000).optional(),
});
export type EvidenceRequest = z.infer<typeof EvidenceRequestSchema>;

export const EVIDENCE_KINDS = ['request', 'article', 'signature', 'template'] as const;

export const EvidenceSchema = z.object({
  cveId: z.string(),
  kind: z.enum(EVIDENCE_KINDS),
  /** URL, file path or dataset name it came from. */
  source: z.string().min(1).max(2000),
  title: z.string().max(500).optional(),
  /** kind=request: one exploit request. */
  request: EvidenceRequestSchema.optional(),
  /** kind=article|template: the (untrusted) text, already cleaned and truncated. */
  text: z.string().max(200_000).optional(),
  /** kind=signature: facts extracted from the text or the requests. */
  signature: ExploitFactsSchema.optional(),
  /** How the signature was extracted: heuristic, llm:<model>, bundled, nuclei. */
  extractor: z.string().max(100).optional(),
  fetchedAt: z.string(),
  /** sha256 of the content, to keep one copy of the same evidence. */
  contentHash: z.string().max(128),
});
export type Evidence = z.infer<typeof EvidenceSchema>;
