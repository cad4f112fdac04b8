import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from './index.js';

describe('loadConfig', () => {
  it('applies defaults with an empty environment', () => {
    const c = loadConfig({ HOME: '/home/u', XDG_DATA_HOME: '' });
    expect(c.PORT).toBe(8080);
    expect(c.WAFGEN_OFFLINE).toBe(false);
    expect(c.dataDir).toMatch(/wafgen$/);
    expect(c.DATABASE_URL).toBeUndefined();
  });

  it('reads and coerces the variables it knows', () => {
    const c = loadConfig({
      PORT: '9000',
      WAFGEN_OFFLINE: '1',
      WAFGEN_DATA_DIR: '/tmp/w',
      DATABASE_URL: 'postgres://localhost/test',
      REDIS_URL: 'redis://127.0.0.1:6379/2',
    });
    expect(c).toMatchObject({
      PORT: 9000,
      WAFGEN_OFFLINE: true,
      dataDir: '/tmp/w',
      REDIS_URL: 'redis://127.0.0.1:6379/2',
    });
  });

  it('names every bad variable without echoing its value', () => {
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://secret-password@db/x', WAFGEN_OFFLINE: 'maybe' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const message = (e as Error).message;
      expect(message).toContain('PORT');
      expect(message).toContain('DATABASE_URL must be a URL starting with postgres://');
      expect(message).toContain('WAFGEN_OFFLINE');
      expect(message).not.toContain('secret-password');
    }
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).PORT).toBe(8080);
  });
});
