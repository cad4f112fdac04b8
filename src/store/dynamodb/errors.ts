/**
 * @module The DynamoDB store's own error, in a file that imports nothing: store/index.ts re-exports
 * it, and importing table.ts there loaded the AWS SDK (~30 MB RSS) into every process that opens
 * any store, the embedded one included.
 */

/** A read or write the DynamoDB store bounds refused (too many items, an item too large). */
export class StoreLimitError extends Error {
  override name = 'StoreLimitError';
}
