/**
 * @module Request body limits: size (`body-bytes`, or `webhook-bytes` on the webhook) counted while
 * reading, never trusting Content-Length alone, and JSON nesting (`json-depth`) scanned on the text
 * before anything parses it. Over a limit the request ends in an InputLimitError, which the app
 * answers 413 or 400 with the limit's name (errors.ts). On Node the body is read straight from the
 * socket that `@hono/node-server` hands over as `c.env.incoming` (the standard Request path costs
 * more than the rest of a cached answer); elsewhere (Lambda, Vercel: the platform bounds the body)
 * through the Request's stream with the same count. No `node:` import: the socket is recognised by
 * its shape, so this module runs on every adapter.
 */
import type { Context, MiddlewareHandler } from 'hono';

import { checkJsonTextDepth, formatBytes, InputLimitError, type LimitName } from '../../core/limits.js';

/** What the Node adapter passes as `c.env.incoming`: a readable stream of bytes. */
interface IncomingBody {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  resume(): unknown;
  destroy(): void;
  readableEnded?: boolean;
}

/** One decoder for every body: decode() without `stream` keeps no state between calls. */
const utf8 = new TextDecoder();

/**
 * A body's text as the app reads it: UTF-8, without a byte-order mark (TextDecoder drops one; a
 * second one is dropped here). The hot path keys validation reports by this same text (../hot-path.ts).
 */
export function bodyText(bytes: Uint8Array): string {
  const text = utf8.decode(bytes);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

const isIncomingBody = (v: unknown): v is IncomingBody =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Partial<IncomingBody>).on === 'function' &&
  typeof (v as Partial<IncomingBody>).resume === 'function' &&
  typeof (v as Partial<IncomingBody>).destroy === 'function';

/** Which byte limit a request's body is held to, and its configured value. */
export interface BodyLimit {
  limit: LimitName;
  max: number;
}

/**
 * Bytes of an over-limit body still read (and thrown away) after the 413 is sent, so that the
 * client, still sending, reads the answer instead of a connection reset (closing a socket with
 * unread input makes the kernel send RST, which discards the answer in flight); past this the
 * connection is cut. 128 MiB of discarding costs well under a second of one core on loopback.
 */
const DRAIN_BYTES = 128 * 1024 * 1024;

const tooLarge = (b: BodyLimit, size: number | undefined) =>
  new InputLimitError(
    b.limit,
    size === undefined ? `more than ${formatBytes(b.max)} sent` : `Content-Length says ${formatBytes(size)}`,
    { max: b.max, source: 'request body' },
  );

/**
 * Reads a Node request body into one buffer; past `max` bytes it stops keeping chunks, resolves
 * `undefined` at once (the 413 goes out while the client is still sending) and drains the rest
 * in the background up to {@link DRAIN_BYTES}.
 */
function readIncoming(incoming: IncomingBody, max: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const onData = (chunk: Uint8Array): void => {
      size += chunk.length;
      if (size <= max) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      cleanup();
      let drained = size;
      const drain = (c: Uint8Array): void => {
        drained += c.length;
        if (drained > DRAIN_BYTES) {
          incoming.off('data', drain);
          incoming.destroy();
        }
      };
      incoming.on('data', drain);
      incoming.on('error', () => {});
      resolve(undefined);
    };
    const onEnd = (): void => {
      cleanup();
      if (chunks.length === 1) return resolve(chunks[0]!);
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, at);
        at += chunk.length;
      }
      resolve(bytes);
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const cleanup = (): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.resume();
  });
}

/** Reads a web stream (Lambda, Vercel, tests calling app.request) under the same limit. */
async function readStream(stream: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array | undefined> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/**
 * The body limits for requests that may carry a body: `limitOf(c)` says which byte limit applies.
 * The text read is left where Hono's json() and text() find it (a BOM removed).
 */
export function bodyLimitMiddleware(limitOf: (c: Context) => BodyLimit): MiddlewareHandler {
  return async (c, next) => {
    // No body to limit (and touching a GET's body would build a whole Request object).
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const b = limitOf(c);
    const declared = Number(c.req.header('content-length') ?? 0);
    if (declared > b.max) {
      c.header('Connection', 'close');
      throw tooLarge(b, declared);
    }
    const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
    let bytes: Uint8Array | undefined;
    // A body the Node adapter's hot path read before handing the request over (../hot-path.ts).
    const raw = (incoming as { rawBody?: unknown } | undefined)?.rawBody;
    if (raw instanceof Uint8Array) bytes = raw.byteLength <= b.max ? raw : undefined;
    else if (isIncomingBody(incoming)) bytes = await readIncoming(incoming, b.max);
    else {
      const stream = c.req.raw.body;
      bytes = stream ? await readStream(stream, b.max) : new Uint8Array(0);
    }
    if (bytes === undefined) {
      // The client may still be sending: this connection serves no further request.
      c.header('Connection', 'close');
      throw tooLarge(b, undefined);
    }
    const text = bodyText(bytes);
    // Deep nesting would overflow the stack of a recursive consumer (Zod, the validators): the
    // text is scanned first, whatever its content type says (a JSON parser may be tried on it).
    checkJsonTextDepth(text, 'request body');
    // Hono reads json() and text() from this cache; it holds promises, whatever its type says.
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    return next();
  };
}
