// The live look-up settings: defaults, each bad variable named (never its value), a directory of
// templates, the KEV cache under the data folder.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ConfigError, ConfigSchema } from '../../../src/config/index.js';
import { defaultLiveConfig, LiveEnvSchema, loadLiveConfig } from '../../../src/vulns/live/config.js';
import { liveSources } from '../../../src/app/index.js';

describe('loadLiveConfig', () => {
  it('defaults to the public services, no key, 15 s, caching under the data folder', () => {
    expect(loadLiveConfig({ WAFGEN_DATA_DIR: '/srv/wafgen', NVD_API_KEY: '' })).toEqual({
      nvdUrl: 'https://services.nvd.nist.gov',
      kevUrl: 'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json',
      nucleiTemplates: 'https://raw.githubusercontent.com/projectdiscovery/nuclei-templates/main',
      timeoutMs: 15_000,
      cacheDir: join('/srv/wafgen', 'cache'),
    });
    expect(loadLiveConfig({}, { dataDir: '/d' }).cacheDir).toBe(join('/d', 'cache'));
    expect(defaultLiveConfig().cacheDir).toBeUndefined();
  });

  it('reads every variable; a templates directory becomes an absolute path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wafgen-tpl-'));
    const c = loadLiveConfig(
      {
        NVD_API_KEY: '0a1b2c3d-4e5f-6789-abcd-ef0123456789',
        WAFGEN_NVD_URL: 'http://127.0.0.1:8080/nvd',
        WAFGEN_KEV_URL: 'https://mirror.example/kev.json',
        WAFGEN_NUCLEI_TEMPLATES: relative(process.cwd(), dir),
        WAFGEN_HTTP_TIMEOUT_MS: '2500',
      },
      { dataDir: '/d' },
    );
    expect(c).toMatchObject({
      nvdApiKey: '0a1b2c3d-4e5f-6789-abcd-ef0123456789',
      nvdUrl: 'http://127.0.0.1:8080/nvd',
      kevUrl: 'https://mirror.example/kev.json',
      nucleiTemplates: dir,
      timeoutMs: 2500,
    });
    expect(liveSources(c)).toEqual({
      nvd: {
        baseUrl: 'http://127.0.0.1:8080/nvd',
        timeoutMs: 2500,
        apiKey: '0a1b2c3d-4e5f-6789-abcd-ef0123456789',
      },
      kev: { url: 'https://mirror.example/kev.json', timeoutMs: 2500, cacheDir: join('/d', 'cache') },
      nuclei: { base: dir, timeoutMs: 2500 },
    });
  });

  it('names each bad variable and never echoes a value', () => {
    let err: unknown;
    try {
      loadLiveConfig(
        {
          NVD_API_KEY: 'has a space secret-value',
          WAFGEN_NVD_URL: 'ftp://nvd.example',
          WAFGEN_KEV_URL: 'https://user:pw@cisa.example/kev.json',
          WAFGEN_NUCLEI_TEMPLATES: '/no/such/templates/dir',
          WAFGEN_HTTP_TIMEOUT_MS: 'soon',
        },
        { dataDir: '/d' },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const { problems, message } = err as ConfigError;
    expect(problems.map((p) => p.split(' ')[0])).toEqual([
      'NVD_API_KEY',
      'WAFGEN_NVD_URL',
      'WAFGEN_KEV_URL',
      'WAFGEN_NUCLEI_TEMPLATES',
      'WAFGEN_HTTP_TIMEOUT_MS',
    ]);
    expect(message).toMatch(
      /WAFGEN_NUCLEI_TEMPLATES must be an http:\/\/ or https:\/\/ URL or an existing directory/,
    );
    for (const secret of ['secret-value', 'nvd.example', 'user:pw', '/no/such', 'soon'])
      expect(message).not.toContain(secret);
  });

  it('rejects a timeout outside 100 ms .. 10 min', () => {
    expect(() => loadLiveConfig({ WAFGEN_HTTP_TIMEOUT_MS: '50' }, { dataDir: '/d' })).toThrow(
      /WAFGEN_HTTP_TIMEOUT_MS/,
    );
    expect(() => loadLiveConfig({ WAFGEN_HTTP_TIMEOUT_MS: '600001' }, { dataDir: '/d' })).toThrow(
      /WAFGEN_HTTP_TIMEOUT_MS/,
    );
  });

  it('has a schema whose shape merges into the main one without clashes', () => {
    const main = Object.keys(ConfigSchema.shape);
    expect(Object.keys(LiveEnvSchema.shape).filter((k) => main.includes(k))).toEqual([]);
  });
});
