// The vulnerability record every part of wafgen shares: importers produce it, the store keeps it,
// the generator reads it. Validated with Zod wherever it crosses a boundary.
import { z } from 'zod';

export const CVE_ID = /^CVE-\d{4}-\d{4,}$/i;
export const CveIdSchema = z
  .string()
  .trim()
  .regex(CVE_ID, 'must look like CVE-2021-44228')
  .transform((s) => s.toUpperCase());

import { SEVERITIES, type Severity } from './severity.js';

export type { Severity };

/** Attack classes, as the corpus names them. */
export const ATTACK_CLASSES = [
  'sqli',
  'xss',
  'path-traversal',
  'command-injection',
  'ssti',
  'expression-injection',
  'jndi-injection',
  'deserialization',
  'xxe',
  'ssrf',
  'auth-bypass',
  'file-upload',
  'code-injection',
  'info-disclosure',
] as const;
export type AttackClass = (typeof ATTACK_CLASSES)[number];

/** What a rule needs to know about how the vulnerability is exploited over HTTP. */
export const ExploitFactsSchema = z.object({
  attackClass: z.enum(ATTACK_CLASSES).optional(),
  /** Vulnerable paths as they appear in requests (may contain `*` for one path segment). */
  endpoints: z.array(z.string().min(1).max(512)).default([]),
  /** Request parameters (query, form, JSON) that carry the payload. */
  parameters: z.array(z.string().min(1).max(256)).default([]),
  methods: z.array(z.string().regex(/^[A-Z]{3,10}$/)).default([]),
  /** Header names involved (carrying the payload, or required by the exploit). */
  headers: z.array(z.string().min(1).max(128)).default([]),
  /** Literal fragments of exploit payloads that benign traffic does not carry. */
  payloadTokens: z.array(z.string().min(1).max(200)).default([]),
  notes: z.string().max(2000).optional(),
});
export type ExploitFacts = z.infer<typeof ExploitFactsSchema>;

export const VulnRecordSchema = z.object({
  id: CveIdSchema,
  title: z.string().max(300).optional(),
  description: z.string().max(20_000).default(''),
  cwes: z.array(z.string().regex(/^(?:CWE-\d+|NVD-CWE-(?:Other|noinfo))$/)).default([]),
  cvss: z
    .object({
      score: z.number().min(0).max(10),
      vector: z.string().max(200).optional(),
      version: z.string().max(10).optional(),
    })
    .optional(),
  severity: z.enum(SEVERITIES).default('unknown'),
  vendor: z.string().max(200).optional(),
  product: z.string().max(200).optional(),
  cpes: z.array(z.string().max(500)).default([]),
  references: z.array(z.string().max(2000)).default([]),
  kev: z.boolean().default(false),
  kevDateAdded: z.string().optional(),
  published: z.string().optional(),
  modified: z.string().optional(),
  /** Where the record came from: bundled, nvd, cve5, kev, nuclei, jsonl, manual. */
  source: z.string().min(1).max(100),
  /** ISO timestamp of when wafgen obtained it. */
  fetchedAt: z.string(),
  tags: z.array(z.string().max(100)).default([]),
  exploit: ExploitFactsSchema.optional(),
});
export type VulnRecord = z.infer<typeof VulnRecordSchema>;
export type VulnRecordInput = z.input<typeof VulnRecordSchema>;

export function severityFromScore(score: number | undefined): Severity {
  if (score === undefined) return 'unknown';
  if (score === 0) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}
