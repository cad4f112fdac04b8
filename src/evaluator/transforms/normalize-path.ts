// NORMALIZE_PATH (AWS): remove multiple slashes, directory self-references (./) and directory
// back-references (../) that are not at the beginning of the input. Edge cases follow ModSecurity's
// t:normalizePath and its regression vectors: a back-reference that would climb above the start is kept
// for a relative path ("../a", "a/../../b" → "../b") and dropped for an absolute one ("/../a" → "/a"); a
// trailing slash is kept only if the input had one; a path that normalizes to nothing becomes "" ("./").

const NEEDS_WORK = /\/\/|(^|\/)\.\.?(\/|$)/;

export function normalizePath(input: string): string {
  if (!NEEDS_WORK.test(input)) return input;
  const absolute = input.charCodeAt(0) === 0x2f;
  const trailing = input.charCodeAt(input.length - 1) === 0x2f;
  const kept: string[] = [];
  let leadingBackRefs = 0; // ".." segments at the front of kept (relative paths only)
  for (const segment of input.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (kept.length > leadingBackRefs) kept.pop();
      else if (!absolute) {
        kept.push('..');
        leadingBackRefs++;
      }
      continue;
    }
    kept.push(segment);
  }
  let out = (absolute ? '/' : '') + kept.join('/');
  if (trailing && kept.length > 0) out += '/';
  return out;
}
