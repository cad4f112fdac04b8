// The safe fetcher against local servers only. The test server listens on 127.0.0.1, which the fetcher refuses
// by default; tests that need to reach it exempt exactly that address (allowAddresses: ['127.0.0.1']) and map
// test host names to it with an injected resolver, so every other address — including other spellings of
// loopback — still goes through the real policy.
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  type SafeFetchOptions,
  FetchFailed,
  FetchRefused,
  MAX_REDIRECTS_LIMIT,
  safeFetch,
} from '../../src/evidence/safe-fetch.js';
import { type TestServer, html, redirect, startServer } from './server.js';

let server: TestServer;
let resolved: string[] = [];

/** A resolver from a fixed table; unknown names fail like NXDOMAIN. Records every look-up. */
function resolverFor(table: Record<string, string[]>) {
  return async (host: string): Promise<string[]> => {
    resolved.push(host);
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses;
  };
}

const TABLE: Record<string, string[]> = {
  'site.test': ['127.0.0.1'],
  'other.test': ['127.0.0.1'],
  'advisories.example.com': ['10.0.0.5'],
  'split.example.com': ['93.184.215.14', '10.0.0.5'],
  'mapped.example.com': ['::ffff:127.0.0.1'],
  'mapped-hex.example.com': ['::ffff:7f00:1'],
  'nat64.example.com': ['64:ff9b::a9fe:a9fe'],
  'imds6.example.com': ['fd00:ec2::254'],
  'lan.example.com': ['192.168.1.10'],
  'v6-loop.example.com': ['::1'],
};

/** Options that let the fetcher reach the test server and nothing else that the policy refuses. */
function opts(extra: SafeFetchOptions = {}): SafeFetchOptions {
  return { allowAddresses: ['127.0.0.1'], resolver: resolverFor(TABLE), timeoutMs: 2_000, ...extra };
}

const site = (path: string) => `http://site.test:${server.port}${path}`;

async function refusal(p: Promise<unknown>): Promise<FetchRefused> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FetchRefused);
  return err as FetchRefused;
}

async function failure(p: Promise<unknown>): Promise<FetchFailed> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FetchFailed);
  return err as FetchFailed;
}

beforeAll(async () => {
  server = await startServer({
    '/page': html('<html><head><title>Advisory</title></head><body><p>hello</p></body></html>'),
    '/json': (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    },
    '/latin1': (_req, res) => {
      res.setHeader('content-type', 'text/plain; charset=iso-8859-1');
      res.end(Buffer.from([0x63, 0x61, 0x66, 0xe9])); // "café" in Latin-1
    },
  });
});

afterAll(async () => {
  await server.close();
});

afterEach(() => {
  resolved = [];
});

