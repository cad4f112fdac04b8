/** REPLACE_NULLS (AWS): replace every NUL (0x00) byte with a space (0x20). */
export function replaceNulls(input: string): string {
  if (input.indexOf('\0') < 0) return input;
  return input.replaceAll('\0', ' ');
}
