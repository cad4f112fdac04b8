// CMD_LINE (AWS): delete \ " ' ^; delete spaces before / and (; replace , and ; with a space; collapse
// multiple spaces into one; lowercase A–Z. As in ModSecurity's t:cmdLine (AWS's list is silent on them),
// \t \r \n are treated like spaces too, and a deleted byte does not end a run of spaces.
// CMD_LINE_WIN and CMD_LINE_UNIX reuse this engine with a different set of deleted bytes.

export interface CmdLineOptions {
  /** Bytes deleted outright (quotes and escape characters). */
  readonly deleted: string;
}

const SPACE_LIKE = ' ,;\t\r\n';

function escapeForClass(chars: string): string {
  return chars.replace(/[\\\]^-]/g, '\\$&');
}

/** Build a CMD_LINE-style transformation that deletes `deleted` instead of CMD_LINE's `\ " ' ^`. */
export function makeCmdLine(options: CmdLineOptions): (input: string) => string {
  const deleted = new Set<number>();
  for (let k = 0; k < options.deleted.length; k++) deleted.add(options.deleted.charCodeAt(k));
  const spaceLike = new Set<number>();
  for (let k = 0; k < SPACE_LIKE.length; k++) spaceLike.add(SPACE_LIKE.charCodeAt(k));
  // The input is already normal when it has nothing to delete, replace or lowercase, no double space and
  // no space before / or (.
  // eslint-disable-next-line security/detect-non-literal-regexp -- a character class of the transform's own constant characters, escaped
  const needsWork = new RegExp(`[${escapeForClass(options.deleted)},;\\t\\r\\nA-Z]| [ /(]`);

  return function cmdLineVariant(input: string): string {
    if (!needsWork.test(input)) return input;
    let out = '';
    let pendingSpace = false;
    for (let i = 0; i < input.length; i++) {
      const c = input.charCodeAt(i);
      if (deleted.has(c)) continue;
      if (spaceLike.has(c)) {
        pendingSpace = true;
        continue;
      }
      if (c === 0x2f /* / */ || c === 0x28 /* ( */) {
        pendingSpace = false;
        out += input[i];
        continue;
      }
      if (pendingSpace) {
        out += ' ';
        pendingSpace = false;
      }
      out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 0x20) : input[i];
    }
    if (pendingSpace) out += ' ';
    return out;
  };
}

export const cmdLine = makeCmdLine({ deleted: '\\"\'^' });
