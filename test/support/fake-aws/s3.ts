// A small local S3-compatible server for the real SDK v3 client with `forcePathStyle: true`:
//
//   PUT  /<bucket>/<key>   PutObject (plain or aws-chunked bodies; checksum trailers ignored)
//   HEAD /<bucket>/<key>   HeadObject: 200 with Content-Length and ETag, or 404 with no body
//   GET  /<bucket>/<key>   GetObject, for tests that read back
//   errors: XML <Error><Code>NoSuchBucket</Code>…</Error>
//
// Requests must be path-style (the bucket in the path, not the host) and SigV4-signed (the signature
// is not verified). Tests create buckets, read objects and every call, and can fail the next calls.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface S3Call {
  method: string;
  bucket: string;
  key: string;
  host: string;
}

interface StoredObject {
  body: Buffer;
  contentType?: string;
  etag: string;
}

export interface FakeS3 {
  url: string;
  calls: S3Call[];
  createBucket(name: string): void;
  objects(bucket: string): Map<string, StoredObject>;
  /** The next `count` requests answer with this HTTP status and S3 error code. */
  failNext(status: number, code: string, count?: number): void;
  close(): Promise<void>;
}

/** Decodes `aws-chunked`: `<hex size>[;chunk-signature=…]\r\n<data>\r\n` … `0\r\n<trailers>\r\n`. */
function decodeAwsChunked(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', pos);
    if (eol < 0) break;
    const size = Number.parseInt(raw.subarray(pos, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

export async function startFakeS3(): Promise<FakeS3> {
  const buckets = new Map<string, Map<string, StoredObject>>();
  const calls: S3Call[] = [];
  const failures: { status: number; code: string }[] = [];

  const xmlError = (res: ServerResponse, status: number, code: string, message: string, head: boolean) => {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(
      head
        ? undefined
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fake</RequestId></Error>`,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = rest.map((s) => decodeURIComponent(s)).join('/');
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    calls.push({ method, bucket, key, host: String(req.headers.host ?? '') });
    if (!/^AWS4-HMAC-SHA256 Credential=/.test(String(req.headers.authorization ?? '')))
      return xmlError(res, 403, 'AccessDenied', 'request is not signed', head);
    const failure = failures.shift();
    if (failure) return xmlError(res, failure.status, failure.code, 'injected failure', head);
    const objects = buckets.get(bucket);
    if (!objects) return xmlError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist', head);
    if (key === '') return xmlError(res, 400, 'NotImplemented', 'bucket operations are not supported', head);
    if (method === 'PUT') {
      let body: Buffer = Buffer.concat(chunks);
      const encoding = String(req.headers['content-encoding'] ?? '');
      const sha = String(req.headers['x-amz-content-sha256'] ?? '');
      if (encoding.includes('aws-chunked') || sha.startsWith('STREAMING-')) body = decodeAwsChunked(body);
      const etag = `"${createHash('md5').update(body).digest('hex')}"`;
      const contentType = req.headers['content-type'];
      objects.set(key, { body, etag, ...(contentType ? { contentType } : {}) });
      res.writeHead(200, { etag });
      return res.end();
    }
    const object = objects.get(key);
    if (method === 'HEAD' || method === 'GET') {
      if (!object) return xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.', head);
      res.writeHead(200, {
        'content-length': String(object.body.length),
        etag: object.etag,
        'content-type': object.contentType ?? 'binary/octet-stream',
        'last-modified': new Date(0).toUTCString(),
      });
      return res.end(head ? undefined : object.body);
    }
    return xmlError(res, 405, 'MethodNotAllowed', `${method} is not supported`, head);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => xmlError(res, 500, 'InternalError', 'fake failed', req.method === 'HEAD'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    createBucket: (name) => void buckets.set(name, buckets.get(name) ?? new Map()),
    objects: (bucket) => buckets.get(bucket) ?? new Map(),
    failNext(status, code, count = 1) {
      for (let i = 0; i < count; i++) failures.push({ status, code });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
