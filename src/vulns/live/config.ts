// Settings of the live look-up, from environment variables through one Zod schema (its shape can be
// spread into the main ConfigSchema). A bad variable is named, its value never echoed (the API key).
//
//   NVD_API_KEY              NVD API key (raises NVD's limit from 5 to 50 requests per 30 s); unset
//   WAFGEN_NVD_URL           NVD API base URL; https://services.nvd.nist.gov
//   WAFGEN_KEV_URL           CISA KEV catalog JSON URL; CISA's official feed
//   WAFGEN_NUCLEI_TEMPLATES  nuclei-templates: an http(s) base URL or a local checkout directory;
//                            https://raw.githubusercontent.com/projectdiscovery/nuclei-templates/main
//   WAFGEN_HTTP_TIMEOUT_MS   per-request timeout, ms (100..600000); 15000

import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

import { ConfigError, loadConfig } from '../../config/index.js';
import {
  DEFAULT_KEV_URL,
  DEFAULT_NUCLEI_TEMPLATES,
  DEFAULT_NVD_URL,
  DEFAULT_TIMEOUT_MS,
} from './defaults.js';

const httpUrl = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  },
  { message: 'must be an http:// or https:// URL (without credentials)' },
);

const urlOrDirectory = z
  .string()
  .refine(
    (v) => {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return httpUrl.safeParse(v).success;
      try {
        return statSync(v).isDirectory();
      } catch {
        return false;
      }
    },
    { message: 'must be an http:// or https:// URL or an existing directory' },
  )
  .transform((v) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : resolve(v)));

export const LiveEnvSchema = z.object({
  NVD_API_KEY: z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, 'must be printable ASCII without spaces (at most 200 characters)')
    .optional(),
  WAFGEN_NVD_URL: httpUrl.default(DEFAULT_NVD_URL),
  WAFGEN_KEV_URL: httpUrl.default(DEFAULT_KEV_URL),
  WAFGEN_NUCLEI_TEMPLATES: urlOrDirectory.default(DEFAULT_NUCLEI_TEMPLATES),
  WAFGEN_HTTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_TIMEOUT_MS),
});
type LiveEnv = z.infer<typeof LiveEnvSchema>;

export interface LiveConfig {
  nvdUrl: string;
  nvdApiKey?: string;
  kevUrl: string;
  /** An http(s) base URL or an absolute directory path. */
  nucleiTemplates: string;
  timeoutMs: number;
  /** Folder for the cached KEV catalog (`<dataDir>/cache`); without one it is kept in memory only. */
  cacheDir?: string;
}

/** The live settings from already validated variables (e.g. the main config's), caching under `dataDir`. */
function liveConfigFrom(env: LiveEnv, dataDir?: string): LiveConfig {
  return {
    nvdUrl: env.WAFGEN_NVD_URL,
    ...(env.NVD_API_KEY !== undefined ? { nvdApiKey: env.NVD_API_KEY } : {}),
    kevUrl: env.WAFGEN_KEV_URL,
    nucleiTemplates: env.WAFGEN_NUCLEI_TEMPLATES,
    timeoutMs: env.WAFGEN_HTTP_TIMEOUT_MS,
    ...(dataDir !== undefined ? { cacheDir: join(dataDir, 'cache') } : {}),
  };
}

/** Every default: the public services, no key, no disk cache. */
export function defaultLiveConfig(): LiveConfig {
  return liveConfigFrom(LiveEnvSchema.parse({}));
}

/**
 * Validate the live settings in `env`. The KEV cache goes under `opts.dataDir`, else under the data
 * folder the main config would pick (WAFGEN_DATA_DIR or the platform's). Throws ConfigError naming
 * each bad variable.
 */
export function loadLiveConfig(
  env: NodeJS.ProcessEnv = process.env,
  opts: { dataDir?: string } = {},
): LiveConfig {
  // Empty variables count as unset, as in the main config.
  const present = Object.fromEntries(
    Object.keys(LiveEnvSchema.shape)
      .map((k) => [k, env[k]])
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = LiveEnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`));
  }
  const dataDir =
    opts.dataDir ??
    loadConfig({
      WAFGEN_DATA_DIR: env.WAFGEN_DATA_DIR,
      XDG_DATA_HOME: env.XDG_DATA_HOME,
      LOCALAPPDATA: env.LOCALAPPDATA,
    }).dataDir;
  return liveConfigFrom(parsed.data, dataDir);
}
