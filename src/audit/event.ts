// The audit event: one per rule generation and one per deployment action, the same fields for every
// sink. `id` is the idempotency key: it is made once, when the event is, and travels with it through
// the spool and every retry, so a receiver can drop a copy it has already seen.
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';

import { z } from 'zod';

import { redactText } from '../observability/redact.js';
import { reasonCodes, type ReportLike } from '../observability/report.js';

const AUDIT_SCHEMA = 'wafgen.audit/v1';

const text = (max: number) => z.string().min(1).max(max);
const count = z.number().int().min(0);

const Common = {
  schema: z.literal(AUDIT_SCHEMA),
  /** Idempotency key (a UUID unless the caller supplied one). */
  id: z
    .string()
    .min(8)
    .max(128)
    .regex(/^[A-Za-z0-9._:-]+$/),
  /** ISO 8601, UTC. */
  timestamp: z.iso.datetime({ offset: true }),
  requestId: text(200),
  cveId: z.string().regex(/^CVE-\d{4}-\d{4,}$/),
  /** Who acted: `cli:<user>`, `apikey:<id>`, `user:<subject>`... */
  principal: text(200),
  /** Whether a rule exists for this event: generated now (generation) or being deployed. */
  generated: z.boolean(),
  ruleName: text(128).optional(),
  ruleVersion: z.number().int().positive().optional(),
  attempts: count,
  /** Engine asked (`builtin`, `llm`), and the one whose rule came out. */
  engine: text(64),
  producedBy: text(64).optional(),
  provider: text(64).optional(),
  model: text(200).optional(),
  tokens: z.strictObject({ input: count, output: count }),
  costUsd: z.number().min(0).finite(),
};

const GenerationAuditEventSchema = z.strictObject({
  ...Common,
  type: z.literal('generation'),
  /** The rule was proven (every check passed against at least one exploit request). */
  passed: z.boolean(),
  durationMs: count,
  /** Reason codes and the checks' own words when the rule failed. */
  reasonCodes: z.array(text(64)),
  reasons: z.array(text(1000)),
  /** Scrubbed one-line error when no rule came out. */
  error: text(1000).optional(),
});

const DEPLOY_ACTIONS = ['deploy', 'promote', 'rollback'] as const;

const DeploymentAuditEventSchema = z.strictObject({
  ...Common,
  type: z.literal('deployment'),
  deployment: z.strictObject({
    action: z.enum(DEPLOY_ACTIONS),
    /** Rule group or web ACL, by name or ARN. */
    target: text(2048),
    scope: z.enum(['REGIONAL', 'CLOUDFRONT']),
    /** The rule's action after this step (`removed`: a rollback took it out). */
    mode: z.enum(['count', 'block', 'removed']),
    dryRun: z.boolean(),
    ok: z.boolean(),
    error: text(1000).optional(),
  }),
});

export const AuditEventSchema = z.discriminatedUnion('type', [
  GenerationAuditEventSchema,
  DeploymentAuditEventSchema,
]);

export type GenerationAuditEvent = z.infer<typeof GenerationAuditEventSchema>;
export type DeploymentAuditEvent = z.infer<typeof DeploymentAuditEventSchema>;
export type AuditEvent = z.infer<typeof AuditEventSchema>;

interface CommonInput {
  requestId: string;
  cveId: string;
  principal: string;
  /** Idempotency key; give one when the same action may be reported again (a retried job). */
  id?: string;
  timestamp?: Date | string;
  ruleName?: string;
  ruleVersion?: number;
}

const oneLine = (s: string, max = 1000) => {
  const t = redactText(s.replace(/\s+/g, ' ').trim());
  return t.length > max ? `${t.slice(0, max - 3)}...` : t || 'error';
};

function common(input: CommonInput, report: ReportLike | undefined, engine: string | undefined) {
  return {
    schema: AUDIT_SCHEMA,
    id: input.id ?? randomUUID(),
    timestamp: new Date(input.timestamp ?? Date.now()).toISOString(),
    requestId: input.requestId,
    cveId: input.cveId.toUpperCase(),
    principal: input.principal,
    ...(input.ruleName ? { ruleName: input.ruleName } : {}),
    ...(input.ruleVersion !== undefined ? { ruleVersion: input.ruleVersion } : {}),
    attempts: report?.attempts ?? 0,
    engine: report?.engine ?? engine ?? 'unknown',
    ...(report?.producedBy ? { producedBy: report.producedBy } : {}),
    ...(report?.provider ? { provider: report.provider } : {}),
    ...(report?.model ? { model: report.model } : {}),
    tokens: { input: report?.usage.inputTokens ?? 0, output: report?.usage.outputTokens ?? 0 },
    costUsd: report?.costUsd ?? 0,
  } as const;
}

/** The event for one generation: with the report when a rule came out, with the error when not. */
export function generationEvent(
  input: CommonInput & { report?: ReportLike; error?: unknown; engine?: string; durationMs?: number },
): GenerationAuditEvent {
  const r = input.report;
  const error =
    input.error === undefined
      ? undefined
      : oneLine(input.error instanceof Error ? input.error.message : String(input.error));
  return GenerationAuditEventSchema.parse({
    ...common(input, r, input.engine),
    type: 'generation',
    generated: r !== undefined,
    passed: r?.passed === true && error === undefined,
    durationMs: Math.max(0, Math.round(input.durationMs ?? r?.durationMs ?? 0)),
    reasonCodes: r ? reasonCodes(r) : [],
    reasons: r && !r.passed ? r.reasons.map((x) => oneLine(x)) : [],
    ...(error ? { error } : {}),
  });
}

/** The event for one deployment step (deploy in Count mode, promote to Block, roll back). */
export function deploymentEvent(
  input: CommonInput & {
    ruleName: string;
    /** The deployed rule's generation report, when the store has it. */
    report?: ReportLike;
    deployment: Omit<DeploymentAuditEvent['deployment'], 'error'> & { error?: unknown };
  },
): DeploymentAuditEvent {
  const { error, ...deployment } = input.deployment;
  return DeploymentAuditEventSchema.parse({
    ...common(input, input.report, undefined),
    type: 'deployment',
    generated: true,
    deployment: {
      ...deployment,
      ...(error !== undefined
        ? { error: oneLine(error instanceof Error ? error.message : String(error)) }
        : {}),
    },
  });
}

/** The principal of a command-line run: `cli:<OS user>`. */
export function cliPrincipal(): string {
  try {
    return `cli:${userInfo().username || 'unknown'}`;
  } catch {
    return 'cli:unknown';
  }
}
