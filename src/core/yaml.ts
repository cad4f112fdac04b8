/**
 * @module The YAML parser, loaded on first use. Only nuclei templates are YAML, and most processes
 * (the API server, the worker, `wafgen generate` of a bundled CVE) never read one: a static import
 * put `yaml` into each of them (~8 MB of RSS, measured with process.memoryUsage() beside a bare
 * `node`). Synchronous (`require`), because the template parsers are synchronous generators.
 */
import { createRequire } from 'node:module';

import type * as YamlModule from 'yaml';

type Yaml = typeof YamlModule;

let loaded: Yaml | undefined;

export function yaml(): Yaml {
  loaded ??= createRequire(import.meta.url)('yaml') as Yaml;
  return loaded;
}
