/**
 * @module The deployment routes (issue 16 item 6): plan or apply a rule into an AWS WAF web ACL or
 * rule group in Count mode, promote it Count → Block, roll it back. Writing needs the
 * `rules:deploy` scope (the admin scope); listing needs `rules:read`. The same use case as
 * `wafgen deploy` (app/deployments.ts) does the work, and every step, failed ones included, writes
 * an audit event naming the caller and the request id.
 */
import { createRoute, z } from '@hono/zod-openapi';

import { DeployError, DeploymentNotFoundError, type Service } from '../app/index.js';
import type { ApiApp } from './app.js';
import { ApiError } from './errors.js';
import type { Guard } from './middleware/guard.js';
import { errorResponses, isCveId } from './schemas.js';

const SECURITY: Record<string, string[]>[] = [{ bearerAuth: [] }, { apiKeyAuth: [] }];

/** A web ACL or rule group name, or a WAFv2 ARN (deploy/client.ts checks either precisely). */
const TargetName = z
  .string()
  .min(1)
  .max(2048)
  .regex(
    /^(arn:[\w-]+:wafv2:[\w:/-]+|[\w-]{1,128})$/,
    'must be a name (letters, digits, - and _) or a WAFv2 ARN',
  );

const DeploymentBody = z
  .strictObject({
    cveId: z
      .string()
      .max(32)
      .refine(isCveId, 'must be a CVE ID such as CVE-2021-44228')
      .openapi({ example: 'CVE-2021-44228' }),
    webAcl: TargetName.optional().openapi({ description: 'Target web ACL, by name or ARN' }),
    ruleGroup: TargetName.optional().openapi({ description: 'Target rule group, by name or ARN' }),
    scope: z.enum(['REGIONAL', 'CLOUDFRONT']).optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z0-9]+)+-\d+$/, 'must be an AWS Region such as eu-west-1')
      .optional(),
    priority: z.number().int().min(0).max(2_147_483_647).optional(),
    dryRun: z
      .boolean()
      .optional()
      .openapi({ description: 'Plan only: read the target and check capacity, send no change' }),
  })
  .refine((b) => (b.webAcl === undefined) !== (b.ruleGroup === undefined), {
    message: 'give exactly one target: webAcl or ruleGroup',
    path: ['webAcl'],
  })
  .openapi('DeploymentRequest');

const DeploymentParams = z.object({
  id: z
    .string()
    .regex(/^\d{1,18}$/, 'must be a deployment id')
    .openapi({ param: { name: 'id', in: 'path' }, example: '42' }),
});

const PromoteBody = z
  .strictObject({
    soakMinutes: z
      .number()
      .int()
      .min(1)
      .max(180)
      .optional()
      .openapi({ description: 'Promote only after this long in Count with no sampled match (web ACLs)' }),
  })
  .openapi('PromoteRequest');

const Target = z.object({
  kind: z.enum(['web-acl', 'rule-group']),
  name: z.string(),
  arn: z.string(),
  scope: z.enum(['REGIONAL', 'CLOUDFRONT']),
  region: z.string().optional(),
});

const DeploymentSchema = z
  .object({
    id: z.string(),
    cveId: z.string().optional(),
    ruleName: z.string(),
    target: Target,
    version: z.number().int().optional(),
    action: z.string().optional(),
    removed: z.boolean(),
    operation: z.string(),
    at: z.string(),
    principal: z.string().optional(),
    countSince: z.string().optional(),
  })
  .openapi('Deployment');

const StepResult = z
  .object({
    operation: z.string(),
    outcome: z.enum(['updated', 'unchanged', 'dry-run']),
    target: Target.extend({ id: z.string() }),
    ruleName: z.string(),
    cveId: z.string().optional(),
    version: z.number().int().optional(),
    action: z.string().optional(),
    priority: z.number().int().optional(),
    removed: z.boolean().optional(),
    attempts: z.number().int(),
    changes: z.array(z.record(z.string(), z.unknown())),
    capacity: z.record(z.string(), z.unknown()),
    soak: z.record(z.string(), z.unknown()).optional(),
    notes: z.array(z.string()),
    summary: z.string(),
    plan: z.string().openapi({ description: 'The change as `wafgen deploy` prints it (with a line diff)' }),
  })
  .openapi('DeploymentStep');

const StepResponse = z
  .object({ deployment: DeploymentSchema.optional(), result: StepResult })
  .openapi('DeploymentStepResponse');

const ListResponse = z.object({ deployments: z.array(DeploymentSchema) }).openapi('Deployments');

const REFUSED_STATUS = {
  'not-found': 404,
  capacity: 409,
  conflict: 409,
  soak: 409,
  state: 409,
  invalid: 422,
} as const;

/** A refusal by AWS or by wafgen after reading the live target, as this API's error. */
function deployError(e: unknown): unknown {
  if (e instanceof DeploymentNotFoundError) return new ApiError(404, 'not_found', e.message);
  if (!(e instanceof DeployError)) return e;
  const details = { deployCode: e.code, ...(e.awsError ? { awsError: e.awsError } : {}), ...e.details };
  if (e.code === 'aws') return new ApiError(502, 'deploy_failed', e.message, undefined, undefined, details);
  return new ApiError(REFUSED_STATUS[e.code], 'deploy_refused', e.message, undefined, undefined, details);
}

