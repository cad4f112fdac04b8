/**
 * @module Where the live look-up goes unless configured otherwise. Apart from the clients so that
 * reading the settings (config.ts, on every command's start) loads none of them: they bring the
 * record importers, the YAML parser and the nuclei request parser, ~40 ms of a warm `wafgen
 * generate`'s start-up (`import()` of the configuration with and without them).
 */
export const DEFAULT_NVD_URL = 'https://services.nvd.nist.gov';
export const DEFAULT_KEV_URL =
  'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json';
export const DEFAULT_NUCLEI_TEMPLATES =
  'https://raw.githubusercontent.com/projectdiscovery/nuclei-templates/main';
/** Per request of the live look-up (WAFGEN_HTTP_TIMEOUT_MS). */
export const DEFAULT_TIMEOUT_MS = 15_000;
