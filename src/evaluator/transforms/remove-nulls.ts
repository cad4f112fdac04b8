/** REMOVE_NULLS (AWS): delete every NUL (0x00) byte. */
export function removeNulls(input: string): string {
  if (input.indexOf('\0') < 0) return input;
  return input.replaceAll('\0', '');
}