describe('safeFetch: addresses refused before any connection', () => {
  it('refuses the loopback test server itself when no exemption is given', async () => {
    const before = server.connections();
    const err = await refusal(safeFetch(`${server.origin}/page`));
    expect(err.code).toBe('blocked-address');
    expect(err.reason).toMatch(/127\.0\.0\.1 is loopback/);
    expect(server.connections()).toBe(before);
  });

  it.each([
    ['decimal', 'http://2130706433:PORT/page'],
    ['hex', 'http://0x7f.0.0.1:PORT/page'],
    ['short', 'http://127.1:PORT/page'],
    ['IPv6 loopback', 'http://[::1]:PORT/page'],
    ['IPv4-mapped', 'http://[::ffff:127.0.0.1]:PORT/page'],
    ['IPv4-mapped hex', 'http://[::ffff:7f00:1]:PORT/page'],
    ['unspecified', 'http://0.0.0.0:PORT/page'],
  ])('refuses a %s spelling of loopback', async (_name, template) => {
    const before = server.connections();
    const err = await refusal(safeFetch(template.replace('PORT', String(server.port))));
    expect(err.code).toBe('blocked-address');
    expect(server.connections()).toBe(before);
  });

  it('refuses other spellings of loopback even when 127.0.0.1 itself is exempt', async () => {
    for (const url of [`http://[::ffff:127.0.0.1]:${server.port}/`, `http://[::1]:${server.port}/`]) {
      const err = await refusal(safeFetch(url, opts()));
      expect(err.code).toBe('blocked-address');
    }
  });

  it('refuses a public-looking name that resolves to 10.0.0.5, before connecting', async () => {
    const before = server.connections();
    const err = await refusal(safeFetch(`http://advisories.example.com:${server.port}/page`, opts()));
    expect(err.code).toBe('blocked-address');
    expect(err.reason).toBe('10.0.0.5 is private (10.0.0.0/8)');
    expect(resolved).toEqual(['advisories.example.com']);
    expect(server.connections()).toBe(before);
  });

  it('refuses a name when any one of its addresses is private', async () => {
    const err = await refusal(safeFetch('http://split.example.com/', opts()));
    expect(err.reason).toMatch(/10\.0\.0\.5/);
  });

  it.each([
    ['mapped.example.com', /IPv4-mapped IPv6 form of 127\.0\.0\.1/],
    ['mapped-hex.example.com', /IPv4-mapped IPv6 form of 127\.0\.0\.1/],
    ['nat64.example.com', /NAT64.*169\.254\.169\.254/],
    ['imds6.example.com', /cloud metadata/],
    ['v6-loop.example.com', /IPv6 loopback/],
  ])('refuses %s by its resolved address', async (host, reason) => {
    const err = await refusal(safeFetch(`http://${host}:${server.port}/`, opts()));
    expect(err.code).toBe('blocked-address');
    expect(err.reason).toMatch(reason);
  });

  it.each([
    'http://localhost/',
    'http://LOCALHOST./',
    'http://app.localhost/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://metadata/',
    'http://intranet/',
    'http://printer.local/',
    'http://db.corp.internal/',
  ])('refuses the host name in %s without resolving it', async (url) => {
    const err = await refusal(safeFetch(url, opts()));
    expect(err.code).toBe('blocked-host');
    expect(resolved).toEqual([]);
  });

  it('refuses the cloud metadata address literally', async () => {
    const err = await refusal(safeFetch('http://169.254.169.254/latest/meta-data/', opts()));
    expect(err.reason).toMatch(/169\.254\.169\.254 is a cloud metadata address/);
  });

  it.each([
    ['file:///etc/passwd', 'scheme'],
    ['ftp://ftp.example.com/x', 'scheme'],
    ['gopher://example.com:70/_x', 'scheme'],
    ['data:text/html,<p>x</p>', 'scheme'],
    ['javascript:alert(1)', 'scheme'],
    ['http://user:secret@site.test/', 'credentials'],
    ['not a url', 'bad-url'],
    [`http://site.test/${'a'.repeat(2100)}`, 'bad-url'],
  ])('refuses %s (%s)', async (url, code) => {
    const err = await refusal(safeFetch(url, opts()));
    expect(err.code).toBe(code);
    expect(err.message).not.toContain('secret');
  });

  it('allowPrivate (tests only) admits private addresses but never metadata ones', async () => {
    const ok = await safeFetch(`${server.origin}/page`, { allowPrivate: true });
    expect(ok.status).toBe(200);
    const err = await refusal(safeFetch('http://169.254.169.254/', { allowPrivate: true }));
    expect(err.reason).toMatch(/metadata/);
    const err2 = await refusal(safeFetch('http://metadata.google.internal/', { allowPrivate: true }));
    expect(err2.code).toBe('blocked-host');
  });
});

