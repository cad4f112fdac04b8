/**
 * @module Reading a stream under a byte limit (core/limits.ts names the limits): for the CLI's files
 * and stdin, request files, imports and, in time, API bodies. Kept apart from the limits table so
 * that what the library's declarations reach of core needs no Node types.
 */
import { formatBytes, INPUT_LIMITS, InputLimitError, type ReadLimitOptions } from './limits.js';

type ByteSource = AsyncIterable<Uint8Array | string> & { destroy?: (error?: Error) => unknown };

/**
 * Read a stream (a Node Readable, a web ReadableStream, any async iterable of chunks) to the end,
 * but never more than the limit: at limit + 1 bytes the stream is destroyed and an InputLimitError
 * thrown, so an endless source (`/dev/zero`, a chunked body that never ends) costs at most the limit.
 */
export async function readLimited(stream: ByteSource, options: ReadLimitOptions = {}): Promise<Buffer> {
  const limit = options.limit ?? 'input-bytes';
  const max = options.max ?? INPUT_LIMITS[limit].value;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    total += buf.length;
    if (total > max) {
      // Leaving the loop early calls the iterator's return(), which destroys a Node stream (and
      // cancels a web stream); destroy() covers sources whose iterator does not.
      stream.destroy?.();
      throw new InputLimitError(limit, `more than ${formatBytes(max)} read`, {
        max,
        ...(options.source ? { source: options.source } : {}),
      });
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}
