// What can stop a deployment. Bad input (a malformed ARN, conflicting options, a rule that is not in
// the store) is an InputError (CLI exit 2); anything AWS refused or that wafgen refused after reading
// the live configuration is a DeployError (CLI exit 1).
import { InputError } from '../core/errors.js';

export type DeployErrorCode =
  /** The web ACL, rule group or rule does not exist. */
  | 'not-found'
  /** The change would exceed the web ACL's or rule group's capacity. */
  | 'capacity'
  /** Lock-token conflicts on every attempt: someone else keeps changing the target. */
  | 'conflict'
  /** AWS rejected a parameter. */
  | 'invalid'
  /** Promotion refused: the soak period is not over, or sampled requests matched the rule. */
  | 'soak'
  /** The deployed rule is not in a state the operation can work from. */
  | 'state'
  /** Any other refusal or failure talking to AWS. */
  | 'aws';

export class DeployError extends Error {
  override name = 'DeployError';
  constructor(
    message: string,
    readonly code: DeployErrorCode,
    /** The AWS exception name, when AWS answered with one. */
    readonly awsError?: string,
    /** Facts behind the refusal (e.g. the soak report), for --json output. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

interface SdkErrorLike {
  name?: string;
  message?: string;
  Field?: string;
  Parameter?: string;
  Reason?: string;
  $metadata?: { httpStatusCode?: number };
}

const CREDENTIAL_ERRORS = new Set(['CredentialsProviderError', 'ProviderError', 'TokenProviderError']);

/** One line for an error the SDK threw: AWS refusals become DeployErrors, setup problems InputErrors. */
export function describeAwsError(error: unknown, what: string): Error {
  if (error instanceof DeployError || error instanceof InputError) return error;
  const e = (error ?? {}) as SdkErrorLike;
  const name = e.name ?? 'Error';
  const message = (e.message ?? String(error)).split('\n')[0] ?? '';
  if (CREDENTIAL_ERRORS.has(name) || (/credential/i.test(message) && e.$metadata === undefined)) {
    return new InputError(
      `no AWS credentials for ${what}: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE (${message})`,
    );
  }
  if (/region is missing/i.test(message)) {
    return new InputError(`no AWS region for ${what}: pass --region or set AWS_REGION`);
  }
  switch (name) {
    case 'WAFNonexistentItemException':
      return new DeployError(`${what}: AWS WAF says it does not exist (${message})`, 'not-found', name);
    case 'WAFLimitsExceededException':
      return new DeployError(`${what}: AWS WAF limit exceeded (${message})`, 'capacity', name);
    case 'WAFOptimisticLockException':
      return new DeployError(`${what}: changed by someone else meanwhile (${message})`, 'conflict', name);
    case 'WAFInvalidParameterException': {
      const detail = [e.Field && `field ${e.Field}`, e.Parameter && `parameter ${e.Parameter}`, e.Reason]
        .filter(Boolean)
        .join(', ');
      return new DeployError(
        `${what}: AWS WAF rejected a parameter${detail ? ` (${detail})` : `: ${message}`}`,
        'invalid',
        name,
      );
    }
    default:
      if (name.startsWith('WAF') || e.$metadata?.httpStatusCode !== undefined) {
        return new DeployError(`${what}: ${name}: ${message}`, 'aws', name);
      }
      return new DeployError(`${what}: cannot reach AWS WAF: ${message}`, 'aws');
  }
}
