// The store export format: JSON Lines, one header line then one line per row, each tagged by `type`.
// Values are the store's domain values (text and JSON decoded, timestamps as ISO 8601), so the file
// reads like `wafgen info --json` and does not depend on how a given database encodes them.
import { z } from 'zod';

import { EVIDENCE_KINDS, EvidenceSchema } from '../../vulns/evidence.js';
import { CveIdSchema, VulnRecordSchema } from '../../vulns/model.js';

export const FORMAT = 'wafgen-store';
export const FORMAT_VERSION = 1;

const isoTime = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO 8601 time' });

export const HeaderLineSchema = z.object({
  type: z.literal('header'),
  format: z.literal(FORMAT),
  formatVersion: z.number().int(),
  wafgenVersion: z.string(),
  exportedAt: isoTime,
  counts: z.object({
    vulnerability: z.number().int().min(0),
    evidence: z.number().int().min(0),
    rule: z.number().int().min(0),
    audit: z.number().int().min(0),
  }),
});
export type HeaderLine = z.infer<typeof HeaderLineSchema>;

const VulnerabilityLineSchema = VulnRecordSchema.extend({
  type: z.literal('vulnerability'),
  createdAt: isoTime,
  updatedAt: isoTime,
});
export type VulnerabilityLine = z.infer<typeof VulnerabilityLineSchema>;

const EvidenceLineSchema = EvidenceSchema.extend({
  type: z.literal('evidence'),
  cveId: CveIdSchema,
  kind: z.enum(EVIDENCE_KINDS),
  fetchedAt: isoTime,
  createdAt: isoTime,
});
export type EvidenceLine = z.infer<typeof EvidenceLineSchema>;

const RuleLineSchema = z.object({
  type: z.literal('rule'),
  cveId: CveIdSchema,
  version: z.number().int().min(1),
  /** The WAFv2 rule (the importer requires it). */
  rule: z.unknown(),
  inputsHash: z.string().min(1),
  engine: z.string().min(1),
  provider: z.string().optional(),
  model: z.string().optional(),
  report: z.unknown(),
  createdAt: isoTime,
});
export type RuleLine = z.infer<typeof RuleLineSchema>;

const AuditLineSchema = z.object({
  type: z.literal('audit'),
  at: isoTime,
  /** The event's own type (`type` tags the line). */
  eventType: z.string().min(1),
  requestId: z.string().optional(),
  cveId: z.string().optional(),
  principal: z.string().optional(),
  data: z.unknown(),
});
export type AuditLine = z.infer<typeof AuditLineSchema>;

export const RowLineSchema = z.discriminatedUnion('type', [
  VulnerabilityLineSchema,
  EvidenceLineSchema,
  RuleLineSchema,
  AuditLineSchema,
]);
export type RowLine = z.infer<typeof RowLineSchema>;
export type RowType = RowLine['type'];
export const ROW_TYPES: readonly RowType[] = ['vulnerability', 'evidence', 'rule', 'audit'];