describe('safeFetch: fetching an allowed host', () => {
  it('returns the body, its type and the final URL, connecting to the vetted address', async () => {
    const r = await safeFetch(site('/page#frag'), opts());
    expect(r).toEqual({
      url: site('/page'),
      status: 200,
      contentType: 'text/html',
      charset: 'utf-8',
      text: '<html><head><title>Advisory</title></head><body><p>hello</p></body></html>',
      bytes: 74,
      redirects: [],
    });
    // site.test exists only in the injected resolver: the connection used the vetted address (no second,
    // system look-up that DNS rebinding could answer differently), and Host still names the site.
    expect(resolved).toEqual(['site.test']);
    expect(server.hits.at(-1)).toEqual({ path: '/page', host: `site.test:${server.port}` });
  });

  it('resolves once per hop and connects to that answer, so a rebinding resolver cannot swap the address', async () => {
    let calls = 0;
    const rebinding = async (): Promise<string[]> => {
      calls += 1;
      return calls === 1 ? ['127.0.0.1'] : ['169.254.169.254'];
    };
    const r = await safeFetch(`http://rebind.test:${server.port}/page`, opts({ resolver: rebinding }));
    expect(r.status).toBe(200);
    expect(calls).toBe(1);
    expect(server.hits.at(-1)?.host).toBe(`rebind.test:${server.port}`);
  });

  it('accepts JSON and decodes a declared charset', async () => {
    expect((await safeFetch(site('/json'), opts())).contentType).toBe('application/json');
    expect((await safeFetch(site('/latin1'), opts())).text).toBe('café');
  });

  it('decompresses gzip bodies', async () => {
    server.route('/gz', (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.setHeader('content-encoding', 'gzip');
      res.end(gzipSync('compressed text'));
    });
    const r = await safeFetch(site('/gz'), opts());
    expect(r.text).toBe('compressed text');
    expect(r.bytes).toBe(15);
  });

  it('stops when the caller aborts', async () => {
    server.route('/hang', () => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await failure(safeFetch(site('/hang'), opts({ signal: controller.signal })));
    expect(err.code).toBe('aborted');
  });
});

describe('safeFetch: redirects', () => {
  it('re-validates every hop: a redirect to the metadata address is refused', async () => {
    server.route(
      '/to-metadata',
      redirect('http://169.254.169.254/latest/meta-data/iam/security-credentials/'),
    );
    const hitsBefore = server.hits.length;
    const err = await refusal(safeFetch(site('/to-metadata'), opts()));
    expect(err.code).toBe('blocked-address');
    expect(err.url).toBe('http://169.254.169.254/latest/meta-data/iam/security-credentials/');
    expect(err.reason).toMatch(/cloud metadata/);
    expect(server.hits.length - hitsBefore).toBe(1);
  });

  it('refuses a redirect to a name that resolves to ::ffff:127.0.0.1', async () => {
    server.route('/to-mapped', redirect(`http://mapped.example.com:${server.port}/page`));
    const err = await refusal(safeFetch(site('/to-mapped'), opts()));
    expect(err.code).toBe('blocked-address');
    expect(err.reason).toMatch(/::ffff:127\.0\.0\.1 is the IPv4-mapped IPv6 form of 127\.0\.0\.1/);
    expect(resolved).toEqual(['site.test', 'mapped.example.com']);
  });

  it.each([
    ['a private LAN name', 'http://lan.example.com/admin', 'blocked-address'],
    ['localhost', 'http://localhost:PORT/page', 'blocked-host'],
    ['a file URL', 'file:///etc/passwd', 'scheme'],
    ['an IPv6 link-local address', 'http://[fe80::1]/', 'blocked-address'],
    ['a URL with credentials', 'http://admin:pw@other.test:PORT/page', 'credentials'],
  ])('refuses a redirect to %s', async (_name, location, code) => {
    server.route('/to-x', redirect(location.replace('PORT', String(server.port))));
    const err = await refusal(safeFetch(site('/to-x'), opts()));
    expect(err.code).toBe(code);
  });

  it('follows relative and absolute redirects to allowed hosts, listing each hop', async () => {
    server.route('/r1', redirect('/r2', 301));
    server.route('/r2', redirect(`http://other.test:${server.port}/page`, 303));
    const r = await safeFetch(site('/r1'), opts());
    expect(r.url).toBe(`http://other.test:${server.port}/page`);
    expect(r.redirects).toEqual([site('/r1'), site('/r2')]);
    expect(resolved).toEqual(['site.test', 'site.test', 'other.test']);
  });

  function chain(prefix: string, length: number): void {
    for (let i = 0; i < length; i += 1) server.route(`/${prefix}${i}`, redirect(`/${prefix}${i + 1}`, 307));
    server.route(`/${prefix}${length}`, html('<p>end</p>'));
  }

  it(`follows exactly ${MAX_REDIRECTS_LIMIT} redirects`, async () => {
    chain('five', 5);
    const r = await safeFetch(site('/five0'), opts());
    expect(r.redirects).toHaveLength(5);
    expect(r.text).toBe('<p>end</p>');
  });

  it('refuses a sixth redirect, and cannot be configured past five', async () => {
    chain('six', 6);
    expect((await refusal(safeFetch(site('/six0'), opts()))).code).toBe('too-many-redirects');
    expect((await refusal(safeFetch(site('/six0'), opts({ maxRedirects: 50 })))).code).toBe(
      'too-many-redirects',
    );
    expect((await refusal(safeFetch(site('/six0'), opts({ maxRedirects: 2 })))).reason).toBe(
      'more than 2 redirects',
    );
  });

  it('detects a redirect loop', async () => {
    server.route('/loop-a', redirect('/loop-b'));
    server.route('/loop-b', redirect('/loop-a'));
    const err = await refusal(safeFetch(site('/loop-a'), opts()));
    expect(err.code).toBe('redirect-loop');
  });

  it('fails on a redirect without a Location', async () => {
    server.route('/no-location', (_req, res) => {
      res.statusCode = 302;
      res.end();
    });
    expect((await failure(safeFetch(site('/no-location'), opts()))).code).toBe('bad-redirect');
  });
});

describe('safeFetch: time, size, type and status', () => {
  it('times out when the response headers never come', async () => {
    server.route('/slow-headers', (_req, res) => {
      setTimeout(() => res.end('late'), 3_000).unref();
    });
    // The headers come after 3 s: a timeout, not the late answer, proves it gave up first.
    const err = await failure(safeFetch(site('/slow-headers'), opts({ timeoutMs: 200 })));
    expect(err.code).toBe('timeout');
  });

  it('times out on a body that trickles in', async () => {
    server.route('/trickle', (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      const timer = setInterval(() => res.write('.'), 20);
      res.on('close', () => clearInterval(timer));
    });
    const err = await failure(safeFetch(site('/trickle'), opts({ timeoutMs: 250 })));
    expect(err.code).toBe('timeout');
  });

  it('caps the total time across redirects', async () => {
    for (let i = 0; i < 4; i += 1) {
      server.route(`/slowhop${i}`, (_req, res) => {
        setTimeout(() => redirect(`/slowhop${i + 1}`)(_req, res), 120);
      });
    }
    server.route('/slowhop4', html('<p>end</p>'));
    const err = await failure(safeFetch(site('/slowhop0'), opts({ timeoutMs: 1_000, totalTimeoutMs: 300 })));
    expect(err.code).toBe('total-timeout');
  });

  it('refuses a body whose declared length exceeds the cap without reading it', async () => {
    server.route('/big-declared', (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.setHeader('content-length', String(5_000_000));
      res.write('x'.repeat(1000));
    });
    const err = await refusal(safeFetch(site('/big-declared'), opts({ maxBytes: 100_000 })));
    expect(err.code).toBe('too-large');
    expect(err.reason).toMatch(/Content-Length 5000000/);
  });

  it('stops reading an undeclared body as soon as it passes the cap', async () => {
    let written = 0;
    let closedEarly = false;
    server.route('/endless', (_req, res) => {
      res.setHeader('content-type', 'text/html');
      const chunk = 'a'.repeat(16_384);
      const timer = setInterval(() => {
        res.write(chunk);
        written += chunk.length;
      }, 2);
      res.on('close', () => {
        clearInterval(timer);
        closedEarly = !res.writableEnded;
      });
    });
    const err = await refusal(safeFetch(site('/endless'), opts({ maxBytes: 200_000 })));
    expect(err.code).toBe('too-large');
    await new Promise((r) => setTimeout(r, 50));
    expect(closedEarly).toBe(true);
    expect(written).toBeLessThan(2_000_000);
  });

  it('caps the decompressed size of a gzip bomb', async () => {
    const bomb = gzipSync(Buffer.alloc(20_000_000));
    expect(bomb.length).toBeLessThan(100_000);
    server.route('/bomb', (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.setHeader('content-encoding', 'gzip');
      res.end(bomb);
    });
    const err = await refusal(safeFetch(site('/bomb'), opts({ maxBytes: 100_000 })));
    expect(err.code).toBe('too-large');
  });

  it.each([
    ['image/png', /image\/png is not text/],
    ['application/octet-stream', /application\/octet-stream is not text/],
    ['application/javascript', /application\/javascript is not text/],
    [undefined, /no Content-Type/],
  ])('refuses content type %s', async (type, reason) => {
    server.route('/typed', (_req, res) => {
      if (type) res.setHeader('content-type', type);
      else res.removeHeader('content-type');
      res.end('body');
    });
    const err = await refusal(safeFetch(site('/typed'), opts()));
    expect(err.code).toBe('content-type');
    expect(err.reason).toMatch(reason);
  });

  it('reports 429 with its Retry-After, and 5xx, as failures with the status', async () => {
    server.route('/limited', (_req, res) => {
      res.statusCode = 429;
      res.setHeader('retry-after', '120');
      res.end('slow down');
    });
    server.route('/broken', html('oops', 503));
    const limited = await failure(safeFetch(site('/limited'), opts()));
    expect(limited.code).toBe('http-status');
    expect(limited.status).toBe(429);
    expect(limited.reason).toBe('HTTP 429 (Retry-After: 120)');
    const broken = await failure(safeFetch(site('/broken'), opts()));
    expect(broken.status).toBe(503);
  });

  it('fails on an unknown content encoding and on an unresolvable name', async () => {
    server.route('/weird-encoding', (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.setHeader('content-encoding', 'zstd-9000');
      res.end('x');
    });
    expect((await failure(safeFetch(site('/weird-encoding'), opts()))).code).toBe('decoding');
    expect((await failure(safeFetch('http://nowhere.test/', opts()))).code).toBe('dns');
  });
});
