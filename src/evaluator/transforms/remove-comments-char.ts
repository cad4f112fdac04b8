// REMOVE_COMMENTS_CHAR: AWS documents it only by name (unconfirmed). As ModSecurity v3's and Coraza's
// t:removeCommentsChar, delete the comment markers /* */ <!-- --> -- and #, scanning left to right and
// keeping the text between them.

const HAS_MARKER = /\/\*|\*\/|--|#/;
const MARKERS = /\/\*|\*\/|<!--|-->|--|#/g;

export function removeCommentsChar(input: string): string {
  if (!HAS_MARKER.test(input)) return input;
  return input.replace(MARKERS, '');
}
