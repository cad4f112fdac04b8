// The Zod schemas that validate requests and, through @hono/zod-openapi, write the OpenAPI document:
// one definition for both, so the document cannot drift from what the API accepts.
import { z } from '@hono/zod-openapi';

import { ERROR_CODES } from './errors.js';

export const CVE_ID_PATTERN = '^[Cc][Vv][Ee]-\\d{4}-\\d{4,}$';
const CVE_RE = new RegExp(CVE_ID_PATTERN);
const CVE_ID_MAX = 40;

/** True for what {@link CveParams} accepts as `cveId` (the same limit and pattern, without Zod). */
export const isCveId = (value: string): boolean => value.length <= CVE_ID_MAX && CVE_RE.test(value);

const CveId = z
  .string()
  .max(CVE_ID_MAX)
  .regex(CVE_RE, 'must be a CVE ID like CVE-2021-44228')
  .openapi({ example: 'CVE-2021-44228', description: 'A CVE ID (any case; stored upper-case).' });

const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      fields: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .openapi({ description: 'The failing fields, for invalid_request.' }),
      details: z
        .record(z.string(), z.unknown())
        .optional()
        .openapi({ description: 'Facts that go with the error: for no_rule, a NoRule object.' }),
      requestId: z.string().optional(),
    }),
  })
  .openapi('Error');

const NoRule = z
  .object({
    cveId: z.string(),
    engine: z.string().openapi({ description: 'The engine that answered.' }),
    attackClass: z.string().optional().openapi({ description: 'The attack class it recognised.' }),
    basis: z
      .string()
      .optional()
      .openapi({ description: 'Where the class came from (facts, evidence, cwe...).' }),
    endpoints: z.array(z.string()).openapi({ description: 'Vulnerable endpoints it knew of.' }),
    exploitRequests: z.number().int().openapi({ description: 'Exploit requests it had to learn from.' }),
    notes: z.array(z.string()).openapi({ description: "The engine's own notes." }),
    needs: z
      .array(z.string())
      .openapi({ description: 'Evidence that would let it write a rule, one item each.' }),
  })
  .openapi('NoRule');

const NoRuleErrorSchema = z
  .object({
    error: z.object({
      code: z.literal('no_rule'),
      message: z.string(),
      details: NoRule,
      requestId: z.string().optional(),
    }),
  })
  .openapi('NoRuleError');

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: ERROR_DESCRIPTIONS[s] ?? 'Error',
        content: { 'application/json': { schema: s === 422 ? NoRuleErrorSchema : ErrorSchema } },
      },
    ]),
  );

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (the failing fields are listed)',
  401: 'Missing or invalid credentials',
  403: 'The credentials lack the scope this operation needs',
  404: 'Not found',
  413: 'Request body too large',
  415: 'Body is not JSON',
  422: 'No rule could be written for this CVE (code no_rule): `details` says what the engine recognised (attack class, endpoints, exploit requests, notes) and `needs` what evidence would let it write one',
  429: 'Rate limited (see Retry-After and RateLimit-* headers)',
  503: 'A backend is unavailable and there is no fallback',
};

export const CveParams = z.object({
  cveId: CveId.openapi({ param: { name: 'cveId', in: 'path' } }),
});

export const VersionQuery = z.object({
  version: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .openapi({
      param: { name: 'version', in: 'query' },
      description: 'A rule version (default: the latest).',
    }),
});

const Verdict = z.enum(['proven', 'untested', 'failed']).openapi({
  description:
    'What the checks showed. proven: every check passed and at least one exploit request was tested and blocked; untested: no check failed but there was no exploit request to test the rule against; failed: a check failed (the report lists why).',
});

const Confidence = z.enum(['high', 'medium', 'low']).openapi({
  description:
    'From what was proven: high = 2 or more exploit requests all blocked, 95% of evasion variants, 3,000 or more benign requests with none blocked, no warnings; medium = 1 or more exploit requests all blocked, 90% of variants, 1,000 or more benign requests with none blocked; low otherwise, and always when untested or failed.',
});

const Summary = z.string().openapi({
  description: 'The one-line headline, the same words the CLI prints.',
  example:
    'CVE-2021-44228: proven — blocks 3/3 exploit requests and 36/36 evasion variants; 0 of 3,412 benign requests blocked',
});

const RuleSchema = z
  .object({
    cveId: z.string(),
    version: z.number().int().optional(),
    rule: z
      .record(z.string(), z.unknown())
      .openapi({ description: 'The AWS WAFv2 Rule (JSON, as the API takes it).' }),
    report: z.record(z.string(), z.unknown()).openapi({
      description:
        'The generation report: verdict, summary, notTestedAgainst, confidence, tests, reasons and reasonCodes, warnings, engine, WCU.',
    }),
    engine: z.string().openapi({ example: 'builtin@0.1.0' }),
    verdict: Verdict,
    confidence: Confidence,
    summary: Summary,
    passed: z.boolean().openapi({ description: "True only when the verdict is 'proven'." }),
    createdAt: z.string().optional(),
  })
  .openapi('Rule');

