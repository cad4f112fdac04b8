/** NONE: no transformation. */
export function none(input: string): string {
  return input;
}
