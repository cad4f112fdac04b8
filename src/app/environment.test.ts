import { describe, expect, it } from 'vitest';

import { loadEnvironment } from './environment.js';
import { ConfigError } from '../config/index.js';

describe('loadEnvironment', () => {
  it('accepts an empty environment', () => {
    expect(loadEnvironment({ HOME: '/home/u' }).PORT).toBe(8080);
  });

  it('names every bad variable across subsystems at once, never echoing values', () => {
    try {
      loadEnvironment({
        PORT: 'x',
        WAFGEN_LLM_TIMEOUT_MS: 'soon',
        WAFGEN_HTTP_TIMEOUT_MS: '-5',
        WAFGEN_AUDIT_SINKS: 'splunk',
        OPENAI_API_KEY: 'sk-secret-value',
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const message = (e as Error).message;
      for (const name of ['PORT', 'WAFGEN_LLM_TIMEOUT_MS', 'WAFGEN_HTTP_TIMEOUT_MS', 'WAFGEN_SPLUNK'])
        expect(message).toContain(name);
      expect(message).not.toContain('sk-secret-value');
    }
  });
});
