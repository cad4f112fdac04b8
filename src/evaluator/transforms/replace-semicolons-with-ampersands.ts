/** Pre-parse REPLACE_SEMICOLONS_WITH_AMPERSANDS (AWS): every ';' in the raw query string becomes '&'. */
export function replaceSemicolonsWithAmpersands(input: string): string {
  if (input.indexOf(';') < 0) return input;
  return input.replaceAll(';', '&');
}