export const RuleResponse = RuleSchema.extend({
  cache: z.enum(['hit', 'miss', 'bypass']).optional(),
  degraded: z.boolean().optional().openapi({ description: 'Generation failed; this is the last good rule.' }),
  reason: z.string().optional().openapi({ description: 'Why generation failed, when degraded.' }),
}).openapi('RuleResponse');

export const VersionsResponse = z
  .object({
    cveId: z.string(),
    versions: z.array(
      z.object({
        version: z.number().int(),
        engine: z.string(),
        provider: z.string().optional(),
        model: z.string().optional(),
        verdict: Verdict,
        confidence: Confidence,
        summary: Summary,
        passed: z.boolean().openapi({ description: "True only when the verdict is 'proven'." }),
        createdAt: z.string(),
      }),
    ),
  })
  .openapi('RuleVersions');

const GenerateOptions = z
  .object({
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .optional()
      .openapi({ description: 'Generation attempts with feedback.' }),
    force: z.boolean().optional().openapi({ description: 'Generate again even when a cached rule exists.' }),
    candidates: z.number().int().min(1).max(8).optional().openapi({
      description:
        'LLM candidates per attempt, asked in parallel across providers and temperatures; each is checked and the best kept (default WAFGEN_CANDIDATES, else 1). A cached rule answers unless `force`.',
    }),
    judge: z
      .string()
      .max(240)
      .regex(/^[a-z][a-z0-9-]*(?::[\w.:/@-]{1,200})?$/)
      .optional()
      .openapi({
        description:
          'A second model, `provider[:model]` of the configured chain, that attacks the chosen rule; its bypasses and legitimate requests become tests (default WAFGEN_JUDGE).',
        example: 'anthropic:claude-haiku-4-5',
      }),
    llmBatch: z.number().int().min(1).max(8).optional().openapi({
      description:
        'First attempts of up to this many generations running at once share one LLM call: jobs on one worker, or synchronous requests to one server (a first attempt waits up to WAFGEN_LLM_BATCH_WINDOW_MS for the others). Each rule is still checked on its own and retried singly (default WAFGEN_LLM_BATCH, else 1).',
    }),
  })
  .strict();

export const GenerateBody = z
  .object({ cveId: CveId, options: GenerateOptions.optional() })
  .strict()
  .openapi('GenerateRequest');

export const JobsBody = z
  .object({
    cveId: CveId.optional(),
    cveIds: z.array(CveId).min(1).max(500).optional(),
    options: GenerateOptions.optional(),
  })
  .strict()
  .refine((b) => (b.cveId === undefined) !== (b.cveIds === undefined), {
    message: 'give either cveId or cveIds',
    path: ['cveIds'],
  })
  .openapi('JobsRequest');

const JobRef = z.object({
  jobId: z.string(),
  cveId: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'dead']),
  created: z.boolean().openapi({
    description: 'False when the same job already existed (idempotent per CVE and engine version).',
  }),
});

export const JobsResponse = z.object({ jobs: z.array(JobRef) }).openapi('JobsAccepted');

export const JobParams = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9._@-]+$/, 'must be a job id')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'gen-CVE-2021-44228-builtin-0.1.0' }),
});

export const JobResponse = z
  .object({
    id: z.string(),
    cveId: z.string().optional(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'dead']).openapi({
      description:
        "succeeded: a rule came out (result.verdict says whether it is proven, untested or failed). dead: retries exhausted or the input can never work (the dead-letter state), including no rule: then `error` is the no-rule message and result is `{ outcome: 'no-rule', noRule }` (queue the CVE again once there is more evidence).",
    }),
    attempts: z.number().int(),
    result: z.unknown().optional().openapi({
      description:
        'succeeded: `{ cveId, version, verdict, confidence, summary, passed, wcu, engine, cached }`; dead with no rule: `{ outcome: "no-rule", noRule }`.',
    }),
    error: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    queue: z
      .object({ state: z.string(), attemptsMade: z.number(), failedReason: z.string().optional() })
      .optional(),
  })
  .openapi('Job');

export const ValidateBody = z
  .object({
    document: z.unknown().openapi({
      description: 'A Rule, an array of Rules, a RuleGroup, a WebACL, or aws wafv2 get-* output.',
    }),
    cveId: CveId.optional(),
    searchStringEncoding: z.enum(['auto', 'text', 'base64']).optional(),
  })
  .strict()
  .refine((b) => b.document !== undefined && b.document !== null, { message: 'required', path: ['document'] })
  .openapi('ValidateRequest');

export const ValidateResponse = z
  .object({
    valid: z.boolean(),
    kind: z.string().optional(),
    rules: z.number().int(),
    wcu: z.number().optional(),
    findings: z.array(z.record(z.string(), z.unknown())),
    summary: z.object({ errors: z.number().int(), warnings: z.number().int() }),
  })
  .openapi('ValidationReport');

