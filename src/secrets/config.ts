// Where API keys come from: the environment (default), or one JSON secret in AWS Secrets Manager
// whose keys are environment variable names. One Zod schema, validated at start-up with the others
// (src/app/environment.ts); names every bad variable, never echoes a value.
import { z } from 'zod';

const region = z.string().regex(/^[a-z]{2,5}(-[a-z]+)+-\d+$/, 'must be an AWS region like us-east-1');

const httpUrl = z.string().refine(
  (v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  },
  { message: 'must be a URL starting with http:// or https://' },
);

const SecretsEnvSchema = z.object({
  /** ARN (or name) of a Secrets Manager secret holding `{"OPENAI_API_KEY": "…", …}`. Unset: environment only. */
  WAFGEN_SECRETS_ARN: z.string().trim().min(1).max(2048).optional(),
  /** Region of the secret; default: the ARN's region, then AWS_REGION / AWS_DEFAULT_REGION. */
  WAFGEN_SECRETS_REGION: region.optional(),
  /** Endpoint override (the SDK's own variable name), e.g. a local test server or a VPC endpoint. */
  AWS_ENDPOINT_URL_SECRETS_MANAGER: httpUrl.optional(),
  /** How long a fetched secret is reused before it is read again; 0 reads it every time. */
  WAFGEN_SECRETS_TTL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  AWS_REGION: region.optional(),
  AWS_DEFAULT_REGION: region.optional(),
});

export interface SecretsConfig {
  /** Undefined: keys come from the environment only. */
  secretId?: string;
  region?: string;
  endpoint?: string;
  ttlMs: number;
}

export class SecretsConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid secrets configuration: ${problems.join('; ')}`);
    this.name = 'SecretsConfigError';
  }
}

/** `arn:aws:secretsmanager:<region>:<account>:secret:<name>` → region. */
function regionOfArn(id: string): string | undefined {
  const m = /^arn:aws[\w-]*:secretsmanager:([a-z0-9-]+):/.exec(id);
  return m?.[1] || undefined;
}

export function loadSecretsConfig(env: NodeJS.ProcessEnv = process.env): SecretsConfig {
  const present = Object.fromEntries(
    Object.keys(SecretsEnvSchema.shape)
      .map((k) => [k, env[k]])
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = SecretsEnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new SecretsConfigError(parsed.error.issues.map((i) => `${String(i.path[0])} ${i.message}`));
  }
  const e = parsed.data;
  const ttlMs = e.WAFGEN_SECRETS_TTL_SECONDS * 1000;
  if (!e.WAFGEN_SECRETS_ARN) return { ttlMs };
  const resolvedRegion =
    e.WAFGEN_SECRETS_REGION ?? regionOfArn(e.WAFGEN_SECRETS_ARN) ?? e.AWS_REGION ?? e.AWS_DEFAULT_REGION;
  if (!resolvedRegion)
    throw new SecretsConfigError([
      'WAFGEN_SECRETS_REGION must be set: WAFGEN_SECRETS_ARN is not an ARN with a region and AWS_REGION is unset',
    ]);
  return {
    secretId: e.WAFGEN_SECRETS_ARN,
    region: resolvedRegion,
    ...(e.AWS_ENDPOINT_URL_SECRETS_MANAGER ? { endpoint: e.AWS_ENDPOINT_URL_SECRETS_MANAGER } : {}),
    ttlMs,
  };
}
