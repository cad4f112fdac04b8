import { normalizePath } from './normalize-path.js';

/** NORMALIZE_PATH_WIN (AWS): convert every backslash to a forward slash first, then NORMALIZE_PATH. */
export function normalizePathWin(input: string): string {
  return normalizePath(input.indexOf('\\') < 0 ? input : input.replaceAll('\\', '/'));
}