const Header = z.tuple([z.string().max(1024), z.string().max(16_384)]);

const TestRequestSchema = z
  .looseObject({
    id: z.string().min(1).max(200).optional(),
    method: z.string().min(1).max(16),
    uri: z.string().min(1).max(16_384),
    headers: z.array(Header).max(200).optional(),
    body: z
      .string()
      .max(1024 * 1024)
      .optional(),
    expect: z.enum(['block', 'allow']).optional(),
  })
  .openapi('TestRequest');

export const TestBody = z
  .object({
    document: z.unknown(),
    requests: z.array(TestRequestSchema).min(1).max(1000),
    variants: z
      .boolean()
      .optional()
      .openapi({ description: 'Also test evasion variants of the requests expected to be blocked.' }),
  })
  .strict()
  .refine((b) => b.document !== undefined && b.document !== null, { message: 'required', path: ['document'] })
  .openapi('TestRequestBody');

export const TestResponse = z
  .object({
    results: z.array(
      z.object({
        id: z.string(),
        expect: z.enum(['block', 'allow']).optional(),
        matched: z.boolean(),
        action: z.string(),
        terminatingRule: z.string(),
        terminatingStatement: z.string().optional(),
        mismatch: z.boolean(),
        uncertain: z.boolean(),
        variantOf: z.string().optional(),
        technique: z.string().optional(),
      }),
    ),
    summary: z.object({
      total: z.number().int(),
      matched: z.number().int(),
      allowed: z.number().int(),
      mismatches: z.number().int(),
      uncertain: z.number().int(),
      variants: z.number().int(),
    }),
  })
  .openapi('TestReport');

// --- webhook -------------------------------------------------------------------------------------

const SEVERITY_WORDS = [
  'critical',
  'high',
  'medium',
  'moderate',
  'low',
  'info',
  'informational',
  'none',
  'unknown',
];

const Severity = z
  .string()
  .min(1)
  .max(20)
  .refine((s) => SEVERITY_WORDS.includes(s.toLowerCase()), {
    message: `must be one of ${SEVERITY_WORDS.join(', ')} (any case)`,
  })
  .openapi({
    example: 'critical',
    description: 'critical and high are queued; the others are acknowledged and skipped.',
  });

export const GenericFinding = z
  .looseObject({
    id: z.string().max(200).optional().openapi({ description: "The scanner's own finding id." }),
    cveId: CveId,
    severity: Severity,
    title: z.string().max(500).optional(),
    asset: z.string().max(500).optional(),
  })
  .openapi('Finding');

export const GenericWebhook = z
  .looseObject({
    source: z.string().max(100).optional(),
    findings: z.array(GenericFinding).min(1).max(1000),
  })
  .openapi('GenericWebhook');

const GitHubAdvisory = z.looseObject({
  ghsa_id: z.string().optional(),
  cve_id: z.string().nullable().optional(),
  summary: z.string().optional(),
  severity: z.string().optional(),
  identifiers: z.array(z.looseObject({ type: z.string(), value: z.string() })).optional(),
  withdrawn_at: z.string().nullable().optional(),
});

export const GitHubDependabotAlert = z
  .looseObject({
    action: z.string(),
    alert: z.looseObject({
      number: z.number().optional(),
      state: z.string().optional(),
      html_url: z.string().optional(),
      security_advisory: GitHubAdvisory,
      security_vulnerability: z.looseObject({ severity: z.string().optional() }).optional(),
    }),
    repository: z.looseObject({ full_name: z.string().optional() }).optional(),
  })
  .openapi('GitHubDependabotAlertEvent', {
    description:
      'GitHub `dependabot_alert` webhook event (created, reopened, reintroduced, auto_reopened are queued).',
  });

export const GitHubSecurityAdvisory = z
  .looseObject({ action: z.string(), security_advisory: GitHubAdvisory })
  .openapi('GitHubSecurityAdvisoryEvent', {
    description: 'GitHub `security_advisory` webhook event (published and updated are queued).',
  });

export const WebhookResponse = z
  .object({
    queued: z.boolean(),
    jobId: z.string().optional().openapi({ description: 'The first queued job (see jobs for all).' }),
    format: z.enum(['generic', 'github']),
    jobs: z.array(JobRef),
    skipped: z.array(
      z.object({
        cveId: z.string().optional(),
        findingId: z.string().optional(),
        severity: z.string().optional(),
        reason: z.string(),
      }),
    ),
    duplicate: z.boolean().optional().openapi({ description: 'This delivery was already processed.' }),
  })
  .openapi('WebhookResult');

export const HealthResponse = z
  .object({
    status: z.enum(['ok', 'degraded', 'down']),
    checks: z.record(
      z.string(),
      z.object({
        status: z.enum(['ok', 'down', 'disabled']),
        backend: z.string(),
        latencyMs: z.number().optional(),
        error: z.string().optional(),
      }),
    ),
  })
  .openapi('Readiness');
