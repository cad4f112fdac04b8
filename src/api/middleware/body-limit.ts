/**
 * @module Request body size limit. On Node the body is read straight from the socket that
 * `@hono/node-server` hands over as `c.env.incoming` (the standard Request path costs more than
 * the rest of a cached answer); elsewhere (Lambda, Vercel) Hono's own body limit. No `node:`
 * import: the socket is recognised by its shape, so this module runs on every adapter.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/** What the Node adapter passes as `c.env.incoming`: a readable stream of bytes. */
interface IncomingBody extends AsyncIterable<Uint8Array> {
  destroy(): void;
}

/** One decoder for every body: decode() without `stream` keeps no state between calls. */
const utf8 = new TextDecoder();

const isIncomingBody = (v: unknown): v is IncomingBody =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Partial<IncomingBody>)[Symbol.asyncIterator] === 'function' &&
  typeof (v as Partial<IncomingBody>).destroy === 'function';

export function bodyLimitMiddleware(maxBytes: number, tooLarge: (c: Context) => Response): MiddlewareHandler {
  const limitBody = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    // No body to limit (and touching a GET's body would build a whole Request object).
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
    if (!isIncomingBody(incoming)) return limitBody(c, next);
    const declared = Number(c.req.header('content-length') ?? 0);
    if (declared > maxBytes) return tooLarge(c);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of incoming) {
      size += chunk.length;
      if (size > maxBytes) {
        // Far over the limit: stop reading altogether; just over: drain it so the 413 gets through.
        if (size > 10 * maxBytes) incoming.destroy();
        chunks.length = 0;
        continue;
      }
      chunks.push(chunk);
    }
    if (size > maxBytes) return tooLarge(c);
    let bytes: Uint8Array;
    if (chunks.length === 1) bytes = chunks[0]!;
    else {
      bytes = new Uint8Array(size);
      let at = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, at);
        at += chunk.length;
      }
    }
    const text = utf8.decode(bytes);
    // Hono reads json() and text() from this cache; it holds promises, whatever its type says.
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(
      text.charCodeAt(0) === 0xfeff ? text.slice(1) : text,
    );
    return next();
  };
}
