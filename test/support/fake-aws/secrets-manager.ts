// A local fake of AWS Secrets Manager, enough of the JSON 1.1 protocol for the real SDK v3 client:
//
//   POST /  X-Amz-Target: secretsmanager.<Operation>  Content-Type: application/x-amz-json-1.1
//   SigV4 Authorization header required (not verified)
//   errors: HTTP 400 {"__type": "<Exception>", "message": …}
//
// Operation: GetSecretValue (by name or ARN). Tests put secrets, make the next calls fail, and read
// back every call.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface FakeSecret {
  name: string;
  secretString?: string;
  secretBinary?: Buffer;
}

interface SecretsManagerCall {
  target: string;
  body: unknown;
  authorized: boolean;
}

export interface FakeSecretsManager {
  url: string;
  calls: SecretsManagerCall[];
  put(secret: FakeSecret): string;
  /** The next `count` calls answer with this error. */
  failNext(type: string, status?: number, count?: number): void;
  close(): Promise<void>;
}

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

export async function startFakeSecretsManager(): Promise<FakeSecretsManager> {
  const secrets = new Map<string, FakeSecret & { arn: string }>();
  const calls: SecretsManagerCall[] = [];
  const failures: { type: string; status: number }[] = [];

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, type: string, message: string, status = 400) =>
    send(res, status, { __type: type, message });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      return error(res, 'SerializationException', 'body is not JSON');
    }
    const authorized = /^AWS4-HMAC-SHA256 Credential=/.test(String(req.headers.authorization ?? ''));
    calls.push({ target, body, authorized });
    if (req.method !== 'POST') return error(res, 'UnknownOperationException', 'POST only');
    if (!authorized) return error(res, 'MissingAuthenticationTokenException', 'request is not signed');
    const failure = failures.shift();
    if (failure) return error(res, failure.type, 'injected failure', failure.status);
    if (target !== 'secretsmanager.GetSecretValue')
      return error(res, 'UnknownOperationException', `operation ${target} is not supported`);
    const id = (body as { SecretId?: unknown }).SecretId;
    if (typeof id !== 'string' || id === '')
      return error(res, 'InvalidParameterException', 'SecretId is required');
    const secret = secrets.get(id) ?? [...secrets.values()].find((s) => s.arn === id);
    if (!secret)
      return error(res, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    send(res, 200, {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: '00000000-0000-0000-0000-000000000001',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: 1_700_000_000,
      ...(secret.secretString !== undefined ? { SecretString: secret.secretString } : {}),
      ...(secret.secretBinary !== undefined ? { SecretBinary: secret.secretBinary.toString('base64') } : {}),
    });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => error(res, 'InternalServiceError', 'fake failed', 500));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    put(secret) {
      const arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${secret.name}-AbCdEf`;
      secrets.set(secret.name, { ...secret, arn });
      return arn;
    },
    failNext(type, status = 400, count = 1) {
      for (let i = 0; i < count; i++) failures.push({ type, status });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