async function deploying<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw deployError(e);
  }
}

/** Adds the deployment routes to the API app. */
export function registerDeploymentRoutes(app: ApiApp, service: Service, guard: Guard): void {
  const ctx = (c: { get(key: 'principal'): { id: string }; get(key: 'requestId'): string }) => ({
    principal: c.get('principal').id,
    requestId: c.get('requestId'),
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/deployments',
      tags: ['deployments'],
      summary: 'Every rule wafgen deployed, where, in which mode, since when',
      security: SECURITY,
      middleware: [guard('rules:read')] as const,
      responses: {
        200: { description: 'The deployments', content: { 'application/json': { schema: ListResponse } } },
        ...errorResponses(401, 403, 429),
      },
    }),
    async (c) => c.json({ deployments: await service.deployments.list() }, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/deployments',
      tags: ['deployments'],
      summary: "Plan (dryRun) or apply a CVE's latest rule into a web ACL or rule group, in Count mode",
      description:
        'Reads the target, checks capacity (the rule’s WCU, then CheckCapacity on the new rule list) and updates it with its lock token, retrying lock conflicts. A new rule goes in with action Count at a free priority; the rest of the target is sent back untouched. `dryRun: true` sends no change and answers 200; an applied change answers 201 with the deployment (its id is what promote and rollback take). AWS credentials come from the server’s AWS SDK chain. Every step is audited.',
      security: SECURITY,
      middleware: [guard('rules:deploy')] as const,
      request: { body: { required: true, content: { 'application/json': { schema: DeploymentBody } } } },
      responses: {
        200: {
          description: 'Planned, or nothing to change',
          content: { 'application/json': { schema: StepResponse } },
        },
        201: {
          description: 'Deployed in Count mode',
          content: { 'application/json': { schema: StepResponse } },
        },
        ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 502),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const result = await deploying(() =>
        service.deployments.deploy(
          {
            target: {
              kind: body.webAcl ? 'web-acl' : 'rule-group',
              nameOrArn: (body.webAcl ?? body.ruleGroup)!,
              ...(body.scope ? { scope: body.scope } : {}),
              ...(body.region ? { region: body.region } : {}),
            },
            cveId: body.cveId.toUpperCase(),
            ...(body.priority !== undefined ? { priority: body.priority } : {}),
            ...(body.dryRun ? { dryRun: true } : {}),
          },
          ctx(c),
        ),
      );
      const view = await service.deployments.present(result);
      const deployment =
        result.outcome === 'dry-run'
          ? undefined
          : (await service.deployments.list({ cveId: body.cveId })).find(
              (d) => d.target.arn === result.target.arn && d.ruleName === result.ruleName,
            );
      // The view is the schema's shape; its nested records are interfaces, which Zod's record type does not take.
      return c.json(
        { ...(deployment ? { deployment } : {}), result: view },
        result.outcome === 'updated' ? 201 : 200,
      ) as never;
    },
  );

  const step = (kind: 'promote' | 'rollback') =>
    createRoute({
      method: 'post',
      path: `/v1/deployments/{id}/${kind}`,
      tags: ['deployments'],
      summary:
        kind === 'promote'
          ? 'Promote a deployed rule from Count to Block (optionally after a clean soak)'
          : 'Roll a deployed rule back one stored version (or remove it when there is none)',
      security: SECURITY,
      middleware: [guard('rules:deploy')] as const,
      request: {
        params: DeploymentParams,
        ...(kind === 'promote'
          ? { body: { required: false, content: { 'application/json': { schema: PromoteBody } } } }
          : {}),
      },
      responses: {
        200: {
          description: 'Done (or nothing to do)',
          content: { 'application/json': { schema: StepResponse } },
        },
        ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 502),
      },
    });

  const answer = async (id: string, result: Awaited<ReturnType<Service['deployments']['promote']>>) => {
    const view = await service.deployments.present(result);
    const deployment = await service.deployments.get(id);
    return { ...(deployment ? { deployment } : {}), result: view };
  };

  app.openapi(step('promote'), async (c) => {
    const { id } = c.req.valid('param');
    // The body is optional: an empty one means no soak check.
    const raw = (await c.req.text()).trim();
    let soakMinutes: number | undefined;
    if (raw) {
      const parsed = PromoteBody.safeParse(JSON.parse(raw));
      if (!parsed.success) throw new ApiError(400, 'invalid_request', 'invalid request');
      soakMinutes = parsed.data.soakMinutes;
    }
    const result = await deploying(() =>
      service.deployments.promoteById(id, soakMinutes !== undefined ? { soakMinutes } : {}, ctx(c)),
    );
    return c.json(await answer(id, result), 200) as never;
  });

  app.openapi(step('rollback'), async (c) => {
    const { id } = c.req.valid('param');
    const result = await deploying(() => service.deployments.rollbackById(id, ctx(c)));
    return c.json(await answer(id, result), 200) as never;
  });
}
