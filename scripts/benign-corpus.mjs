// Writes data/benign.jsonl: the built-in benign corpus the generation loop tests every candidate rule
// against (ordinary traffic no rule may block). Deterministic: a seeded PRNG per category, fixed
// dates, no clock, no locale, and a deflate written here (zlib's output may differ between builds),
// so running it twice gives the same bytes.
//
//   node scripts/benign-corpus.mjs [output path]     (default: data/benign.jsonl)
//
// Everything below is written for this project: ordinary requests of real kinds of clients (browsers,
// SDKs, webhooks, probes, admin UIs). Nothing is an attack. Ids are benign-<category>-<n>.
import { Buffer } from 'node:buffer';
import { createHash, createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, URLSearchParams } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUTPUT = resolve(process.argv[2] ?? resolve(ROOT, 'data/benign.jsonl'));

// ---------------------------------------------------------------------------------------------------
// Seeded randomness (mulberry32, seeded by FNV-1a of the category name)

let rng = () => 0;
function seed(name) {
  let a = 2166136261;
  for (const ch of `wafgen-benign/${name}`) a = Math.imul(a ^ ch.codePointAt(0), 16777619);
  rng = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const int = (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = (arr) => arr[Math.floor(rng() * arr.length)];
const chance = (p) => rng() < p;
const some = (arr, lo, hi = lo) => {
  const copy = [...arr];
  const n = Math.min(copy.length, int(lo, hi));
  const out = [];
  for (let i = 0; i < n; i++) out.push(copy.splice(Math.floor(rng() * copy.length), 1)[0]);
  return out;
};
const weighted = (pairs) => {
  const total = pairs.reduce((s, [w]) => s + w, 0);
  let r = rng() * total;
  for (const [w, v] of pairs) if ((r -= w) < 0) return v;
  return pairs[pairs.length - 1][1];
};
const chars = (alphabet, n) => Array.from({ length: n }, () => pick(alphabet)).join('');
const HEX = '0123456789abcdef';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const hex = (n) => chars(HEX, n);
const alnum = (n) => chars(ALNUM, n);
const lowerAlnum = (n) => chars(LOWER_ALNUM, n);
const digits = (n) => chars('0123456789', n);
const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(0, 255)));
const b64 = (buf) => Buffer.from(buf).toString('base64');
const b64url = (buf) => Buffer.from(buf).toString('base64url');
const uuid = () => {
  const h = hex(32).split('');
  h[12] = '4';
  h[16] = '89ab'[int(0, 3)];
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
};
const money = (lo, hi) => Math.round((lo + rng() * (hi - lo)) * 100) / 100;
const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const sha256hex = (s) => createHash('sha256').update(s).digest('hex');
const hmacHex = (key, s) => createHmac('sha256', key).update(s).digest('hex');
const hmacB64 = (key, s) => createHmac('sha256', key).update(s).digest('base64');

// Time: everything happens between 2024-09-01 and 2025-08-31 (no clock is read).
const EPOCH = Date.UTC(2024, 8, 1) / 1000;
const SPAN = 365 * 86400;
const unix = () => EPOCH + int(0, SPAN);
const iso = (t = unix()) => new Date(t * 1000).toISOString();
const isoSec = (t = unix()) => iso(t).replace('.000Z', 'Z');
const day = (t = unix()) => iso(t).slice(0, 10);

// ---------------------------------------------------------------------------------------------------
// Encoding helpers

/** A query string as a browser or fetch() would put it on the wire (spaces as %20 unless `plus`). */
function qs(pairs, { plus = false } = {}) {
  const list = Array.isArray(pairs) ? pairs : Object.entries(pairs);
  return list
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => {
      const enc = (s) => {
        const e = encodeURIComponent(String(s)).replace(/'/g, '%27');
        return plus ? e.replace(/%20/g, '+') : e;
      };
      return `${enc(k).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${enc(v)}`;
    })
    .join('&');
}
/** application/x-www-form-urlencoded, exactly as a browser serialises a form. */
const form = (pairs) => new URLSearchParams(Array.isArray(pairs) ? pairs : Object.entries(pairs)).toString();
const json = (v) => JSON.stringify(v);
const pretty = (v) => JSON.stringify(v, null, 2);

// ---------------------------------------------------------------------------------------------------
// Deflate (fixed Huffman codes, greedy LZ77): for SAML redirect binding and PNG, identical everywhere.

const LEN_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
  227, 258,
];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
  6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];

function deflateRaw(input) {
  const src = Buffer.from(input);
  const out = [];
  let bitBuf = 0;
  let bitCount = 0;
  const put = (value, n) => {
    bitBuf |= value << bitCount;
    bitCount += n;
    while (bitCount >= 8) {
      out.push(bitBuf & 255);
      bitBuf >>>= 8;
      bitCount -= 8;
    }
  };
  const reversed = (code, n) => {
    let r = 0;
    for (let i = 0; i < n; i++) {
      r = (r << 1) | (code & 1);
      code >>= 1;
    }
    return r;
  };
  const symbol = (c) => {
    if (c < 144) put(reversed(0x30 + c, 8), 8);
    else if (c < 256) put(reversed(0x190 + c - 144, 9), 9);
    else if (c < 280) put(reversed(c - 256, 7), 7);
    else put(reversed(0xc0 + c - 280, 8), 8);
  };
  put(1, 1); // last block
  put(1, 2); // fixed Huffman
  const head = new Map();
  const prev = new Int32Array(src.length).fill(-1);
  const key = (i) => (src[i] << 16) | (src[i + 1] << 8) | src[i + 2];
  const insert = (i) => {
    if (i + 2 >= src.length) return;
    const k = key(i);
    prev[i] = head.get(k) ?? -1;
    head.set(k, i);
  };
  let i = 0;
  while (i < src.length) {
    let bestLen = 0;
    let bestDist = 0;
    if (i + 2 < src.length) {
      let cand = head.get(key(i)) ?? -1;
      for (let tries = 0; cand >= 0 && tries < 64 && i - cand <= 32768; tries++) {
        let len = 0;
        while (len < 258 && i + len < src.length && src[cand + len] === src[i + len]) len++;
        if (len > bestLen) {
          bestLen = len;
          bestDist = i - cand;
        }
        cand = prev[cand];
      }
    }
    if (bestLen >= 3) {
      let lc = LEN_BASE.length - 1;
      while (LEN_BASE[lc] > bestLen) lc--;
      symbol(257 + lc);
      if (LEN_EXTRA[lc]) put(bestLen - LEN_BASE[lc], LEN_EXTRA[lc]);
      let dc = DIST_BASE.length - 1;
      while (DIST_BASE[dc] > bestDist) dc--;
      put(reversed(dc, 5), 5);
      if (DIST_EXTRA[dc]) put(bestDist - DIST_BASE[dc], DIST_EXTRA[dc]);
      for (let j = 0; j < bestLen; j++) insert(i + j);
      i += bestLen;
    } else {
      symbol(src[i]);
      insert(i);
      i++;
    }
  }
  symbol(256);
  if (bitCount > 0) out.push(bitBuf & 255);
  const result = Buffer.from(out);
  if (!inflateRawSync(result).equals(src)) throw new Error('deflateRaw: round trip failed');
  return result;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function adler32(buf) {
  let a = 1;
  let b = 0;
  for (const x of buf) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
/** A small, valid RGB PNG: a gradient with a little noise. */
function png(width, height) {
  const [r0, g0, b0] = [int(0, 255), int(0, 255), int(0, 255)];
  const rows = [];
  for (let y = 0; y < height; y++) {
    rows.push(0);
    for (let x = 0; x < width; x++) {
      rows.push((r0 + x * 7) & 255, (g0 + y * 5) & 255, (b0 + ((x * y) >> 2) + int(0, 3)) & 255);
    }
  }
  const raw = Buffer.from(rows);
  const zdata = Buffer.concat([Buffer.from([0x78, 0x01]), deflateRaw(raw), u32(adler32(raw))]);
  const chunk = (type, data) => {
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    return Buffer.concat([u32(data.length), td, u32(crc32(td))]);
  };
  const ihdr = Buffer.concat([u32(width), u32(height), Buffer.from([8, 2, 0, 0, 0])]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zdata),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
/** Bytes that start like a JPEG (JFIF header) and end like one: enough for an upload body. */
function jpegish(n) {
  return Buffer.concat([
    Buffer.from([
      0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x48, 0x00,
      0x48, 0x00, 0x00,
    ]),
    bytes(n),
    Buffer.from([0xff, 0xd9]),
  ]);
}
/** A 1x1 or tiny GIF89a. */
function gif() {
  return Buffer.concat([
    Buffer.from('GIF89a', 'latin1'),
    Buffer.from([1, 0, 1, 0, 0x80, 0, 0, int(0, 255), int(0, 255), int(0, 255), 255, 255, 255]),
    Buffer.from([0x21, 0xf9, 4, 1, 0, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3b]),
  ]);
}

// ---------------------------------------------------------------------------------------------------
// Records

const records = [];
const counters = new Map();
let category = '';

function begin(name) {
  category = name;
  seed(name);
}

/**
 * Add one request. `headers` is the full header list (Host first); with a body, Content-Type must be
 * in it and Content-Length (UTF-8 bytes) is added here unless already present.
 */
function add(method, uri, headers, body) {
  const n = (counters.get(category) ?? 0) + 1;
  counters.set(category, n);
  const h = headers.filter(Boolean).map(([k, v]) => [k, String(v)]);
  if (body !== undefined) {
    if (!h.some(([k]) => k.toLowerCase() === 'content-type'))
      throw new Error(`${category}-${n}: body without Content-Type`);
    const len = String(Buffer.byteLength(body, 'utf8'));
    const at = h.findIndex(([k]) => k.toLowerCase() === 'content-length');
    if (at >= 0) h[at][1] = len;
    else h.push(['Content-Length', len]);
  }
  const rec = { id: `benign-${category}-${String(n).padStart(4, '0')}`, method, uri, headers: h };
  if (body !== undefined) rec.body = body;
  rec.expect = 'allow';
  rec.class = 'benign';
  rec.source = `wafgen benign corpus: ${category}`;
  records.push(rec);
  return rec;
}
// The 105 hand-written requests of the original built-in sample (data/benign.sample.jsonl, now folded
// in here), verbatim; only their ids (two were both sample-094) and source are rewritten.
const SAMPLE_LINES = [
  '{"id": "sample-001", "method": "GET", "uri": "/", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-002", "method": "GET", "uri": "/index.html", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-003", "method": "GET", "uri": "/favicon.ico", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-004", "method": "GET", "uri": "/robots.txt", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-005", "method": "GET", "uri": "/sitemap.xml", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-006", "method": "GET", "uri": "/static/js/app.3f9a1c.js", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-007", "method": "GET", "uri": "/static/css/main.min.css", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-008", "method": "GET", "uri": "/assets/fonts/inter-var.woff2", "headers": [["Host", "app.example.com"], ["User-Agent", "okhttp/4.12.0"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-009", "method": "GET", "uri": "/images/hero@2x.png", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-010", "method": "GET", "uri": "/.well-known/security.txt", "headers": [["Host", "app.example.com"], ["User-Agent", "okhttp/4.12.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-011", "method": "GET", "uri": "/docs/v2/getting-started", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-012", "method": "GET", "uri": "/blog/2025/06/scaling-postgres", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-013", "method": "GET", "uri": "/about-us", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-014", "method": "GET", "uri": "/pricing", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-015", "method": "GET", "uri": "/careers/senior-engineer", "headers": [["Host", "app.example.com"], ["User-Agent", "okhttp/4.12.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-016", "method": "GET", "uri": "/legal/privacy-policy", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-017", "method": "GET", "uri": "/users/jane.doe/avatar.jpg", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-018", "method": "GET", "uri": "/downloads/report-2025.pdf", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-019", "method": "GET", "uri": "/help/articles/reset-password", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-020", "method": "GET", "uri": "/en-gb/products/garden-hose-25m", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-021", "method": "GET", "uri": "/search?q=winter%20boots&page=2", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-022", "method": "GET", "uri": "/search?q=select%20a%20plan&page=4", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-023", "method": "GET", "uri": "/search?q=union%20station%20hotels&page=5", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-024", "method": "GET", "uri": "/search?q=drop%20shipping&page=1", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-025", "method": "GET", "uri": "/search?q=O%27Brien&page=3", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-026", "method": "GET", "uri": "/search?q=caf%C3%A9%20cr%C3%A8me&page=1", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-027", "method": "GET", "uri": "/search?q=1%2F2%20inch%20bolts&page=1", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-028", "method": "GET", "uri": "/search?q=c%2B%2B%20tutorial&page=5", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-029", "method": "GET", "uri": "/search?q=how%20to%20delete%20account&page=5", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-030", "method": "GET", "uri": "/search?q=script%20writing%20course&page=5", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-031", "method": "GET", "uri": "/search?q=where%20is%20my%20order%3F&page=2", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-032", "method": "GET", "uri": "/search?q=50%25%20off&page=5", "headers": [["Host", "app.example.com"], ["User-Agent", "okhttp/4.12.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-033", "method": "GET", "uri": "/search?q=exec%20summary%20template&page=1", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-034", "method": "GET", "uri": "/search?q=sleep%20apnea&page=2", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-035", "method": "GET", "uri": "/search?q=or%201%20and%202&page=3", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-036", "method": "GET", "uri": "/search?q=%26%26%20operator&page=3", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-037", "method": "GET", "uri": "/search?q=%2Fetc%2Fhosts%20file%20explained&page=3", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-038", "method": "GET", "uri": "/search?q=%3Cb%3Ebold%3C%2Fb%3E%20text&page=4", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-039", "method": "GET", "uri": "/search?q=%7B%7Bname%7D%7D%20placeholder&page=2", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-040", "method": "GET", "uri": "/search?q=%24%7BHOME%7D%20variable&page=3", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-041", "method": "GET", "uri": "/api/v1/products?category=tools&sort=price_asc&limit=24", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-042", "method": "GET", "uri": "/api/v1/orders?status=shipped&from=2025-01-01&to=2025-03-31", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-043", "method": "GET", "uri": "/api/v2/users/42/notifications?unread=true", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-044", "method": "GET", "uri": "/catalog?brand=Acme+%26+Sons&color=navy+blue", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"], ["Accept", "*/*"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-045", "method": "GET", "uri": "/oauth/callback?code=4%2F0AX4XfWjYk&state=af0ifjsldkj&scope=openid+email", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-046", "method": "GET", "uri": "/login?returnUrl=%2Faccount%2Fsettings%3Ftab%3Dsecurity", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-047", "method": "GET", "uri": "/redirect?next=https%3A%2F%2Fapp.example.com%2Fdashboard", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"], ["Accept", "*/*"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-048", "method": "GET", "uri": "/track?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-049", "method": "GET", "uri": "/api/v1/search?filter=name+eq+%27Widget%27+and+price+lt+20&%24select=id%2Cname", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-050", "method": "GET", "uri": "/reports/export?format=csv&columns=id%2Cname%2Cemail", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-051", "method": "GET", "uri": "/img/proxy?url=https%3A%2F%2Fcdn.example.net%2Fimages%2Fcat.jpg&w=300", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-052", "method": "GET", "uri": "/api/v1/geo?lat=51.5072&lng=-0.1276", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-053", "method": "GET", "uri": "/wiki/Special:Search?search=Union+of+South+Africa", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-054", "method": "GET", "uri": "/calendar?date=2025-07-14&view=week", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"], ["Accept", "*/*"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-055", "method": "GET", "uri": "/graphql?query=%7B+viewer+%7B+login+%7D+%7D", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-056", "method": "GET", "uri": "/share?text=Check+this+out%21+%3C3&url=https%3A%2F%2Fexample.org%2Fa%3Fb%3Dc", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-057", "method": "POST", "uri": "/api/v1/orders", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "89"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"items\\": [{\\"sku\\": \\"HX-200\\", \\"qty\\": 2}], \\"note\\": \\"Please leave at the door; ring twice.\\"}"}',
  '{"id": "sample-058", "method": "PATCH", "uri": "/api/v1/users", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "110"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"name\\": \\"Seán O\'Connor\\", \\"email\\": \\"sean@example.ie\\", \\"bio\\": \\"I write SQL for a living: SELECT * FROM life;\\"}"}',
  '{"id": "sample-059", "method": "PUT", "uri": "/api/v1/comments", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "83"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"postId\\": 17, \\"body\\": \\"Great write-up. The <script> tag part confused me though.\\"}"}',
  '{"id": "sample-060", "method": "PATCH", "uri": "/api/v1/templates", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "107"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"subject\\": \\"Welcome {{first_name}}!\\", \\"html\\": \\"<p>Hello {{first_name}}, your code is <b>{{code}}</b></p>\\"}"}',
  '{"id": "sample-061", "method": "POST", "uri": "/api/v1/pipelines", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "104"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"name\\": \\"deploy\\", \\"env\\": {\\"IMAGE\\": \\"registry.example.com/app:${CI_COMMIT_SHA}\\", \\"REGION\\": \\"eu-west-1\\"}}"}',
  '{"id": "sample-062", "method": "PATCH", "uri": "/api/v1/queries", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "108"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"sql\\": \\"select date_trunc(\'day\', created_at) d, count(*) from events group by 1 order by 1\\", \\"limit\\": 1000}"}',
  '{"id": "sample-063", "method": "PATCH", "uri": "/api/v1/settings", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "84"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"theme\\": \\"dark\\", \\"locale\\": \\"fr-FR\\", \\"notifications\\": {\\"email\\": true, \\"sms\\": false}}"}',
  '{"id": "sample-064", "method": "PATCH", "uri": "/api/v1/webhooks", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "92"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"url\\": \\"https://hooks.example.org/incoming/abc\\", \\"events\\": [\\"order.created\\", \\"order.paid\\"]}"}',
  '{"id": "sample-065", "method": "PUT", "uri": "/api/v1/files/metadata", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "67"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"path\\": \\"reports/2025/q2/summary.xlsx\\", \\"tags\\": [\\"finance\\", \\"q2\\"]}"}',
  '{"id": "sample-066", "method": "PUT", "uri": "/graphql", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "118"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"query\\": \\"query Orders($first:Int){ orders(first:$first){ edges{ node{ id total } } } }\\", \\"variables\\": {\\"first\\": 10}}"}',
  '{"id": "sample-067", "method": "PUT", "uri": "/api/v1/search", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "49"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"query\\": \\"drop table tennis results\\", \\"page\\": 2}"}',
  '{"id": "sample-068", "method": "PATCH", "uri": "/api/v1/messages", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "89"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"to\\": \\"support\\", \\"text\\": \\"My password reset link says \'invalid token\' — please help!\\"}"}',
  '{"id": "sample-069", "method": "PATCH", "uri": "/api/v1/scripts", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "77"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"name\\": \\"backup.sh\\", \\"content\\": \\"tar -czf backup.tgz /var/www && echo done\\"}"}',
  '{"id": "sample-071", "method": "POST", "uri": "/api/v2/translate", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"], ["Content-Type", "application/json"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["Content-Length", "66"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "{\\"text\\": \\"Ignorez les instructions précédentes\\", \\"target\\": \\"en\\"}"}',
  '{"id": "sample-072", "method": "POST", "uri": "/login", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"], ["Content-Type", "application/x-www-form-urlencoded"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Content-Length", "63"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "username=jane&password=correct+horse+battery+staple&remember=on"}',
  '{"id": "sample-073", "method": "POST", "uri": "/contact", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Content-Type", "application/x-www-form-urlencoded"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Content-Length", "94"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "name=Ana+L%C3%BAcia&email=ana%40example.br&message=Hi%2C+can+you+ship+to+Portugal%3F+Thanks%21"}',
  '{"id": "sample-074", "method": "POST", "uri": "/checkout/address", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"], ["Content-Type", "application/x-www-form-urlencoded"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Content-Length", "49"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "street=12+Union+Street&city=Aberdeen&zip=AB11+6BA"}',
  '{"id": "sample-075", "method": "POST", "uri": "/newsletter", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"], ["Accept", "*/*"], ["Content-Type", "application/x-www-form-urlencoded"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Content-Length", "30"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "email=bob%2Bnews%40example.com"}',
  '{"id": "sample-076", "method": "POST", "uri": "/feedback", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Content-Type", "application/x-www-form-urlencoded"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Content-Length", "74"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "rating=4&comment=Select+boxes+are+hard+to+use+on+mobile%3B+otherwise+fine."}',
  '{"id": "sample-077", "method": "POST", "uri": "/account/password", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"], ["Accept", "*/*"], ["Content-Type", "application/x-www-form-urlencoded"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Content-Length", "59"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "current=Tr0ub4dor%263&new=p%40ss+w0rd%3B+with%3B+semicolons"}',
  '{"id": "sample-078", "method": "POST", "uri": "/support/ticket", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Content-Type", "application/x-www-form-urlencoded"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Content-Length", "102"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "subject=Error+500+on+%2Fapi%2Fv1%2Fexport&body=Steps%3A+1%29+open+reports+2%29+click+export+-%3E+error"}',
  '{"id": "sample-079", "method": "POST", "uri": "/forum/post", "headers": [["Host", "app.example.com"], ["User-Agent", "okhttp/4.12.0"], ["Accept", "*/*"], ["Content-Type", "application/x-www-form-urlencoded"], ["Cookie", "session=9f2c4e1ab7; _ga=GA1.1.1183641937.1716290000; consent=%7B%22ads%22%3Afalse%7D; theme=dark"], ["Content-Length", "109"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "title=Using+%24%7B%7D+in+bash&text=echo+%22%24%7BHOME%7D%22+prints+your+home%3B+use+%24%28pwd%29+for+the+cwd."}',
  '{"id": "sample-080", "method": "POST", "uri": "/api/v1/upload", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"], ["Content-Type", "multipart/form-data; boundary=----b0undary"], ["Content-Length", "141"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "------b0undary\\r\\nContent-Disposition: form-data; name=\\"file\\"; filename=\\"holiday.png\\"\\r\\nContent-Type: image/png\\r\\n\\r\\nPNG....\\r\\n------b0undary--\\r\\n"}',
  '{"id": "sample-081", "method": "POST", "uri": "/api/v1/import", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"], ["Accept", "*/*"], ["Content-Type", "multipart/form-data; boundary=xyz"], ["Content-Length", "141"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "--xyz\\r\\nContent-Disposition: form-data; name=\\"file\\"; filename=\\"contacts.csv\\"\\r\\nContent-Type: text/csv\\r\\n\\r\\nname,email\\nJo,jo@example.com\\n--xyz--\\r\\n"}',
  '{"id": "sample-082", "method": "POST", "uri": "/soap/OrderService", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"], ["Accept", "*/*"], ["Content-Type", "text/xml; charset=utf-8"], ["SOAPAction", "\\"urn:GetOrder\\""], ["Content-Length", "162"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "<?xml version=\\"1.0\\"?><soap:Envelope xmlns:soap=\\"http://schemas.xmlsoap.org/soap/envelope/\\"><soap:Body><GetOrder><Id>42</Id></GetOrder></soap:Body></soap:Envelope>"}',
  '{"id": "sample-083", "method": "POST", "uri": "/xmlrpc", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"], ["Accept", "*/*"], ["Content-Type", "text/xml"], ["Content-Length", "149"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "<?xml version=\\"1.0\\"?><methodCall><methodName>blog.getRecentPosts</methodName><params><param><value><int>5</int></value></param></params></methodCall>"}',
  '{"id": "sample-084", "method": "OPTIONS", "uri": "/api/v1/orders", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"], ["Origin", "https://shop.example.com"], ["Access-Control-Request-Method", "POST"], ["Access-Control-Request-Headers", "content-type,authorization"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-085", "method": "GET", "uri": "/healthz", "headers": [["Host", "app.example.com"], ["User-Agent", "okhttp/4.12.0"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-086", "method": "HEAD", "uri": "/static/js/app.3f9a1c.js", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-087", "method": "DELETE", "uri": "/api/v1/sessions/current", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-088", "method": "GET", "uri": "/ws/notifications", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"], ["Upgrade", "websocket"], ["Connection", "Upgrade"], ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="], ["Sec-WebSocket-Version", "13"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-089", "method": "GET", "uri": "/api/v1/me", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"], ["Accept", "*/*"], ["Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy"], ["X-Request-Id", "5d1f0c7e-2b1a-4f0e-9a77-0c2d3e4f5a6b"], ["X-Forwarded-For", "203.0.113.7"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-090", "method": "GET", "uri": "/download?file=reports%2F2025%2Fq2.pdf", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-091", "method": "GET", "uri": "/api/v1/files?path=docs%2Fintro.md", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-092", "method": "GET", "uri": "/_next/data/build-123/products.json?slug=blue-widget", "headers": [["Host", "app.example.com"], ["User-Agent", "Go-http-client/2.0"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-093", "method": "GET", "uri": "/saml/acs?SAMLResponse=PHNhbWxwOlJlc3BvbnNlIHhtbG5zOnNhbWxwPSJ1cm46b2FzaXM6bmFtZXM6dGM6U0FNTDoyLjA6cHJvdG9jb2wiPg%3D%3D", "headers": [["Host", "app.example.com"], ["User-Agent", "python-requests/2.32.3"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-094", "method": "GET", "uri": "/api/v1/items?ids=1,2,3&fields=id,name&include=owner", "headers": [["Host", "app.example.com"], ["User-Agent", "curl/8.8.0"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-094", "method": "GET", "uri": "/index.php?page=2&lang=en", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-095", "method": "GET", "uri": "/shop/product.php?id=1042", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-096", "method": "GET", "uri": "/tienda/catalogo/index.jsp", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-097", "method": "POST", "uri": "/servlet/cart.jsp", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"], ["Content-Type", "application/x-www-form-urlencoded"], ["Content-Length", "13"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample", "body": "item=42&qty=1"}',
  '{"id": "sample-098", "method": "GET", "uri": "/Default.aspx?tab=overview", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-099", "method": "GET", "uri": "/handlers/thumbnail.ashx?img=42&w=200", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-100", "method": "GET", "uri": "/wp-admin/admin-ajax.php?action=heartbeat", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-101", "method": "GET", "uri": "/api/index.php/v1/content/articles?page[limit]=5", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-102", "method": "GET", "uri": "/cgi-bin/weather.cgi?city=Lyon", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-103", "method": "GET", "uri": "/manage/dashboard", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-104", "method": "GET", "uri": "/log/in", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
  '{"id": "sample-105", "method": "GET", "uri": "/api/v1/users?fields=name,email", "headers": [["Host", "app.example.com"], ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"], ["Accept", "*/*"]], "expect": "allow", "class": "benign", "source": "wafgen built-in benign sample"}',
];

// ---------------------------------------------------------------------------------------------------
// Vocabulary

const FIRST = [
  'Olivia',
  'Liam',
  'Emma',
  'Noah',
  'Ava',
  'Mateo',
  'Sofia',
  'Lucas',
  'Isabella',
  'Ethan',
  'Mia',
  'Aarav',
  'Priya',
  'Rohan',
  'Ananya',
  'Wei',
  'Mei',
  'Jun',
  'Yuki',
  'Haruto',
  'Sakura',
  'Min-jun',
  'Seo-yeon',
  'Fatima',
  'Omar',
  'Layla',
  'Yusuf',
  'Amira',
  'Chidi',
  'Ngozi',
  'Kwame',
  'Amara',
  'Zanele',
  'Thabo',
  'Lukas',
  'Hannah',
  'Jonas',
  'Lea',
  'Felix',
  'Chloé',
  'Léa',
  'Hugo',
  'Élodie',
  'Théo',
  'Zoë',
  'Björn',
  'Astrid',
  'Sven',
  'Ingrid',
  'Mikko',
  'Aino',
  'Sean',
  'Siobhan',
  'Niamh',
  'Ciarán',
  'Pádraig',
  'Dmitri',
  'Olga',
  'Anastasia',
  'Ivan',
  'Katarzyna',
  'Piotr',
  'Agnieszka',
  'João',
  'Beatriz',
  'Gonçalo',
  'Camila',
  'Santiago',
  'Valentina',
  'Diego',
  'Lucía',
  'José',
  'María',
  'Andrés',
  'Giulia',
  'Lorenzo',
  'Francesca',
  'Nikos',
  'Eleni',
  'Mehmet',
  'Elif',
  'Ayşe',
  'Nguyen',
  'Linh',
  'Tuan',
  'Siriporn',
  'Kai',
  'Noa',
  'Avi',
  'Tamar',
  'Rafael',
  'Ines',
  'Jack',
  'Charlotte',
  'Oliver',
  'Amelia',
  'Harper',
  'Elijah',
  'James',
  'Grace',
  'Dev',
  'Kiran',
  'Arjun',
  'Meera',
  'Tomás',
  'Renée',
  'Anaïs',
  'Jürgen',
  'Søren',
  'Zoltán',
  'Bogdan',
];
const LAST = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Garcia',
  'Martinez',
  'Rodriguez',
  'Hernández',
  'López',
  'González',
  'Müller',
  'Schmidt',
  'Schneider',
  'Fischer',
  'Weber',
  'Dubois',
  'Lefèvre',
  'Moreau',
  'Rossi',
  'Russo',
  'Bianchi',
  'Silva',
  'Santos',
  'Oliveira',
  'Pereira',
  'Kowalski',
  'Nowak',
  'Wiśniewski',
  'Ivanov',
  'Petrova',
  'Smirnov',
  'Kim',
  'Lee',
  'Park',
  'Choi',
  'Wang',
  'Li',
  'Zhang',
  'Chen',
  'Liu',
  'Tanaka',
  'Suzuki',
  'Sato',
  'Takahashi',
  'Nakamura',
  'Patel',
  'Sharma',
  'Gupta',
  'Reddy',
  'Iyer',
  'Singh',
  'Khan',
  'Ahmed',
  'Hassan',
  'Haddad',
  'Mansour',
  'Okafor',
  'Adeyemi',
  'Mensah',
  'Nkosi',
  'Dlamini',
  "O'Brien",
  "O'Connor",
  "O'Neill",
  "D'Angelo",
  "D'Souza",
  'McAllister',
  'MacDonald',
  'van der Berg',
  'de Vries',
  'Jansen',
  'Andersson',
  'Johansson',
  'Nielsen',
  'Hansen',
  'Virtanen',
  'Korhonen',
  'Yılmaz',
  'Kaya',
  'Papadopoulos',
  'Nguyen',
  'Tran',
  'Pham',
  'Cohen',
  'Levi',
  'Friedman',
  'Murphy',
  'Kelly',
  'Walsh',
  'Byrne',
  'Thompson',
  'Clarke',
  'Ó Súilleabháin',
  'García-Márquez',
  'Smith-Jones',
  'St. John',
  'Al-Farsi',
  'Ben-David',
  'Da Costa',
  'Le Roux',
];
const ascii = (s) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ı/g, 'i')
    .replace(/ş/g, 's')
    .replace(/ø/g, 'o')
    .replace(/[^A-Za-z0-9]+/g, '')
    .toLowerCase();
const MAIL_DOMAINS = [
  'example.com',
  'example.org',
  'example.net',
  'mail.example.com',
  'example.co.uk',
  'example.de',
  'example.fr',
  'example.es',
  'example.jp',
  'example.in',
  'example.com.br',
  'corp.example',
  'acme.example',
  'students.example.edu',
];
function person() {
  const first = pick(FIRST);
  const last = pick(LAST);
  const style = int(0, 4);
  const local =
    style === 0
      ? `${ascii(first)}.${ascii(last)}`
      : style === 1
        ? `${ascii(first)[0]}${ascii(last)}`
        : style === 2
          ? `${ascii(first)}${int(1, 99)}`
          : style === 3
            ? `${ascii(first)}_${ascii(last)}`
            : `${ascii(first)}+${pick(['news', 'shop', 'work', 'test', 'github', 'invoices'])}`;
  return {
    first,
    last,
    name: `${first} ${last}`,
    email: `${local}@${pick(MAIL_DOMAINS)}`,
    user: `${ascii(first)}.${ascii(last)}`,
  };
}
const CITIES = [
  ['London', 'GB', 'SW1A 1AA'],
  ['Manchester', 'GB', 'M1 1AE'],
  ['Edinburgh', 'GB', 'EH1 1YZ'],
  ['Dublin', 'IE', 'D02 X285'],
  ['Berlin', 'DE', '10117'],
  ['München', 'DE', '80331'],
  ['Köln', 'DE', '50667'],
  ['Wien', 'AT', '1010'],
  ['Zürich', 'CH', '8001'],
  ['Paris', 'FR', '75004'],
  ['Lyon', 'FR', '69002'],
  ['Montréal', 'CA', 'H2X 1Y4'],
  ['Toronto', 'CA', 'M5V 2T6'],
  ['New York', 'US', '10001'],
  ['San Francisco', 'US', '94103'],
  ['Austin', 'US', '78701'],
  ['Chicago', 'US', '60601'],
  ['Seattle', 'US', '98101'],
  ['Madrid', 'ES', '28013'],
  ['Barcelona', 'ES', '08002'],
  ['Lisboa', 'PT', '1100-148'],
  ['Porto', 'PT', '4000-322'],
  ['São Paulo', 'BR', '01310-100'],
  ['Ciudad de México', 'MX', '06600'],
  ['Buenos Aires', 'AR', 'C1002'],
  ['Bogotá', 'CO', '110111'],
  ['Amsterdam', 'NL', '1012 JS'],
  ['Kraków', 'PL', '31-001'],
  ['Praha', 'CZ', '110 00'],
  ['Stockholm', 'SE', '111 52'],
  ['København', 'DK', '1050'],
  ['Oslo', 'NO', '0150'],
  ['Helsinki', 'FI', '00100'],
  ['Athína', 'GR', '105 57'],
  ['İstanbul', 'TR', '34122'],
  ['Dubai', 'AE', '00000'],
  ['Mumbai', 'IN', '400001'],
  ['Bengaluru', 'IN', '560001'],
  ['Singapore', 'SG', '018956'],
  ['東京', 'JP', '100-0005'],
  ['Osaka', 'JP', '530-0001'],
  ['Seoul', 'KR', '04524'],
  ['上海', 'CN', '200000'],
  ['Sydney', 'AU', '2000'],
  ['Melbourne', 'AU', '3000'],
  ['Auckland', 'NZ', '1010'],
  ['Cape Town', 'ZA', '8001'],
  ['Lagos', 'NG', '101233'],
  ['Nairobi', 'KE', '00100'],
];
const STREETS = [
  'Main Street',
  'High Street',
  'Union Street',
  'Station Road',
  'Church Lane',
  'Oak Avenue',
  'Maple Drive',
  'Baker Street',
  'Market Square',
  'Hauptstraße',
  'Bahnhofstraße',
  'Rue de la Paix',
  'Rue du Faubourg Saint-Antoine',
  'Calle Mayor',
  'Avenida Paulista',
  'Via Roma',
  'Kungsgatan',
  'Nørrebrogade',
  'ul. Floriańska',
  'Prinsengracht',
  'Queen Street West',
  'Elm Street',
  "King's Road",
  'Old Kent Road',
  'Rua Augusta',
  'Gran Vía',
  'Sunset Boulevard',
  'Orchard Road',
  'MG Road',
  'Collins Street',
  'Long Street',
  'Broadway',
  '5th Avenue',
  'Market St',
];
const REGION_OF = {
  'New York': 'NY',
  'San Francisco': 'CA',
  Austin: 'TX',
  Chicago: 'IL',
  Seattle: 'WA',
  Toronto: 'ON',
  Montréal: 'QC',
  Sydney: 'NSW',
  Melbourne: 'VIC',
  München: 'Bayern',
  Köln: 'Nordrhein-Westfalen',
  Barcelona: 'Cataluña',
  Madrid: 'Madrid',
  Lyon: 'Auvergne-Rhône-Alpes',
  Mumbai: 'Maharashtra',
  Bengaluru: 'Karnataka',
  'São Paulo': 'SP',
  東京: '東京都',
  Osaka: '大阪府',
  'Ciudad de México': 'CDMX',
  'Buenos Aires': 'CABA',
  Bogotá: 'Bogotá D.C.',
};
const STREETS_OF = {
  DE: ['Hauptstraße', 'Bahnhofstraße', 'Königstraße', 'Schillerstraße', 'Am Markt'],
  AT: ['Kärntner Straße', 'Mariahilfer Straße'],
  CH: ['Bahnhofstrasse', 'Limmatquai'],
  FR: ['Rue de la Paix', 'Rue du Faubourg Saint-Antoine', 'Avenue Jean Jaurès', 'Rue de Rivoli'],
  ES: ['Calle Mayor', 'Gran Vía', 'Calle de Alcalá', 'Passeig de Gràcia'],
  PT: ['Rua Augusta', 'Avenida da Liberdade', 'Rua de Santa Catarina'],
  BR: ['Avenida Paulista', 'Rua Oscar Freire'],
  MX: ['Avenida Reforma', 'Calle Madero'],
  IT: ['Via Roma', 'Corso Vittorio Emanuele II'],
  NL: ['Prinsengracht', 'Kalverstraat'],
  SE: ['Kungsgatan', 'Drottninggatan'],
  DK: ['Nørrebrogade', 'Strøget'],
  PL: ['ul. Floriańska', 'ul. Marszałkowska'],
  GB: [
    'High Street',
    'Station Road',
    'Baker Street',
    "King's Road",
    'Union Street',
    'Church Lane',
    'Old Kent Road',
  ],
  IE: ["O'Connell Street", 'Grafton Street'],
  US: ['Main Street', 'Market St', 'Broadway', '5th Avenue', 'Elm Street', 'Sunset Boulevard', 'Maple Drive'],
  CA: ['Queen Street West', 'Rue Sainte-Catherine', 'Yonge Street'],
  AU: ['Collins Street', 'George Street'],
  IN: ['MG Road', 'Linking Road'],
  SG: ['Orchard Road'],
  ZA: ['Long Street'],
  JP: ['丸の内1-9-1', '梅田3-1-3'],
  CN: ['南京东路 100号'],
};
function address() {
  const [city, country, zip] = pick(CITIES);
  const streets = STREETS_OF[country] ?? STREETS;
  const street = pick(streets);
  const no = `${int(1, 240)}${chance(0.1) ? pick(['a', 'b', 'B']) : ''}`;
  return {
    line1: /^[\u3000-\u9fff]/.test(street)
      ? street
      : ['DE', 'AT', 'CH', 'ES', 'PT', 'BR', 'MX', 'IT', 'NL', 'SE', 'DK', 'PL'].includes(country)
        ? `${street} ${no}`
        : `${no} ${street}`,
    line2: chance(0.35)
      ? pick([
          'Apt 4B',
          'Flat 2',
          'Suite 300',
          '2nd floor',
          'Unit 12',
          'c/o Reception',
          'Building C, Room 114',
        ])
      : '',
    city,
    zip,
    country,
    region: REGION_OF[city] ?? '',
  };
}
const COMPANIES = [
  'Acme Corp',
  'Globex',
  'Initech',
  'Umbrella Health',
  'Stark Logistics',
  'Wayne Foods',
  'Hooli',
  'Pied Piper',
  'Vandelay Industries',
  'Soylent Farms',
  'Tyrell Robotics',
  'Cyberdyne Analytics',
  'Wonka Confectionery',
  'Nordwind GmbH',
  'Brasserie Lumière SARL',
  'Tienda Sol S.L.',
  'Kōbō Design KK',
  'Müller & Söhne KG',
  'Blue Harbor Bank',
  'Northwind Traders',
  'Contoso Ltd',
  'Fabrikam',
  'Tailspin Toys',
  'Woodgrove Bank',
  'Lakeshore Dental',
  'Greenfield School District',
  'Riverbend Veterinary',
  'Oak & Ash Furniture',
  "O'Malley's Pub",
  "Smith & Wesson's Bakery",
  'AT&T Store #412',
  'Ben & Jerry Fan Club',
  'Fjord Outdoor AS',
];
const PRODUCTS = [
  ['Garden hose 25 m', 'garden'],
  ['Trail running shoes', 'shoes'],
  ['Waterproof jacket', 'outdoor'],
  ['Espresso machine', 'kitchen'],
  ['Cast iron skillet 28cm', 'kitchen'],
  ['Noise-cancelling headphones', 'audio'],
  ['USB-C hub 7-in-1', 'electronics'],
  ['Mechanical keyboard (ISO-DE)', 'electronics'],
  ['27" 4K monitor', 'electronics'],
  ['Yoga mat', 'fitness'],
  ['Kettlebell 16 kg', 'fitness'],
  ['Organic green tea', 'grocery'],
  ['Dark roast coffee beans 1kg', 'grocery'],
  ['Linen duvet cover', 'home'],
  ['Desk lamp', 'home'],
  ['Drop-leaf table', 'furniture'],
  ['Oak dining table', 'furniture'],
  ['Union Jack cushion', 'home'],
  ['Children\'s bike 16"', 'kids'],
  ['LEGO city set', 'kids'],
  ['Sleep mask', 'health'],
  ['Electric toothbrush', 'health'],
  ['Sunscreen SPF 50', 'beauty'],
  ['Wool socks (3-pack)', 'clothing'],
  ['Denim jacket', 'clothing'],
  ['Hiking backpack 40L', 'outdoor'],
  ['Tent for 2 people', 'outdoor'],
  ['Graphic novel box set', 'books'],
  ['SQL for Dummies', 'books'],
  ['JavaScript: The Good Parts', 'books'],
  ['Screenplay writing kit', 'books'],
  ['Dog harness M', 'pets'],
  ['Cat scratching post', 'pets'],
  ['Smart thermostat', 'smart-home'],
  ['Video doorbell', 'smart-home'],
  ['Ceramic plant pot', 'garden'],
  ['Pruning shears', 'garden'],
];
const WORDS = (
  'account order delivery invoice report dashboard project team meeting schedule update release feature bug ' +
  'customer payment subscription plan upgrade download export import settings profile password message ' +
  'notification calendar document folder workspace analytics campaign newsletter product review rating ' +
  'shipping return refund warehouse inventory supplier contract budget forecast quarter roadmap sprint ' +
  'backlog ticket incident deployment pipeline branch commit merge review approval comment thread reply ' +
  'course lesson student teacher assignment grade exam library booking flight hotel reservation check-in ' +
  'appointment doctor clinic prescription recipe ingredient kitchen garden weather travel photo album'
).split(' ');
const TAGS = [
  'urgent',
  'backend',
  'frontend',
  'billing',
  'mobile',
  'ios',
  'android',
  'ux',
  'design',
  'docs',
  'security',
  'performance',
  'good-first-issue',
  'help wanted',
  'regression',
  'p1',
  'p2',
  'wontfix',
  'needs-triage',
  'a11y',
  'i18n',
  'infra',
  'q3-2025',
  'customer-request',
  'tech-debt',
  'flaky-test',
  'dependencies',
  'release-blocker',
];
const COLORS = [
  'navy',
  'forest green',
  'charcoal',
  'off-white',
  'burgundy',
  'sand',
  'sky blue',
  'black',
  'rose gold',
  'olive',
];
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'CAD', 'AUD', 'CHF', 'SEK', 'INR', 'BRL', 'MXN', 'PLN'];
const LOCALES = [
  'en-US',
  'en-GB',
  'de-DE',
  'fr-FR',
  'es-ES',
  'es-MX',
  'pt-BR',
  'it-IT',
  'nl-NL',
  'pl-PL',
  'ja-JP',
  'zh-CN',
  'ko-KR',
  'sv-SE',
  'tr-TR',
  'ar-SA',
  'hi-IN',
  'ru-RU',
];
const TIMEZONES = [
  'Europe/London',
  'Europe/Berlin',
  'Europe/Paris',
  'America/New_York',
  'America/Los_Angeles',
  'America/Sao_Paulo',
  'Asia/Tokyo',
  'Asia/Kolkata',
  'Australia/Sydney',
  'Africa/Lagos',
  'Asia/Shanghai',
  'UTC',
];
const REPOS = [
  ['acme', 'checkout-service'],
  ['acme', 'web-frontend'],
  ['acme', 'infra'],
  ['platform-team', 'api-gateway'],
  ['data-eng', 'etl-jobs'],
  ['mobile', 'ios-app'],
  ['mobile', 'android-app'],
  ['oss', 'tiny-router'],
  ['docs', 'handbook'],
  ['ml', 'recsys'],
  ['payments', 'ledger'],
  ['growth', 'experiments'],
  ['sre', 'runbooks'],
  ['design-system', 'components'],
  ['search', 'indexer'],
  ['identity', 'auth-service'],
];
const SERVICES = [
  'checkout',
  'payments',
  'search',
  'catalog',
  'auth',
  'notifications',
  'gateway',
  'billing',
  'inventory',
  'recommendations',
  'frontend',
  'orders',
  'shipping',
  'media',
  'reporting',
];
const ENVS = ['production', 'staging', 'dev', 'qa', 'eu-prod', 'us-prod', 'canary'];
const REGIONS = [
  'us-east-1',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'sa-east-1',
];
const TITLE_PHRASES = [
  'Quarterly planning notes',
  'New onboarding flow',
  'Release checklist',
  'Team offsite recap',
  'Spring sale is here',
  'Customer stories',
  'How we handle refunds',
  'Office move update',
  'Weekly product digest',
  'Holiday opening hours',
  'Security review findings',
  'Sourdough for beginners',
  'Tips for remote meetings',
  'Budget review',
  'Dark mode is live',
  'Improving search results',
  'Warehouse safety training',
  'Pricing changes explained',
  'Volunteer day photos',
  'Database maintenance window',
  'Mobile app 5.0',
  'Accessibility improvements',
  'Summer reading list',
  'Year in review',
  'Moving to the new billing system',
  'Getting started with the API',
  'Meet the support team',
  'Faster page loads',
  'Sustainability report',
  'Hiring update',
  'Kitchen renovation ideas',
  'Your first marathon',
  'Travel guide: Lisbon',
  'Backyard garden planning',
  'Cloud cost review',
  'New integrations',
  'Roadmap highlights',
  'Incident review: login delays',
  'Community meetup recap',
  'Choosing the right plan',
  'Union Station then and now',
  'Select committee briefing',
  'Drop-in clinic hours',
  'Exec summary for the board',
  'Better sleep at home',
  'Script writing workshop',
];
const SENTENCES = [
  'We shipped the new checkout flow to all customers this week.',
  'Thanks to everyone who joined the call on Tuesday.',
  'The warehouse team moved to the new building in March.',
  'Please review the attached draft before Friday.',
  'Prices include VAT and free returns within 30 days.',
  'The meeting has moved to room 4.12 on the fourth floor.',
  'Our support hours are 9:00 to 17:00, Monday to Friday.',
  'This release fixes several bugs reported by customers.',
  'The new dashboard loads twice as fast as the old one.',
  'Remember to select your delivery slot at checkout.',
  'We are hiring two engineers and a product designer.',
  'The union representatives will join the next town hall.',
  'The roadmap for next quarter focuses on reliability.',
  'Guests can check in from 3 pm and check out until 11 am.',
  'Add the eggs one at a time and whisk until smooth.',
  'The trail is about 12 km long with a steep section near the top.',
  'Backups run nightly and are kept for 35 days.',
  'Students should submit the essay through the portal.',
  'The garden needs watering twice a week in summer.',
  'Invoices are sent on the first working day of the month.',
  'We dropped support for the old mobile app version.',
  'The exec team approved the budget for the new office.',
  'Most customers choose the annual plan.',
  'The library is closed on public holidays.',
  'This jacket is waterproof and packs into its own pocket.',
  'The workshop covers the basics of scripts and screenplays.',
  'Parking is available behind the building.',
  'The beta is open to all team accounts from today.',
  'Sleep experts recommend a regular bedtime.',
  'Our office in Lyon is now open on Saturdays.',
  'The new search handles typos and accents better.',
  'Orders placed before 2 pm ship the same day.',
  'Refunds usually reach your account within five working days.',
  'We updated the privacy policy to explain cookie choices.',
  'The quarterly report is attached as a PDF.',
  'Drinks and snacks will be provided.',
];
/** Natural text: a title-like phrase for short lengths, whole sentences (last period dropped) for longer ones. */
function sentenceWords(lo, hi) {
  if (hi <= 7) return pick(TITLE_PHRASES);
  const out = [];
  let words = 0;
  while (words < lo) {
    const s = pick(SENTENCES);
    out.push(s);
    words += s.split(' ').length;
  }
  return out.join(' ').replace(/\.$/, '');
}
const slug = (s) => slugify(s).slice(0, 40).replace(/-$/, '') || 'item';
const slugify = (s) =>
  s
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

// ---------------------------------------------------------------------------------------------------
// Hosts and clients

const HOSTS = {
  web: [
    'www.example.com',
    'example.com',
    'shop.example.com',
    'www.example.co.uk',
    'store.example.de',
    'www.example.fr',
    'blog.example.org',
    'news.example.net',
    'www.acme.example',
    'tienda.example.es',
    'travel.example.com',
    'learn.example.edu',
  ],
  app: [
    'app.example.com',
    'dashboard.example.com',
    'my.example.net',
    'portal.acme.example',
    'console.example.io',
    'app.eu.example.com',
    'studio.example.app',
    'admin.shop.example.com',
    'crm.example.com',
    'hr.corp.example',
  ],
  api: [
    'api.example.com',
    'api.example.io',
    'api.eu.example.com',
    'public-api.example.net',
    'api.acme.example',
    'gateway.example.com',
    'rest.example.org',
    'api-v2.example.com',
    'mobile-api.example.com',
    'partners.example.com',
    'api.internal.example.net',
  ],
  cdn: [
    'static.example.com',
    'cdn.example.net',
    'assets.example.com',
    'img.example.com',
    'media.example.org',
    'd1a2b3c4example.cloudfront.net',
    'cdn.jsdelivr.example',
    'fonts.example.net',
  ],
  idp: [
    'login.example.com',
    'auth.example.com',
    'sso.acme.example',
    'id.example.net',
    'accounts.example.org',
    'example.okta.example',
    'example-tenant.auth0.example',
    'keycloak.corp.example',
  ],
};
const host = (kind) => pick(HOSTS[kind]);

const CHROME_VERSIONS = [
  '124',
  '125',
  '126',
  '127',
  '128',
  '129',
  '130',
  '131',
  '132',
  '133',
  '134',
  '135',
  '136',
  '137',
  '138',
];
const FIREFOX_VERSIONS = [
  '115.0',
  '126.0',
  '128.0',
  '130.0',
  '132.0',
  '134.0',
  '136.0',
  '138.0',
  '140.0',
  '141.0',
];
function browserProfile() {
  const kind = weighted([
    [34, 'chrome-win'],
    [12, 'chrome-mac'],
    [4, 'chrome-linux'],
    [12, 'chrome-android'],
    [8, 'safari-mac'],
    [14, 'safari-ios'],
    [6, 'firefox-win'],
    [3, 'firefox-linux'],
    [2, 'firefox-mac'],
    [6, 'edge'],
    [2, 'samsung'],
    [1, 'opera'],
  ]);
  const cv = pick(CHROME_VERSIONS);
  const fv = pick(FIREFOX_VERSIONS);
  const sv = pick(['17.4', '17.5', '17.6', '18.0', '18.1', '18.2', '18.3', '18.4', '18.5']);
  const ios = sv.replace('.', '_');
  const brand = `"Chromium";v="${cv}", "${kind === 'edge' ? 'Microsoft Edge' : kind === 'opera' ? 'Opera' : 'Google Chrome'}";v="${cv}", "${pick(['Not/A)Brand', 'Not.A/Brand', 'Not)A;Brand', 'Not A(Brand'])}";v="${pick(['8', '24', '99'])}"`;
  switch (kind) {
    case 'chrome-win':
      return {
        ua: `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${cv}.0.0.0 Safari/537.36`,
        ch: [brand, '?0', '"Windows"'],
      };
    case 'chrome-mac':
      return {
        ua: `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${cv}.0.0.0 Safari/537.36`,
        ch: [brand, '?0', '"macOS"'],
      };
    case 'chrome-linux':
      return {
        ua: `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${cv}.0.0.0 Safari/537.36`,
        ch: [brand, '?0', '"Linux"'],
      };
    case 'chrome-android':
      return {
        ua: `Mozilla/5.0 (Linux; Android ${pick(['10', '13', '14', '15'])}; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${cv}.0.0.0 Mobile Safari/537.36`,
        ch: [brand, '?1', '"Android"'],
      };
    case 'safari-mac':
      return {
        ua: `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${sv} Safari/605.1.15`,
      };
    case 'safari-ios':
      return {
        ua: `Mozilla/5.0 (iPhone; CPU iPhone OS ${ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${sv} Mobile/15E148 Safari/604.1`,
      };
    case 'firefox-win':
      return {
        ua: `Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:${fv}) Gecko/20100101 Firefox/${fv}`,
        firefox: true,
      };
    case 'firefox-linux':
      return {
        ua: `Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:${fv}) Gecko/20100101 Firefox/${fv}`,
        firefox: true,
      };
    case 'firefox-mac':
      return {
        ua: `Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:${fv}) Gecko/20100101 Firefox/${fv}`,
        firefox: true,
      };
    case 'edge':
      return {
        ua: `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${cv}.0.0.0 Safari/537.36 Edg/${cv}.0.${int(1000, 3000)}.${int(10, 99)}`,
        ch: [brand, '?0', '"Windows"'],
      };
    case 'samsung':
      return {
        ua: `Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/${pick(['25.0', '26.0', '27.0'])} Chrome/${cv}.0.0.0 Mobile Safari/537.36`,
        ch: [brand, '?1', '"Android"'],
      };
    default:
      return {
        ua: `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${cv}.0.0.0 Safari/537.36 OPR/${int(108, 118)}.0.0.0`,
        ch: [brand, '?0', '"Windows"'],
      };
  }
}
const ACCEPT_LANGUAGE = [
  'en-US,en;q=0.9',
  'en-GB,en;q=0.9',
  'en-GB,en-US;q=0.9,en;q=0.8',
  'de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7',
  'fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7',
  'es-ES,es;q=0.9',
  'es-419,es;q=0.9,en;q=0.8',
  'pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7',
  'ja,en-US;q=0.9,en;q=0.8',
  'zh-CN,zh;q=0.9,en;q=0.8',
  'ko-KR,ko;q=0.9,en-US;q=0.8',
  'nl-NL,nl;q=0.9,en;q=0.8',
  'it-IT,it;q=0.9,en;q=0.8',
  'pl-PL,pl;q=0.9,en-US;q=0.8,en;q=0.7',
  'sv-SE,sv;q=0.9,en;q=0.8',
  'en-IN,en;q=0.9,hi;q=0.8',
  'ar,en-US;q=0.9,en;q=0.8',
  'ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7',
  'tr-TR,tr;q=0.9,en;q=0.8',
  'en',
];
const ACCEPT_HTML =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';
const ACCEPT_HTML_FF = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const ACCEPT_HTML_SAFARI = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/**
 * Headers a browser sends. mode: 'navigate' (a page or a form post), 'cors' (fetch/XHR), 'no-cors'
 * (subresources). dest: document, empty, script, style, image, font, manifest, video, iframe.
 */
function browser(h, opts = {}) {
  const p = opts.profile ?? browserProfile();
  const mode = opts.mode ?? 'navigate';
  const dest = opts.dest ?? (mode === 'navigate' ? 'document' : 'empty');
  const headers = [['Host', h]];
  if (p.ch && !opts.noClientHints) {
    headers.push(['sec-ch-ua', p.ch[0]], ['sec-ch-ua-mobile', p.ch[1]], ['sec-ch-ua-platform', p.ch[2]]);
  }
  if (mode === 'navigate' && !p.firefox && chance(0.9)) headers.push(['Upgrade-Insecure-Requests', '1']);
  if (opts.origin) headers.push(['Origin', opts.origin]);
  if (opts.contentType) headers.push(['Content-Type', opts.contentType]);
  headers.push(['User-Agent', p.ua]);
  const accept =
    opts.accept ??
    (mode === 'navigate'
      ? p.firefox
        ? ACCEPT_HTML_FF
        : p.ch
          ? ACCEPT_HTML
          : ACCEPT_HTML_SAFARI
      : dest === 'image'
        ? 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8'
        : dest === 'style'
          ? 'text/css,*/*;q=0.1'
          : dest === 'script' || dest === 'font'
            ? '*/*'
            : 'application/json, text/plain, */*');
  headers.push(['Accept', accept]);
  for (const [k, v] of opts.extra ?? []) headers.push([k, v]);
  if (p.ch || p.firefox || chance(0.7)) {
    headers.push([
      'Sec-Fetch-Site',
      opts.site ??
        (mode === 'navigate' ? pick(['none', 'same-origin', 'same-origin', 'cross-site']) : 'same-origin'),
    ]);
    headers.push(['Sec-Fetch-Mode', mode]);
    if (mode === 'navigate') headers.push(['Sec-Fetch-User', '?1']);
    headers.push(['Sec-Fetch-Dest', dest]);
  }
  if (opts.referer !== false && (opts.referer || (mode !== 'navigate' ? chance(0.85) : chance(0.5)))) {
    headers.push([
      'Referer',
      opts.referer ||
        `https://${h}${pick(['/', '/account', '/dashboard', '/products', '/search', '/cart', '/settings/profile', '/blog/'])}`,
    ]);
  }
  headers.push([
    'Accept-Encoding',
    p.firefox ? 'gzip, deflate, br, zstd' : p.ch ? 'gzip, deflate, br, zstd' : 'gzip, deflate, br',
  ]);
  headers.push(['Accept-Language', opts.lang ?? pick(ACCEPT_LANGUAGE)]);
  if (opts.cookie !== false && (opts.cookie || chance(0.6)))
    headers.push(['Cookie', opts.cookie || basicCookie()]);
  if (mode === 'navigate' && p.ch && chance(0.3)) headers.push(['Priority', 'u=0, i']);
  return headers;
}

const API_CLIENTS = [
  'curl/8.5.0',
  'curl/8.7.1',
  'curl/7.88.1',
  'curl/8.11.1',
  'python-requests/2.31.0',
  'python-requests/2.32.3',
  'python-httpx/0.27.0',
  'Python/3.12 aiohttp/3.9.5',
  'axios/1.7.2',
  'axios/1.6.8',
  'node',
  'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)',
  'Go-http-client/1.1',
  'Go-http-client/2.0',
  'okhttp/4.12.0',
  'okhttp/5.0.0-alpha.14',
  'Java-http-client/21.0.3',
  'Apache-HttpClient/4.5.14 (Java/17.0.9)',
  'Apache-HttpClient/5.3.1 (Java/21.0.2)',
  'ReactorNetty/1.1.20',
  'PostmanRuntime/7.39.0',
  'PostmanRuntime/7.42.0',
  'insomnia/9.3.2',
  'HTTPie/3.2.2',
  'Faraday v2.9.0',
  'GuzzleHttp/7',
  'Symfony HttpClient (Curl)',
  'Dart/3.4 (dart:io)',
  'RestSharp/110.2.0.0',
  'Ruby',
  'Acme/5.12.0 (com.acme.app; build:5120; iOS 17.5.1) Alamofire/5.9.1',
  'ShopApp/3.4.2 CFNetwork/1496.0.7 Darwin/23.5.0',
  'Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP2A.240605.024)',
  'ktor-client',
  'undici',
  'got (https://github.com/sindresorhus/got)',
  'Mozilla/5.0 (compatible; Zapier)',
  'rest-client/2.1.0 (linux x86_64) ruby/3.3.0p0',
  'libcurl/8.4.0 r-curl/5.2.1 httr/1.4.7',
  'aws-sdk-js/3.600.0 ua/2.0 os/linux#6.1 lang/js md/nodejs#20.14.0',
  'Boto3/1.34.120 md/Botocore#1.34.120 ua/2.0 os/linux#6.5 md/arch#x86_64 lang/python#3.11.9',
];
/** Headers of a programmatic client. */
function apiClient(h, opts = {}) {
  const headers = [
    ['Host', h],
    ['User-Agent', opts.ua ?? pick(API_CLIENTS)],
  ];
  headers.push([
    'Accept',
    opts.accept ?? pick(['application/json', 'application/json', '*/*', 'application/json, text/plain, */*']),
  ]);
  if (opts.contentType) headers.push(['Content-Type', opts.contentType]);
  if (opts.auth !== false) headers.push(['Authorization', opts.auth ?? bearer()]);
  for (const [k, v] of opts.extra ?? []) headers.push([k, v]);
  if (chance(0.25)) headers.push(['X-Request-Id', uuid()]);
  if (chance(0.15)) headers.push(['traceparent', `00-${hex(32)}-${hex(16)}-01`]);
  if (chance(0.5))
    headers.push(['Accept-Encoding', pick(['gzip', 'gzip, deflate', 'gzip, deflate, br', 'br, gzip'])]);
  return headers;
}

// ---------------------------------------------------------------------------------------------------
// Tokens and cookies

const JWT_KEY = 'wafgen-benign-corpus-hs256-key';
function jwt(claims = {}, alg = pick(['RS256', 'RS256', 'ES256', 'HS256', 'PS256'])) {
  const iat = unix();
  const who = person();
  const header = {
    alg,
    typ: 'JWT',
    ...(alg === 'HS256' ? {} : { kid: pick([hex(16), `${alnum(8)}-${alnum(4)}`, 'k1', '2025-05-rotation']) }),
  };
  const payload = {
    iss: pick([
      'https://login.example.com/',
      'https://auth.example.com',
      'https://sso.acme.example/realms/staff',
      'https://id.example.net/oauth2/default',
      'https://accounts.example.org',
    ]),
    sub: pick([uuid(), `auth0|${hex(24)}`, String(int(100000, 9999999)), `user:${who.user}`]),
    aud: pick(['https://api.example.com', 'api://default', 'account', ['web', 'api'], 'mobile-app']),
    iat,
    exp: iat + pick([300, 900, 3600, 86400]),
    ...(chance(0.6)
      ? {
          scope: some(
            [
              'openid',
              'profile',
              'email',
              'offline_access',
              'read:orders',
              'write:orders',
              'admin:users',
              'reports.read',
            ],
            1,
            4,
          ).join(' '),
        }
      : {}),
    ...(chance(0.4) ? { email: who.email, name: who.name } : {}),
    ...(chance(0.2) ? { roles: some(['viewer', 'editor', 'admin', 'billing', 'support'], 1, 2) } : {}),
    ...claims,
  };
  const input = `${b64url(json(header))}.${b64url(json(payload))}`;
  const sig =
    alg === 'HS256'
      ? createHmac('sha256', JWT_KEY).update(input).digest()
      : bytes(alg === 'ES256' ? 64 : 256);
  return `${input}.${b64url(sig)}`;
}
const opaqueToken = () =>
  pick([
    () => alnum(40),
    () => `${lowerAlnum(8)}.${alnum(32)}`,
    () => b64url(bytes(32)),
    () => `at_${alnum(32)}`,
    () => hex(40),
  ])();
const bearer = () => `Bearer ${chance(0.65) ? jwt() : opaqueToken()}`;
const basicAuth = (u, p) => `Basic ${b64(`${u}:${p}`)}`;
const gaCookie = () => `_ga=GA1.1.${int(100000000, 2147483647)}.${unix()}`;
function basicCookie() {
  const parts = [];
  const sess = pick([
    () => `session=${hex(int(16, 40))}`,
    () => `sid=${alnum(32)}`,
    () => `JSESSIONID=${hex(32).toUpperCase()}`,
    () => `PHPSESSID=${lowerAlnum(26)}`,
    () =>
      `connect.sid=s%3A${alnum(32)}.${b64(bytes(32)).replace(/=+$/, '').replace(/\+/g, '%2B').replace(/\//g, '%2F')}`,
    () => `_app_session=${alnum(60)}--${hex(40)}`,
    () => `csrftoken=${alnum(32)}; sessionid=${lowerAlnum(32)}`,
    () => `ASP.NET_SessionId=${lowerAlnum(24)}`,
  ]);
  if (chance(0.8)) parts.push(sess());
  if (chance(0.6)) parts.push(gaCookie());
  if (chance(0.3)) parts.push(`_gid=GA1.2.${int(100000000, 2147483647)}.${unix()}`);
  if (chance(0.3)) parts.push(`theme=${pick(['dark', 'light', 'system'])}`);
  if (chance(0.2)) parts.push(`lang=${pick(LOCALES)}`);
  if (chance(0.25))
    parts.push(
      `consent=${pick(['%7B%22ads%22%3Afalse%2C%22analytics%22%3Atrue%7D', 'all', 'necessary', 'yes'])}`,
    );
  if (parts.length === 0) parts.push(`visitor_id=${uuid()}`);
  return parts.join('; ');
}

// ---------------------------------------------------------------------------------------------------
// JSON REST APIs

const NOTES = [
  'Please leave the parcel with the neighbour at no. 12',
  "Gift wrap please — it's for my mum's 60th 🎉",
  'Call before delivery; the buzzer is broken',
  'Deliver after 5pm if possible',
  'Ring twice. Dog is friendly!',
  'Invoice to accounts@example.com; PO #4471-B',
  'Same as last order, but 2x the size',
  'Rückfragen bitte per E-Mail',
  'Dejar en conserjería, por favor',
  'Merci de ne pas plier',
  '配達前に電話してください',
  'No substitutions, thanks :)',
  'Leave at back door; side gate code is on file',
  '',
];

const DOMAINS = [
  {
    base: ['/api/v1', '/api/v2', '/v1', '/api', '/api/v3', '/rest/v1'],
    resources: {
      products: () => {
        const [name, cat] = pick(PRODUCTS);
        return {
          sku: `${pick(['HX', 'GT', 'AC', 'ZK', 'NW'])}-${int(100, 9999)}`,
          name,
          slug: slug(name),
          category: cat,
          price: { amount: money(3, 900), currency: pick(CURRENCIES) },
          stock: int(0, 500),
          attributes: {
            color: pick(COLORS),
            size: pick(['XS', 'S', 'M', 'L', 'XL', 'one size', '42', '10.5 US']),
          },
          tags: some(['new', 'sale', 'eco', 'bestseller', 'limited', 'bundle'], 0, 3),
          active: chance(0.9),
        };
      },
      orders: () => ({
        customerId: `cus_${alnum(14)}`,
        currency: pick(CURRENCIES),
        items: Array.from({ length: int(1, 5) }, () => ({
          sku: `${pick(['HX', 'GT', 'AC'])}-${int(100, 999)}`,
          qty: int(1, 4),
          unitPrice: money(2, 250),
        })),
        shippingAddress: address(),
        note: pick(NOTES),
        coupon: chance(0.3) ? pick(['SPRING25', 'WELCOME10', 'FREESHIP', 'VIP-2025', 'BLACKFRIDAY']) : null,
        giftMessage: chance(0.2)
          ? pick([
              'Happy birthday!! <3',
              'Congrats on the new job & the new flat',
              'For you — "the best dad"',
              'Feliz cumpleaños 🎂',
            ])
          : undefined,
      }),
      customers: () => {
        const p = person();
        return {
          firstName: p.first,
          lastName: p.last,
          email: p.email,
          phone: `+${int(1, 98)} ${digits(3)} ${digits(3)} ${digits(4)}`,
          address: address(),
          marketingOptIn: chance(0.4),
          locale: pick(LOCALES),
        };
      },
      carts: () => ({
        items: [
          {
            productId: int(1000, 99999),
            quantity: int(1, 3),
            options: { engraving: pick(['', 'J & M 2025', 'Love, Grandma', 'Nº 7']) },
          },
        ],
      }),
      invoices: () => ({
        customer: `cus_${alnum(14)}`,
        dueDate: day(),
        lines: [
          {
            description: pick([
              'Consulting — June',
              'Annual plan (Team)',
              'Setup fee',
              'Extra seats x5',
              'Support hours: 12.5h',
            ]),
            amount: money(20, 9000),
          },
        ],
        memo: pick(['Thanks for your business!', 'Net 30', 'PO 2025-118; attn. Finance', '']),
      }),
      refunds: () => ({
        paymentId: `pay_${alnum(20)}`,
        amount: money(1, 300),
        reason: pick(['requested_by_customer', 'duplicate', 'damaged_item', 'wrong size']),
        comment: pick([
          'Item arrived broken; photos attached',
          'Ordered twice by mistake',
          'Customer said the "large" runs small',
        ]),
      }),
      coupons: () => ({
        code: pick(['SUMMER', 'WINTER', 'VIP', 'STAFF', 'REFER']) + int(10, 99),
        percentOff: int(5, 50),
        maxRedemptions: int(10, 1000),
        expiresAt: iso(),
      }),
    },
    filters: () => [
      ['status', pick(['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'])],
      ['created_after', day()],
      ['sort', pick(['-created_at', 'price', 'name', '-updated_at', 'total:desc'])],
      ['currency', pick(CURRENCIES)],
      ['category', pick(['garden', 'kitchen', 'books', 'outdoor'])],
      ['min_price', int(0, 50)],
      ['max_price', int(60, 500)],
      ['in_stock', 'true'],
      ['q', pick(PRODUCTS)[0]],
    ],
    actions: [
      'cancel',
      'refund',
      'fulfil',
      'capture',
      'send',
      'archive',
      'duplicate',
      'restore',
      'mark-paid',
    ],
  },
  {
    base: ['/api/v1', '/v2', '/api/2.0', '/api/internal'],
    resources: {
      projects: () => ({
        name: pick([
          'Website redesign',
          'Q3 launch',
          'Data migration',
          'Mobile v5',
          'Onboarding revamp',
          'SOC 2 audit',
          'Projet Lumière',
          'Proyecto Norte',
        ]),
        description: sentenceWords(5, 14),
        visibility: pick(['private', 'internal', 'public']),
        owner: person().email,
        startDate: day(),
        labels: some(TAGS, 0, 4),
      }),
      tasks: () => ({
        title: pick([
          'Fix login redirect loop',
          'Update pricing page copy',
          'Write migration for orders table',
          'Review PR #482',
          'Select vendor for union payroll',
          'Drop support for IE11',
          'Prepare exec summary',
          'Sleep-mode bug on tablets',
          "Add O'Brien to the team",
          'Translate FAQ into Spanish',
        ]),
        description: sentenceWords(6, 20),
        assignee: person().user,
        priority: pick(['low', 'medium', 'high', 'urgent']),
        due: day(),
        checklist: [
          { text: 'design', done: chance(0.5) },
          { text: 'implement', done: false },
          { text: 'QA', done: false },
        ],
        estimate: pick([1, 2, 3, 5, 8, 13]),
      }),
      teams: () => ({
        name: pick([
          'Platform',
          'Growth',
          'Support Tier 2',
          'Design Systems',
          'Data & Analytics',
          'R&D',
          'Sales EMEA',
        ]),
        members: Array.from({ length: int(2, 5) }, () => person().email),
        slackChannel: `#${pick(['team-platform', 'growth-squad', 'support-t2', 'ds-guild'])}`,
      }),
      invitations: () => ({
        email: person().email,
        role: pick(['member', 'admin', 'viewer', 'billing']),
        message: pick([
          'Welcome aboard!',
          'Join us on the Q3 project',
          "Hi — here's the invite we talked about",
          '',
        ]),
      }),
      workspaces: () => ({
        name: `${pick(COMPANIES)} ${pick(['HQ', 'EU', 'Sandbox', 'Marketing'])}`,
        timezone: pick(TIMEZONES),
        defaultLocale: pick(LOCALES),
        features: { sso: chance(0.5), auditLog: chance(0.5), betaEditor: chance(0.3) },
      }),
      comments: () => ({
        body: pick([
          'LGTM, merging after CI',
          'Can we select a different colour for the union badge?',
          'I think the drop-down should default to "All"',
          'Moved to next sprint; blocked on the API',
          'Thanks @' + person().user + ' — nice catch!',
          'Per our call: exec sign-off needed before Friday',
        ]),
        mentions: [person().user],
      }),
    },
    filters: () => [
      ['assignee', person().user],
      ['status', pick(['open', 'in_progress', 'done', 'blocked'])],
      ['label', pick(TAGS)],
      ['due_before', day()],
      ['sort', pick(['priority', '-updated', 'due', 'created'])],
      ['include', pick(['assignee', 'comments,attachments', 'project'])],
      ['fields', pick(['id,title,status', 'id,name', 'title,due,assignee'])],
      ['archived', 'false'],
    ],
    actions: ['assign', 'close', 'reopen', 'archive', 'transfer', 'duplicate', 'star', 'watch', 'resend'],
  },
  {
    base: ['/v1', '/api/v1', '/open-banking/v3.1/aisp', '/api/banking/v2'],
    resources: {
      accounts: () => ({
        nickname: pick([
          'Everyday',
          'Savings – holiday',
          'Joint account',
          'Business current',
          'Rainy day fund',
        ]),
        currency: pick(CURRENCIES),
        type: pick(['current', 'savings', 'credit']),
      }),
      transfers: () => ({
        fromAccount: `acc_${alnum(12)}`,
        toIban: `${pick(['DE', 'FR', 'GB', 'ES', 'NL'])}${digits(2)}${alnum(4).toUpperCase()}${digits(14)}`,
        amount: { value: String(money(5, 5000)), currency: pick(['EUR', 'GBP']) },
        reference: pick([
          'Rent June',
          'Invoice 2025-0412',
          'Dinner split 🍕',
          "Mum's birthday present",
          'Nebenkosten Q2',
          'Loyer juillet',
        ]),
        scheduledFor: day(),
      }),
      payees: () => {
        const p = person();
        return { name: p.name, iban: `GB${digits(2)}NWBK${digits(14)}`, reference: 'Flat share' };
      },
      budgets: () => ({
        category: pick(['groceries', 'eating out', 'transport', 'kids', 'utilities']),
        monthlyLimit: money(50, 1200),
        alertAt: pick([0.5, 0.8, 0.9]),
      }),
      cards: () => ({
        nickname: pick(['Travel card', 'Online shopping', 'Subscriptions']),
        spendingLimit: { daily: int(100, 2000) },
        frozen: chance(0.2),
        allowedMerchantCategories: some(['5411', '5812', '4111', '5732', '5942'], 1, 3),
      }),
    },
    filters: () => [
      ['fromBookingDateTime', isoSec()],
      ['toBookingDateTime', isoSec()],
      ['status', pick(['booked', 'pending'])],
      ['limit', pick([20, 50, 100])],
      ['cursor', b64url(bytes(12))],
      ['category', pick(['groceries', 'travel', 'bills'])],
    ],
    actions: ['freeze', 'unfreeze', 'confirm', 'approve', 'retry', 'cancel'],
  },
  {
    base: ['/api/v1', '/fhir/R4', '/api/scheduling/v2'],
    resources: {
      appointments: () => ({
        patientId: `pat-${int(10000, 99999)}`,
        providerId: `prov-${int(100, 999)}`,
        start: isoSec(),
        durationMinutes: pick([15, 20, 30, 45, 60]),
        reason: pick([
          'Annual check-up',
          'Follow-up: blood results',
          'Sleep study consultation',
          'Knee pain after running',
          'Vaccination (flu)',
          'Physio – session 3 of 6',
        ]),
        channel: pick(['in-person', 'video', 'phone']),
        notes: pick([
          'Patient prefers afternoon slots',
          'Needs interpreter (Portuguese)',
          'Wheelchair access',
          '',
        ]),
      }),
      providers: () => ({
        name: `Dr. ${person().name}`,
        specialty: pick(['Cardiology', 'Dermatology', 'General Practice', 'Paediatrics', 'Orthopaedics']),
        languages: some(['en', 'es', 'fr', 'de', 'hi', 'ar', 'zh'], 1, 3),
      }),
      availability: () => ({
        providerId: `prov-${int(100, 999)}`,
        slots: Array.from({ length: int(2, 5) }, () => ({ start: isoSec(), end: isoSec() })),
      }),
      reminders: () => ({
        appointmentId: uuid(),
        sendVia: pick(['sms', 'email', 'push']),
        template: 'Hi {{first_name}}, reminder: your appointment is on {{date}} at {{time}}.',
      }),
    },
    filters: () => [
      ['date', day()],
      ['providerId', `prov-${int(100, 999)}`],
      ['status', pick(['booked', 'cancelled', 'noshow', 'fulfilled'])],
      ['_count', pick([10, 20, 50])],
      ['specialty', pick(['cardiology', 'dermatology'])],
      ['location', pick(CITIES)[0]],
    ],
    actions: ['cancel', 'reschedule', 'check-in', 'confirm', 'no-show'],
  },
  {
    base: ['/api/v1', '/v1', '/api/logistics/v2'],
    resources: {
      shipments: () => ({
        reference: `SHP-${digits(8)}`,
        carrier: pick(['DHL', 'UPS', 'FedEx', 'Royal Mail', 'La Poste', 'Correos', 'PostNL', 'Yamato']),
        service: pick(['express', 'standard', 'economy', 'next-day']),
        from: address(),
        to: address(),
        parcels: Array.from({ length: int(1, 3) }, () => ({
          weightKg: money(0.1, 30),
          dimensionsCm: [int(10, 80), int(10, 60), int(5, 50)],
        })),
        customsDeclaration: chance(0.3)
          ? { contents: 'gift', value: money(10, 200), hsCode: `${digits(6)}` }
          : undefined,
      }),
      pickups: () => ({
        date: day(),
        window: pick(['09:00-12:00', '13:00-17:00']),
        address: address(),
        instructions: pick(['Loading bay 3', "Ask for O'Sullivan at reception", 'Gate code 4721#', '']),
      }),
      warehouses: () => ({
        code: pick(['LHR1', 'FRA2', 'MAD1', 'NYC3', 'SYD1']),
        name: pick(['London Heathrow DC', 'Frankfurt Nord', 'Madrid Sur']),
        capacity: int(1000, 90000),
      }),
      'tracking-subscriptions': () => ({
        trackingNumber: `1Z${alnum(16).toUpperCase()}`,
        callbackUrl: `https://${host('api')}/hooks/tracking`,
        events: ['in_transit', 'out_for_delivery', 'delivered', 'exception'],
      }),
    },
    filters: () => [
      ['carrier', pick(['dhl', 'ups', 'fedex'])],
      ['status', pick(['label_created', 'in_transit', 'delivered', 'exception'])],
      ['shipped_from', day()],
      ['warehouse', pick(['LHR1', 'FRA2'])],
      ['page[size]', 25],
      ['page[number]', int(1, 9)],
    ],
    actions: ['label', 'void', 'rate', 'dispatch', 'return-label'],
  },
  {
    base: ['/api/v1', '/api/hr/v1', '/v1'],
    resources: {
      employees: () => {
        const p = person();
        return {
          givenName: p.first,
          familyName: p.last,
          workEmail: p.email,
          department: pick(['Engineering', 'Finance', 'People', 'Sales', 'Legal', 'Customer Success']),
          manager: person().user,
          startDate: day(),
          location: pick(CITIES)[0],
          employmentType: pick(['full_time', 'part_time', 'contractor']),
        };
      },
      'leave-requests': () => ({
        type: pick(['annual', 'sick', 'parental', 'unpaid', 'bereavement']),
        from: day(),
        to: day(),
        halfDay: chance(0.2),
        comment: pick([
          'Family wedding in Kraków',
          'Dentist in the morning',
          'Moving house; will be on Slack for emergencies',
          "Kids' school holidays",
          '',
        ]),
      }),
      expenses: () => ({
        merchant: pick([
          'Pret A Manger',
          'Deutsche Bahn',
          'Uber',
          'Hotel Ibis Lyon',
          'Staples',
          "Joe's Diner",
        ]),
        amount: money(3, 800),
        currency: pick(CURRENCIES),
        category: pick(['travel', 'meals', 'office', 'training']),
        description: pick([
          'Client lunch w/ Globex (3 ppl)',
          'Train LDN→MAN for workshop',
          'Conference ticket — KubeCon EU',
          'Monitor for home office',
        ]),
        receiptId: uuid(),
      }),
      'review-cycles': () => ({
        name: `H${int(1, 2)} 2025 performance review`,
        questions: ['What went well?', 'What could be improved?', 'Goals for next half'],
        deadline: day(),
      }),
    },
    filters: () => [
      ['department', pick(['engineering', 'finance', 'sales'])],
      ['status', pick(['pending', 'approved', 'rejected'])],
      ['from', day()],
      ['to', day()],
      ['manager', person().user],
      ['per_page', pick([25, 50, 100])],
    ],
    actions: ['approve', 'reject', 'withdraw', 'submit', 'offboard'],
  },
  {
    base: ['/api/v1', '/v1', '/api/iot/v2'],
    resources: {
      devices: () => ({
        serial: `${alnum(4).toUpperCase()}-${digits(6)}`,
        model: pick(['TH-200 thermostat', 'DoorSense v3', 'AirQ Pro', 'SolarEdge inverter', 'Soil probe S1']),
        firmware: `${int(1, 4)}.${int(0, 20)}.${int(0, 9)}`,
        location: {
          site: pick(['HQ', 'Warehouse 2', 'Store #118']),
          room: pick(['Lobby', 'Server room', 'Kitchen', 'Floor 3 – East']),
        },
        tags: some(['hvac', 'security', 'energy', 'outdoor'], 1, 2),
      }),
      telemetry: () => ({
        deviceId: uuid(),
        readings: Array.from({ length: int(3, 10) }, () => ({
          ts: iso(),
          temperatureC: money(-5, 38),
          humidity: int(20, 90),
          battery: int(5, 100),
        })),
      }),
      'firmware-rollouts': () => ({
        version: `${int(2, 4)}.${int(0, 9)}.${int(0, 9)}`,
        cohort: pick(['canary', '10pct', 'all']),
        notes: 'Fixes sleep/wake drift; improves Wi-Fi reconnect',
      }),
      alerts: () => ({
        rule: pick(['temperature > 30 for 10m', 'battery < 15%', 'door open > 5 minutes']),
        severity: pick(['info', 'warning', 'critical']),
        notify: [person().email],
      }),
    },
    filters: () => [
      ['site', pick(['hq', 'warehouse-2'])],
      ['online', pick(['true', 'false'])],
      ['model', pick(['TH-200', 'AirQ'])],
      ['since', isoSec()],
      ['resolution', pick(['1m', '5m', '1h'])],
      ['metrics', 'temperature,humidity'],
    ],
    actions: ['reboot', 'locate', 'decommission', 'acknowledge', 'mute'],
  },
  {
    base: ['/api/v1', '/api/v2', '/v1'],
    resources: {
      bookings: () => ({
        guest: person(),
        checkIn: day(),
        checkOut: day(),
        rooms: [
          { type: pick(['double', 'twin', 'suite', 'family']), adults: int(1, 3), children: int(0, 2) },
        ],
        specialRequests: pick([
          'Late arrival ~23:00',
          'Cot needed',
          'Quiet room away from the lift, please',
          'Allergic to feathers',
          '',
        ]),
      }),
      flights: () => ({
        origin: pick(['LHR', 'CDG', 'FRA', 'MAD', 'JFK', 'SFO', 'HND', 'DXB', 'SIN', 'GRU']),
        destination: pick(['LIS', 'BCN', 'NRT', 'BOM', 'SYD', 'YUL', 'CPT', 'OSL']),
        departDate: day(),
        passengers: { adults: int(1, 4), children: int(0, 2) },
        cabin: pick(['economy', 'premium_economy', 'business']),
      }),
      travellers: () => {
        const p = person();
        return {
          title: pick(['Ms', 'Mr', 'Mx', 'Dr']),
          firstName: p.first,
          lastName: p.last,
          dateOfBirth: `19${int(50, 99)}-0${int(1, 9)}-1${int(0, 9)}`,
          loyalty: { programme: pick(['Miles&More', 'Avios', 'Flying Blue']), number: digits(9) },
        };
      },
      itineraries: () => ({
        title: pick([
          'Lisbon long weekend',
          'Tokyo + Kyoto 10 days',
          'Offsite in Kraków',
          'Honeymoon — Bali',
        ]),
        segments: int(2, 6),
        shareWith: [person().email],
      }),
    },
    filters: () => [
      ['from', pick(['LHR', 'JFK', 'CDG'])],
      ['to', pick(['LIS', 'NRT', 'BCN'])],
      ['date', day()],
      ['adults', int(1, 4)],
      ['cabin', 'economy'],
      ['currency', pick(CURRENCIES)],
      ['flexible', 'true'],
      ['stops', int(0, 1)],
    ],
    actions: ['cancel', 'confirm', 'check-in', 'add-baggage', 'change-seat'],
  },
  {
    base: ['/api/v1', '/api/lms/v1', '/v1'],
    resources: {
      courses: () => ({
        title: pick([
          'Intro to SQL: SELECT, JOIN and UNION',
          'Creative writing: the screenplay',
          'Calculus I',
          'Machine Learning basics',
          'Histoire de France',
          'Spanish A2',
          'Sleep science 101',
        ]),
        code: `${pick(['CS', 'MA', 'HI', 'BIO'])}${int(100, 499)}`,
        credits: int(1, 6),
        syllabus: sentenceWords(8, 20),
      }),
      enrollments: () => ({
        studentId: `s${digits(7)}`,
        courseId: `c-${int(100, 999)}`,
        term: pick(['2025-spring', '2025-fall']),
        status: 'active',
      }),
      submissions: () => ({
        assignmentId: int(1000, 9999),
        text: pick([
          'See attached essay. Word count: 1,487.',
          'Answers: 1) b; 2) d; 3) "select all that apply" — a and c',
          'Lab report: drop test results in table 2',
        ]),
        attachments: [`${slug(pick(WORDS))}-final.pdf`],
      }),
      grades: () => ({
        studentId: `s${digits(7)}`,
        score: int(40, 100),
        letter: pick(['A', 'A-', 'B+', 'B', 'C']),
        feedback: pick([
          'Great structure; cite sources in APA.',
          'Good effort — review question 4 (joins).',
          'Excellent!',
        ]),
      }),
    },
    filters: () => [
      ['term', pick(['2025-spring', '2025-fall'])],
      ['department', pick(['cs', 'math', 'history'])],
      ['level', pick(['100', '200', '300'])],
      ['instructor', person().user],
      ['sort', 'title'],
    ],
    actions: ['publish', 'unpublish', 'enroll', 'drop', 'grade'],
  },
  {
    base: ['/api/v1', '/api/crm/v3', '/crm/v3/objects', '/v2'],
    resources: {
      contacts: () => {
        const p = person();
        return {
          properties: {
            firstname: p.first,
            lastname: p.last,
            email: p.email,
            company: pick(COMPANIES),
            jobtitle: pick([
              'CTO',
              'Head of Ops',
              'Office manager',
              'VP Sales',
              'Data analyst',
              'Directrice marketing',
            ]),
            lifecyclestage: pick(['lead', 'opportunity', 'customer']),
          },
        };
      },
      deals: () => ({
        properties: {
          dealname: `${pick(COMPANIES)} — ${pick(['renewal', 'expansion', 'new business', 'pilot'])}`,
          amount: String(int(1000, 250000)),
          dealstage: pick(['appointmentscheduled', 'qualifiedtobuy', 'contractsent', 'closedwon']),
          closedate: iso(),
        },
      }),
      activities: () => ({
        type: pick(['call', 'email', 'meeting', 'note']),
        subject: pick([
          'Intro call',
          'Follow-up on pricing',
          'Demo for the exec team',
          'Security questionnaire',
        ]),
        body: pick([
          'They want SSO + audit logs; union rep must sign off too.',
          'Asked about data residency (EU).',
          'Send case study; call back Tuesday.',
        ]),
        dueAt: iso(),
      }),
      pipelines: () => ({
        label: pick(['Enterprise', 'SMB', 'Partners']),
        stages: ['Discovery', 'Demo', 'Proposal', 'Negotiation', 'Closed'],
      }),
    },
    filters: () => [
      ['properties', 'email,firstname,lastname'],
      ['limit', pick([10, 50, 100])],
      ['after', digits(6)],
      ['archived', 'false'],
      ['associations', 'companies'],
      ['owner', person().user],
    ],
    actions: ['merge', 'associate', 'convert', 'archive'],
  },
  {
    base: ['/api/v1', '/api', '/api/v4'],
    resources: {
      channels: () => ({
        name: pick([
          'general',
          'random',
          'eng-oncall',
          'design-crit',
          'sales-emea',
          'proj-lumière',
          'watercooler',
        ]),
        topic: pick([
          'Deploys at 14:00 UTC',
          'Pics of pets only 🐶',
          'Ask anything about the select/union migration',
          '',
        ]),
        private: chance(0.3),
      }),
      messages: () => ({
        channel: `C${alnum(8).toUpperCase()}`,
        text: pick([
          'Standup in 5 :coffee:',
          'Who owns the drop table job? It failed at 03:00',
          "O'Brien's PR is ready for review",
          'Lunch? 🍜',
          'Heads-up: maintenance window tonight 22:00–23:00 CET',
          'alert fatigue is real — can we tune the CPU alert?',
        ]),
        thread_ts: chance(0.3) ? `${unix()}.${digits(6)}` : undefined,
      }),
      reactions: () => ({
        name: pick(['thumbsup', 'tada', 'eyes', 'white_check_mark', 'heart', 'rocket']),
        timestamp: `${unix()}.${digits(6)}`,
      }),
      'user-status': () => ({
        emoji: pick([':palm_tree:', ':face_with_thermometer:', ':calendar:', ':house_with_garden:']),
        text: pick(['On holiday until Monday', 'Out sick', 'In meetings all day', 'Working from home']),
        expiration: unix(),
      }),
    },
    filters: () => [
      ['channel', `C${alnum(8).toUpperCase()}`],
      ['oldest', `${unix()}.000000`],
      ['limit', 200],
      ['inclusive', 'true'],
      ['cursor', b64(`next_ts:${unix()}`)],
    ],
    actions: ['pin', 'unpin', 'archive', 'join', 'leave', 'mark'],
  },
  {
    base: ['/api/v1', '/content/v2', '/api/cms/v1'],
    resources: {
      articles: () => ({
        title: pick([
          "10 tips for a better night's sleep",
          'How we cut our AWS bill by 40%',
          'Union Station: a history',
          'Why we dropped our monorepo (and went back)',
          'Select the right running shoe',
          'Exec summary: Q2 results',
          'Réussir son entretien',
          'Guía de viaje: Oaxaca',
        ]),
        body: sentenceWords(20, 40),
        status: pick(['draft', 'published', 'scheduled']),
        author: person().name,
        tags: some(TAGS, 1, 3),
        seo: {
          metaDescription: sentenceWords(8, 14),
          canonical: `https://${host('web')}/blog/${lowerAlnum(6)}`,
        },
      }),
      media: () => ({
        filename: `${pick(['IMG', 'DSC', 'hero', 'banner'])}_${digits(4)}.${pick(['jpg', 'png', 'webp'])}`,
        alt: pick([
          'Team photo at the offsite',
          'Screenshot of the new dashboard',
          'A cup of coffee on a desk',
          'Mapa de la ruta',
        ]),
        focalPoint: { x: money(0, 1), y: money(0, 1) },
      }),
      tags: () => ({ name: pick(TAGS), color: `#${hex(6)}` }),
      redirects: () => ({
        from: `/${pick(['old-blog', 'promo', 'careers-2023'])}/${lowerAlnum(6)}`,
        to: `/${pick(['blog', 'deals', 'careers'])}/${lowerAlnum(6)}`,
        status: pick([301, 302, 308]),
      }),
    },
    filters: () => [
      ['status', pick(['draft', 'published'])],
      ['tag', pick(TAGS)],
      ['author', person().user],
      ['locale', pick(LOCALES)],
      ['per_page', 12],
      ['orderby', pick(['date', 'title', 'modified'])],
      ['search', pick(WORDS)],
    ],
    actions: ['publish', 'schedule', 'unpublish', 'preview', 'translate'],
  },
];

function restBody(domain, res) {
  return domain.resources[res]();
}

function restOne() {
  const d = pick(DOMAINS);
  const res = pick(Object.keys(d.resources));
  const base = pick(d.base);
  const h = host(pick(['api', 'api', 'app']));
  const id = pick([
    () => String(int(1, 999999)),
    () => uuid(),
    () => `${res.slice(0, 3)}_${alnum(14)}`,
    () => `${lowerAlnum(8)}`,
  ])();
  const fromBrowser = chance(0.35);
  const jsonCt = pick([
    'application/json',
    'application/json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
  ]);
  const headersFor = (contentType) =>
    fromBrowser
      ? browser(h, {
          mode: 'cors',
          contentType,
          accept: 'application/json, text/plain, */*',
          origin: contentType ? `https://${host('app')}` : undefined,
          site: contentType ? 'same-site' : 'same-origin',
          extra: [['Authorization', bearer()], ...(chance(0.3) ? [['X-CSRF-Token', b64(bytes(24))]] : [])],
        })
      : apiClient(h, { contentType, extra: chance(0.2) ? [['Idempotency-Key', uuid()]] : [] });
  const op = weighted([
    [30, 'list'],
    [18, 'get'],
    [20, 'create'],
    [9, 'put'],
    [12, 'patch'],
    [6, 'delete'],
    [5, 'action'],
  ]);
  const path = `${base}/${res}`;
  switch (op) {
    case 'list': {
      const pairs = some(d.filters(), 1, 4);
      if (chance(0.5))
        pairs.push(
          pick([
            ['page', int(1, 40)],
            ['limit', pick([10, 20, 25, 50, 100])],
            ['offset', int(0, 500)],
            ['per_page', pick([20, 50])],
            ['cursor', b64url(bytes(16))],
          ]),
        );
      if (chance(0.2)) pairs.push(['expand[]', pick(['customer', 'items', 'owner'])]);
      add('GET', `${path}?${qs(pairs)}`, headersFor());
      break;
    }
    case 'get': {
      const q = chance(0.4)
        ? `?${qs([
            pick([
              ['include', pick(['items,customer', 'owner', 'comments'])],
              ['fields', 'id,name,updated_at'],
              ['expand', 'latest_version'],
              ['locale', pick(LOCALES)],
            ]),
          ])}`
        : '';
      add(pick(['GET', 'GET', 'GET', 'HEAD']), `${path}/${id}${q}`, headersFor());
      break;
    }
    case 'create': {
      const body = restBody(d, res);
      add('POST', path, headersFor(jsonCt), chance(0.3) ? pretty(body) : json(body));
      break;
    }
    case 'put': {
      const body = { id, ...restBody(d, res), updatedAt: iso(), version: int(1, 40) };
      add('PUT', `${path}/${id}`, headersFor(jsonCt), json(body));
      break;
    }
    case 'patch': {
      const full = restBody(d, res);
      const keys = some(Object.keys(full), 1, 3);
      if (chance(0.3)) {
        const ops = keys.map((k) => ({
          op: pick(['replace', 'replace', 'add']),
          path: `/${k}`,
          value: full[k],
        }));
        if (chance(0.3))
          ops.push({ op: 'remove', path: `/${pick(['tags/0', 'note', 'coupon', 'labels/1'])}` });
        add('PATCH', `${path}/${id}`, headersFor('application/json-patch+json'), json(ops));
      } else {
        const body = Object.fromEntries(keys.map((k) => [k, full[k]]));
        add(
          'PATCH',
          `${path}/${id}`,
          headersFor(chance(0.2) ? 'application/merge-patch+json' : jsonCt),
          json(body),
        );
      }
      break;
    }
    case 'delete': {
      add(
        'DELETE',
        `${path}/${id}${chance(0.2) ? `?${qs({ [pick(['force', 'cascade', 'permanent', 'soft'])]: pick(['true', 'false']) })}` : ''}`,
        headersFor(),
      );
      break;
    }
    default: {
      const action = pick(d.actions);
      const body = chance(0.6)
        ? json(
            pick([
              {
                reason: pick([
                  'customer request',
                  'duplicate',
                  'Out of stock — sorry!',
                  'moved to new vendor',
                ]),
              },
              { notify: chance(0.5) },
              { comment: 'Done via the API; see ticket #' + int(1000, 99999) },
              {},
            ]),
          )
        : undefined;
      add('POST', `${path}/${id}/${action}`, headersFor(body === undefined ? undefined : jsonCt), body);
    }
  }
}

function genRest(n) {
  begin('rest');
  for (let i = 0; i < n - 40; i++) restOne();
  // A few more shapes: JSON:API, HAL/OData, batch endpoints, JSON-RPC, nested sub-resources, bulk ops.
  for (let i = 0; i < 40; i++) {
    const h = host('api');
    const shape = i % 8;
    if (shape === 0) {
      const p = pick(PRODUCTS);
      add(
        'POST',
        `/jsonapi/${pick(['articles', 'products', 'people'])}`,
        apiClient(h, { contentType: 'application/vnd.api+json', accept: 'application/vnd.api+json' }),
        json({
          data: {
            type: pick(['articles', 'products']),
            attributes: { title: p[0], category: p[1], body: sentenceWords(8, 16) },
            relationships: { author: { data: { type: 'people', id: String(int(1, 900)) } } },
          },
        }),
      );
    } else if (shape === 1) {
      add(
        'GET',
        `/odata/${pick(['Customers', 'Orders', 'Products', 'Employees'])}?${qs([
          [
            '$filter',
            pick([
              `Country eq '${pick(CITIES)[1]}' and Revenue gt ${int(1000, 90000)}`,
              `startswith(CompanyName,'${pick(['Alfreds', 'Ana', "O'Reilly"]).replace(/'/g, "''")}')`,
              `OrderDate ge ${day()} and Status ne 'Cancelled'`,
              `contains(Name,'union')`,
            ]),
          ],
          ['$select', pick(['Id,Name,Country', 'OrderId,Total', 'Name,Price'])],
          ['$orderby', pick(['Name asc', 'OrderDate desc'])],
          ['$top', pick([10, 20, 50])],
          ['$count', 'true'],
        ])}`,
        apiClient(h, { accept: 'application/json;odata.metadata=minimal' }),
      );
    } else if (shape === 2) {
      const ops = Array.from({ length: int(2, 6) }, (_, j) => ({
        method: pick(['GET', 'PATCH', 'DELETE']),
        url: `/v1/${pick(['tasks', 'orders', 'users'])}/${int(1, 9999)}`,
        id: String(j + 1),
        ...(chance(0.4) ? { body: { status: pick(['done', 'archived']) } } : {}),
      }));
      add(
        'POST',
        pick(['/v1/batch', '/api/$batch', '/batch']),
        apiClient(h, { contentType: 'application/json' }),
        json({ requests: ops }),
      );
    } else if (shape === 3) {
      const call = pick([
        { method: 'eth_blockNumber', params: [] },
        { method: 'eth_getBalance', params: [`0x${hex(40)}`, 'latest'] },
        { method: 'getUser', params: { id: int(1, 9999) } },
        { method: 'subtract', params: [int(1, 100), int(1, 100)] },
        { method: 'torrent-get', params: { fields: ['id', 'name', 'percentDone'] } },
        {
          method: 'call',
          params: {
            service: 'object',
            method: 'execute_kw',
            args: [
              'prod',
              2,
              '***',
              'res.partner',
              'search_read',
              [[['is_company', '=', true]]],
              { fields: ['name', 'country_id'], limit: 5 },
            ],
          },
        },
      ]);
      add(
        'POST',
        pick(['/rpc', '/jsonrpc', '/api/rpc', '/transmission/rpc']),
        apiClient(h, { contentType: 'application/json', auth: chance(0.5) ? undefined : false }),
        json({ jsonrpc: '2.0', id: int(1, 9999), ...call }),
      );
    } else if (shape === 4) {
      const owner = pick(['users', 'teams', 'projects', 'customers']);
      add(
        'GET',
        `/api/v1/${owner}/${int(1, 9999)}/${pick(['members', 'invoices', 'addresses', 'api-keys', 'audit-events', 'files'])}?${qs({ page: int(1, 5), sort: pick(['-created_at', 'name']) })}`,
        apiClient(h),
      );
    } else if (shape === 5) {
      add(
        'POST',
        `/api/v1/${pick(['contacts', 'products', 'tasks'])}/bulk`,
        apiClient(h, { contentType: 'application/json' }),
        json({
          operation: pick(['update', 'delete', 'tag']),
          ids: Array.from({ length: int(3, 12) }, () => int(1, 99999)),
          ...(chance(0.5) ? { set: { status: pick(['archived', 'active']), tags: some(TAGS, 1, 2) } } : {}),
        }),
      );
    } else if (shape === 6) {
      add(
        'GET',
        `/api/v1/${pick(['me', 'users/me', 'account', 'session'])}${chance(0.4) ? '?include=organizations,permissions' : ''}`,
        browser(host('app'), { mode: 'cors', extra: [['Authorization', bearer()]] }),
      );
    } else {
      add(
        'DELETE',
        `/api/v1/${pick(['carts/current/items', 'favourites', 'notifications', 'uploads'])}/${pick([uuid(), String(int(1, 99999))])}`,
        browser(host('app'), {
          mode: 'cors',
          origin: `https://${host('app')}`,
          extra: [['X-XSRF-TOKEN', b64(bytes(30))]],
        }),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// GraphQL

const GQL_OPS = [
  () => ({
    operationName: 'Viewer',
    query: 'query Viewer {\n  viewer {\n    id\n    login\n    name\n    avatarUrl(size: 64)\n  }\n}',
    variables: {},
  }),
  () => ({
    operationName: 'ProductList',
    query: `query ProductList($first: Int!, $after: String, $filter: ProductFilter) {\n  products(first: $first, after: $after, filter: $filter) {\n    edges { node { id title handle priceRange { minVariantPrice { amount currencyCode } } featuredImage { url altText } } }\n    pageInfo { hasNextPage endCursor }\n  }\n}`,
    variables: {
      first: pick([12, 24, 48]),
      after: chance(0.5) ? b64(`arrayconnection:${int(10, 400)}`) : null,
      filter: {
        category: pick(PRODUCTS)[1],
        available: true,
        ...(chance(0.4) ? { query: pick(PRODUCTS)[0] } : {}),
      },
    },
  }),
  () => ({
    operationName: 'AddToCart',
    query:
      'mutation AddToCart($cartId: ID!, $lines: [CartLineInput!]!) {\n  cartLinesAdd(cartId: $cartId, lines: $lines) {\n    cart { id totalQuantity cost { totalAmount { amount currencyCode } } }\n    userErrors { field message }\n  }\n}',
    variables: {
      cartId: `gid://shop/Cart/${alnum(26)}`,
      lines: [
        {
          merchandiseId: `gid://shop/ProductVariant/${int(1e9, 9e9)}`,
          quantity: int(1, 3),
          attributes: chance(0.3) ? [{ key: 'Engraving', value: pick(['A & B', "Tom's", 'Für Oma']) }] : [],
        },
      ],
    },
  }),
  () => ({
    operationName: 'CreateIssue',
    query:
      'mutation CreateIssue($input: CreateIssueInput!) {\n  createIssue(input: $input) {\n    issue { id number url title }\n  }\n}',
    variables: {
      input: {
        repositoryId: `R_${alnum(16)}`,
        title: pick([
          'Search returns nothing for "union station"',
          'Crash when selecting 0 items',
          'Dark mode: alert banner unreadable',
          'Docs: clarify sleep() timeout units',
          "Typo in O'Brien's profile page",
          'Drop Node 18 from the CI matrix',
        ]),
        body: pick([
          'Steps:\n1. Open /search\n2. Type `union station`\n3. Nothing happens\n\nExpected: results.',
          'Seen on Safari 17.5 / iOS. Screenshot attached.',
          'Repro: `npm test -- --grep select`',
        ]),
        labelIds: [`LA_${alnum(12)}`],
      },
    },
  }),
  () => ({
    operationName: 'UpdateProfile',
    query:
      'mutation UpdateProfile($input: ProfileInput!) {\n  updateProfile(input: $input) {\n    user { id displayName bio location website }\n    errors { path message }\n  }\n}',
    variables: {
      input: {
        displayName: person().name,
        bio: pick([
          'Dad, runner, SQL nerd. Views my own.',
          'Product designer @ Globex ✏️',
          'Je code en TypeScript et en Rust 🦀',
          '「毎日コツコツ」 Tokyo-based dev',
          'Building things; breaking prod (sometimes)',
        ]),
        location: pick(CITIES)[0],
        website: `https://${pick(['example.com', 'blog.example.org', 'example.dev'])}/${lowerAlnum(6)}`,
      },
    },
  }),
  () => ({
    operationName: 'Notifications',
    query:
      'query Notifications($first: Int = 20, $unreadOnly: Boolean) {\n  notifications(first: $first, unreadOnly: $unreadOnly) {\n    nodes { id kind createdAt read actor { name } subject { __typename ... on Issue { title } ... on PullRequest { title state } } }\n  }\n}',
    variables: { first: pick([10, 20, 50]), unreadOnly: chance(0.5) },
  }),
  () => ({
    operationName: 'SearchUsers',
    query:
      'query SearchUsers($q: String!, $limit: Int) {\n  users(search: $q, limit: $limit) { id name email role team { name } }\n}',
    variables: { q: pick(["o'brien", 'García', 'select', 'anna', 'müller', '李', 'union']), limit: 10 },
  }),
  () => ({
    operationName: 'OrderDetails',
    query: `query OrderDetails($id: ID!, $withItems: Boolean!) {\n  order(id: $id) {\n    id number status placedAt\n    total { amount currency }\n    items @include(if: $withItems) { sku name quantity }\n    shipping { carrier trackingNumber eta }\n  }\n}`,
    variables: { id: `gid://shop/Order/${int(1e6, 9e6)}`, withItems: chance(0.7) },
  }),
  () => ({
    operationName: 'AddComment',
    query:
      'mutation AddComment($subjectId: ID!, $body: String!) {\n  addComment(input: { subjectId: $subjectId, body: $body }) {\n    commentEdge { node { id body createdAt } }\n  }\n}',
    variables: {
      subjectId: `I_${alnum(20)}`,
      body: pick([
        '+1, same on 3.2.0',
        "Looks like it's the `SELECT ... UNION ALL` branch in `report.sql`",
        'Fixed in #' + int(100, 9999) + '. Closing.',
        'Can you share the stack trace? `java.lang.IllegalStateException` alone is not enough',
        'Merci ! 🙏',
      ]),
    },
  }),
  () => ({
    operationName: 'DeleteDraft',
    query: 'mutation DeleteDraft($id: ID!) { deleteDraft(id: $id) { deletedId } }',
    variables: { id: uuid() },
  }),
  () => ({
    operationName: 'Dashboard',
    query:
      'query Dashboard($range: DateRange!, $tz: String) {\n  stats(range: $range, timezone: $tz) {\n    revenue { date value }\n    orders { date value }\n    topProducts(limit: 5) { name units }\n  }\n}',
    variables: { range: { from: day(), to: day() }, tz: pick(TIMEZONES) },
  }),
  () => ({
    operationName: 'PostsByTag',
    query:
      'fragment PostCard on Post {\n  id\n  title\n  excerpt\n  author { name avatar }\n  publishedAt\n}\n\nquery PostsByTag($tag: String!, $page: Int) {\n  posts(where: { tag: $tag }, page: $page) { ...PostCard }\n}',
    variables: { tag: pick(TAGS), page: int(1, 6) },
  }),
  () => ({
    operationName: 'IssueCreate',
    query:
      'mutation IssueCreate($input: IssueCreateInput!) {\n  issueCreate(input: $input) { success issue { id identifier url } }\n}',
    variables: {
      input: {
        teamId: uuid(),
        title: pick([
          'Onboarding email uses {{first_name}} literally',
          'Drop shadow clipped in Safari',
          'Script timeout on large CSV import',
          'Exec dashboard: wrong totals for EU',
        ]),
        description:
          '## Context\nReported by support (ticket #' + int(1000, 9999) + ').\n\n## Expected\nIt works.',
        priority: int(0, 4),
      },
    },
  }),
  () => ({
    operationName: 'NerdGraphQuery',
    query:
      'query($accountId: Int!, $nrql: Nrql!) {\n  actor { account(id: $accountId) { nrql(query: $nrql) { results } } }\n}',
    variables: {
      accountId: int(100000, 9999999),
      nrql: pick([
        `SELECT count(*) FROM Transaction WHERE appName = '${pick(SERVICES)}' SINCE 1 hour ago FACET name`,
        `SELECT percentile(duration, 95) FROM Transaction SINCE 1 day ago TIMESERIES`,
        `SELECT uniqueCount(session) FROM PageView WHERE countryCode = 'DE' SINCE this week`,
      ]),
    },
  }),
  () => ({
    query: `query {\n  repository(owner: "${pick(REPOS)[0]}", name: "${pick(REPOS)[1]}") {\n    pullRequests(states: OPEN, first: 20, orderBy: {field: UPDATED_AT, direction: DESC}) {\n      nodes { number title author { login } reviewDecision }\n    }\n  }\n}`,
  }),
  () => ({
    operationName: 'SetPreferences',
    query: 'mutation SetPreferences($prefs: JSON!) { setPreferences(prefs: $prefs) { ok } }',
    variables: {
      prefs: {
        theme: pick(['dark', 'light']),
        density: pick(['compact', 'comfortable']),
        locale: pick(LOCALES),
        shortcuts: { search: '/', newItem: 'c' },
        emailDigest: pick(['daily', 'weekly', 'never']),
      },
    },
  }),
  () => ({
    operationName: 'Checkout',
    query:
      'mutation Checkout($input: CheckoutInput!) { checkoutComplete(input: $input) { order { id } errors { code message } } }',
    variables: {
      input: {
        email: person().email,
        shippingAddress: address(),
        billingSameAsShipping: true,
        paymentToken: `tok_${alnum(24)}`,
        note: pick(NOTES),
      },
    },
  }),
  () => ({
    operationName: 'HasuraOrders',
    query:
      'query HasuraOrders($since: timestamptz!) {\n  orders(where: {created_at: {_gte: $since}, status: {_in: ["paid", "shipped"]}}, order_by: {created_at: desc}, limit: 50) {\n    id total status customer { name email }\n  }\n}',
    variables: { since: iso() },
  }),
];

function gqlEndpoint() {
  return pick([
    ['/graphql', host('api')],
    ['/graphql', host('app')],
    ['/api/graphql', host('app')],
    ['/v1/graphql', host('api')],
    [
      `/api/${pick(['2024-07', '2024-10', '2025-01', '2025-04'])}/graphql.json`,
      pick(['shop.example.com', 'store.example.de', 'tienda.example.es']),
    ],
    ['/graphql/v2', host('api')],
    ['/query', host('api')],
  ]);
}

function genGraphql(n) {
  begin('graphql');
  for (let i = 0; i < n; i++) {
    const [path, h] = gqlEndpoint();
    const op = pick(GQL_OPS)();
    const extra = [];
    if (chance(0.4))
      extra.push(
        ['apollographql-client-name', pick(['web', 'ios', 'android', 'admin-console'])],
        ['apollographql-client-version', `${int(1, 9)}.${int(0, 40)}.${int(0, 9)}`],
      );
    if (path.includes('graphql.json')) extra.push(['X-Shopify-Storefront-Access-Token', hex(32)]);
    if (path === '/v1/graphql' && chance(0.6))
      extra.push(['x-hasura-role', pick(['user', 'editor', 'manager'])]);
    const fromBrowser = chance(0.55);
    const kind = weighted([
      [55, 'post'],
      [15, 'persisted-get'],
      [8, 'apq-post'],
      [8, 'get'],
      [6, 'batch'],
      [4, 'relay'],
      [4, 'graphql-body'],
    ]);
    const headers = (contentType) =>
      fromBrowser
        ? browser(h, {
            mode: 'cors',
            contentType,
            origin: contentType ? `https://${h}` : undefined,
            accept: pick(['application/json', 'application/graphql-response+json, application/json', '*/*']),
            extra: [...(chance(0.6) ? [['Authorization', bearer()]] : []), ...extra],
          })
        : apiClient(h, { contentType, extra });
    if (kind === 'post') {
      add(
        'POST',
        path,
        headers(pick(['application/json', 'application/json', 'application/json; charset=utf-8'])),
        json(op),
      );
    } else if (kind === 'persisted-get' || kind === 'get') {
      const hash = sha256hex(op.query);
      const pairs = [['operationName', op.operationName ?? 'Query']];
      if (op.variables) pairs.push(['variables', json(op.variables)]);
      if (kind === 'get') pairs.unshift(['query', op.query.replace(/\s+/g, ' ')]);
      else pairs.push(['extensions', json({ persistedQuery: { version: 1, sha256Hash: hash } })]);
      add('GET', `${path}?${qs(pairs)}`, headers());
    } else if (kind === 'apq-post') {
      add(
        'POST',
        path,
        headers('application/json'),
        json({
          operationName: op.operationName,
          variables: op.variables ?? {},
          extensions: { persistedQuery: { version: 1, sha256Hash: sha256hex(op.query) } },
        }),
      );
    } else if (kind === 'batch') {
      add(
        'POST',
        path,
        headers('application/json'),
        json([op, pick(GQL_OPS)(), ...(chance(0.4) ? [pick(GQL_OPS)()] : [])]),
      );
    } else if (kind === 'relay') {
      add(
        'POST',
        path,
        headers('application/json'),
        json({ doc_id: digits(16), id: hex(32), variables: op.variables ?? {} }),
      );
    } else {
      add('POST', path, headers('application/graphql'), op.query);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// HTML forms

const PASSWORDS = [
  'correct horse battery staple',
  'Tr0ub4dor&3',
  'P@ssw0rd!2025',
  'hunter2-but-longer',
  'MyDog$Name1sRex',
  'ilovemymum<3',
  "it's-a-secret;ok",
  'Sommer2025!',
  'contraseña-segura-77',
  'mot de passe très long',
  '"quoted" pass',
  'x7#Kq!9z@Lm2',
  'Zaq1@wsx',
  'BlueSky--2024',
  'tea&biscuits4ever',
  '日本語のパスワード',
  'select-your-own',
  'drop_it_like_its_hot',
  'OrOneMoreTime1',
  'semi;colon;pass',
  '100%sure',
  '(parens)&[brackets]',
];
const CSRF_FIELD = [
  ['csrfmiddlewaretoken', () => alnum(64)],
  ['authenticity_token', () => b64(bytes(48))],
  ['_token', () => alnum(40)],
  ['_csrf', () => uuid()],
  ['__RequestVerificationToken', () => b64url(bytes(80))],
  ['csrf_token', () => hex(40)],
  ['form_key', () => alnum(16)],
];
const csrf = () => {
  const [k, v] = pick(CSRF_FIELD);
  return [k, v()];
};
const COMMENTS = [
  'Great article! I tried the select-then-union approach and it halved our query time.',
  'Thanks for this. One question: does "drop table" in step 4 delete the backups too?',
  "I'm not sure I agree — the script tag advice is outdated since ES modules.",
  'Lovely recipe; I used 1 or 2 tbsp less sugar and it was perfect.',
  'My 3yo loves this book <3 We read it every night before sleep.',
  'Is there an alert option for when the price drops below £50?',
  "O'Brien here again — same issue as last week; any update?",
  'Typo in paragraph 2: "their" → "there".',
  'Worked for me on Ubuntu 24.04; had to run `sudo systemctl restart nginx` afterwards.',
  'The exec summary at the top is really useful. More of these please!',
  "Can't wait for part 2 :) — especially the bit about the union of the two datasets.",
  'Hmm, 1 = 1 is always true, so your WHERE clause was a no-op? 😅',
  "We went with option A; B needed admin rights we don't have.",
  'Bookmarking this. The section on <details> and <summary> was new to me.',
  'Just a note: the link to the PDF (page 3) is broken.',
  '¡Muy útil! Gracias por compartir.',
  'Super Artikel, danke! Funktioniert auch mit Version 5.',
];

function genForm(n) {
  begin('form');
  const kinds = [
    'login',
    'signup',
    'checkout',
    'address',
    'comment',
    'contact',
    'reset',
    'profile',
    'newsletter',
    'booking',
    'job',
    'survey',
    'aspnet',
    'search-post',
    'multipart',
    'settings',
  ];
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length];
    const h = host(pick(['web', 'app']));
    const p = person();
    const a = address();
    let path;
    let pairs;
    let method = 'POST';
    switch (kind) {
      case 'login':
        path = pick([
          '/login',
          '/signin',
          '/users/sign_in',
          '/account/login',
          '/auth/login',
          '/session',
          '/Account/Login',
          '/customer/account/loginPost/',
          '/index.php?route=account/login',
        ]);
        pairs = [
          ...(path.includes('users/sign_in')
            ? [
                ['utf8', '✓'],
                ['authenticity_token', b64(bytes(48))],
                ['user[email]', p.email],
                ['user[password]', pick(PASSWORDS)],
                ['user[remember_me]', pick(['0', '1'])],
              ]
            : [
                csrf(),
                [pick(['username', 'email', 'login', 'user']), chance(0.6) ? p.email : p.user],
                [pick(['password', 'pass', 'pwd']), pick(PASSWORDS)],
              ]),
          ...(chance(0.5) ? [['remember', 'on']] : []),
          ...(chance(0.4)
            ? [
                [
                  pick(['next', 'redirect', 'returnUrl', 'return_to']),
                  pick(['/dashboard', '/account/orders?page=2', '/checkout', '/settings/security#2fa']),
                ],
              ]
            : []),
        ];
        break;
      case 'signup':
        path = pick([
          '/signup',
          '/register',
          '/join',
          '/account/create',
          '/users',
          '/registration',
          '/trial/start',
        ]);
        {
          const pw = pick(PASSWORDS);
          pairs = [
            csrf(),
            ['first_name', p.first],
            ['last_name', p.last],
            ['email', p.email],
            ['password', pw],
            ['password_confirmation', pw],
          ];
          if (chance(0.5)) pairs.push(['company', pick(COMPANIES)]);
          if (chance(0.4)) pairs.push(['phone', `+${int(1, 98)} ${digits(3)} ${digits(3)}-${digits(4)}`]);
          if (chance(0.5)) pairs.push(['country', a.country]);
          pairs.push(['terms', 'on']);
          if (chance(0.5)) pairs.push(['newsletter', pick(['0', '1', 'on'])]);
          if (chance(0.3)) pairs.push(['referral_code', alnum(8).toUpperCase()]);
          if (chance(0.3)) pairs.push(['plan', pick(['free', 'pro-monthly', 'team-annual'])]);
        }
        break;
      case 'checkout':
        path = pick([
          '/checkout',
          '/checkout/payment',
          '/cart/checkout',
          '/checkout/onepage/saveOrder',
          '/order/confirm',
          '/?wc-ajax=checkout',
        ]);
        pairs = [
          csrf(),
          ['email', p.email],
          ['billing_first_name', p.first],
          ['billing_last_name', p.last],
          ['billing_address_1', a.line1],
          ['billing_address_2', a.line2],
          ['billing_city', a.city],
          ['billing_postcode', a.zip],
          ['billing_country', a.country],
          [
            'shipping_method',
            pick(['standard', 'express', 'click_and_collect', 'flat_rate:1', 'free_shipping:3']),
          ],
          ['payment_method', pick(['card', 'paypal', 'klarna', 'ideal', 'bank_transfer', 'stripe'])],
          ...(chance(0.5) ? [['payment_token', `tok_${alnum(24)}`]] : []),
          ...(chance(0.4) ? [['coupon_code', pick(['SPRING25', 'WELCOME10', 'FREESHIP'])]] : []),
          ...(chance(0.5) ? [['order_comments', pick(NOTES)]] : []),
          ...(chance(0.3)
            ? [
                [
                  'gift_message',
                  pick([
                    'Happy birthday! Love, J & K',
                    'You\'re the best — "mum" ❤',
                    'Merry Xmas; open on the 25th!',
                  ]),
                ],
              ]
            : []),
          ['terms', 'on'],
        ];
        break;
      case 'address':
        path = pick([
          '/account/addresses',
          '/checkout/address',
          '/my-account/edit-address/shipping/',
          '/profile/address/new',
          '/address/save',
        ]);
        pairs = [
          csrf(),
          ['full_name', p.name],
          ['line1', a.line1],
          ['line2', a.line2],
          ['city', a.city],
          ['region', a.region],
          ['postal_code', a.zip],
          ['country', a.country],
          ['phone', `+${int(1, 98)}${digits(9)}`],
          ['default', pick(['0', '1'])],
          ...(chance(0.3)
            ? [
                [
                  'delivery_instructions',
                  pick([
                    'Leave with concierge',
                    'Door code 1234#',
                    "Blue door next to O'Neill's pub",
                    'Side entrance; ring "Müller"',
                  ]),
                ],
              ]
            : []),
        ];
        break;
      case 'comment':
        if (chance(0.4)) {
          path = '/wp-comments-post.php';
          pairs = [
            ['comment', pick(COMMENTS)],
            ['author', p.name],
            ['email', p.email],
            ['url', chance(0.4) ? `https://${lowerAlnum(6)}.example.org` : ''],
            ['wp-comment-cookies-consent', 'yes'],
            ['submit', 'Post Comment'],
            ['comment_post_ID', String(int(10, 9000))],
            ['comment_parent', pick(['0', '0', String(int(10, 999))])],
          ];
        } else {
          path = pick([
            '/comments',
            `/blog/${slugify(sentenceWords(3, 5))}/comments`,
            `/posts/${int(1, 9999)}/comments`,
            '/forum/reply',
            `/recipes/${int(100, 999)}/reviews`,
          ]);
          pairs = [
            csrf(),
            ['name', p.name],
            ['email', p.email],
            ['body', pick(COMMENTS)],
            ...(chance(0.4) ? [['rating', String(int(1, 5))]] : []),
            ...(chance(0.3) ? [['notify_replies', '1']] : []),
          ];
        }
        break;
      case 'contact':
        path = pick([
          '/contact',
          '/contact-us',
          '/support/contact',
          '/kontakt',
          '/nous-contacter',
          '/contacto',
        ]);
        pairs = [
          ['name', p.name],
          ['email', p.email],
          [
            'subject',
            pick([
              'Order question',
              'Partnership',
              'Press enquiry',
              'Wholesale pricing',
              'Accessibility feedback',
            ]),
          ],
          ['message', pick(COMMENTS)],
          ...(chance(0.5) ? [['g-recaptcha-response', b64url(bytes(int(300, 500)))]] : []),
          ...(chance(0.3) ? [['cf-turnstile-response', `0.${b64url(bytes(200))}`]] : []),
        ];
        break;
      case 'reset':
        path = pick([
          '/password/reset',
          '/forgot-password',
          '/account/recover',
          '/users/password',
          '/password/email',
        ]);
        pairs = chance(0.5)
          ? [csrf(), ['email', p.email]]
          : [
              csrf(),
              ['token', b64url(bytes(32))],
              ['password', 'N3w-' + pick(PASSWORDS)],
              ['password_confirmation', 'N3w-' + pick(PASSWORDS)],
            ];
        break;
      case 'profile':
        path = pick(['/settings/profile', '/account/edit', '/me/profile', '/user/edit']);
        pairs = [
          csrf(),
          ['display_name', p.name],
          [
            'bio',
            pick([
              'Coffee, code, cycling.',
              'I <3 SQL & bad puns',
              "Co-founder @ O'Reilly-ish bookshop",
              'Ex-teacher; now UX. She/her.',
              'Runner 🏃‍♀️ | Berlin',
            ]),
          ],
          ['website', `https://${lowerAlnum(6)}.example.net`],
          ['timezone', pick(TIMEZONES)],
          ['locale', pick(LOCALES)],
        ];
        break;
      case 'newsletter':
        path = pick(['/newsletter/subscribe', '/subscribe', '/?na=s', '/list/join']);
        pairs = [
          ['email', p.email],
          ...(chance(0.5) ? [['first_name', p.first]] : []),
          ...(chance(0.5)
            ? [
                ['lists[]', pick(['weekly', 'product-updates'])],
                ['lists[]', 'events'],
              ]
            : []),
          ['consent', '1'],
        ];
        break;
      case 'booking':
        path = pick(['/book', '/reservations', '/appointments/new', '/table/reserve']);
        pairs = [
          csrf(),
          ['name', p.name],
          ['email', p.email],
          ['date', day()],
          ['time', pick(['18:30', '19:00', '12:15', '09:45'])],
          ['guests', String(int(1, 8))],
          [
            'notes',
            pick([
              'Window seat please',
              'One vegetarian, one nut allergy',
              "It's our anniversary 🥂",
              'Wheelchair access needed',
              '',
            ]),
          ],
        ];
        break;
      case 'job':
        path = pick(['/careers/apply', `/jobs/${int(100, 999)}/apply`, '/apply']);
        pairs = [
          csrf(),
          ['first_name', p.first],
          ['last_name', p.last],
          ['email', p.email],
          ['linkedin', `https://www.linkedin.example/in/${p.user}`],
          [
            'cover_letter',
            `Dear hiring team,\n\nI'm applying for the ${pick(['Senior Backend Engineer', 'Data Analyst (SQL)', 'Script Supervisor', 'Executive Assistant', 'Union Organiser'])} role. I've spent ${int(2, 15)} years ${pick(['writing SQL and Python', 'running ops for a 200-person team', 'shipping React apps', 'supporting execs'])}.\n\nBest,\n${p.name}`,
          ],
          ['salary_expectation', pick(['€65,000', '$120k', 'negotiable', '£55k–60k'])],
          ['right_to_work', 'yes'],
        ];
        break;
      case 'survey':
        path = pick(['/survey/submit', '/feedback', '/nps', `/s/${alnum(8)}`]);
        pairs = [
          ['q1', String(int(0, 10))],
          ['q2[]', pick(['price', 'quality', 'support'])],
          ['q2[]', pick(['speed', 'design'])],
          [
            'q3',
            pick([
              'Select menus on mobile are tricky',
              'Please add dark mode!',
              'All good; the exec reports are great',
              "Don't change a thing",
              '',
            ]),
          ],
          ['respondent', uuid()],
        ];
        break;
      case 'aspnet':
        path = pick([
          '/Default.aspx',
          '/Account/Login.aspx',
          '/Orders/Edit.aspx?id=' + int(1, 9999),
          '/Search.aspx',
        ]);
        pairs = [
          ['__EVENTTARGET', pick(['', 'ctl00$MainContent$btnSave', 'ctl00$MainContent$gvOrders'])],
          ['__EVENTARGUMENT', pick(['', 'Page$2', 'Sort$OrderDate'])],
          ['__VIEWSTATE', b64(bytes(int(120, 900)))],
          ['__VIEWSTATEGENERATOR', hex(8).toUpperCase()],
          ['__EVENTVALIDATION', b64(bytes(int(60, 300)))],
          ['ctl00$MainContent$txtName', p.name],
          ['ctl00$MainContent$txtEmail', p.email],
          ['ctl00$MainContent$ddlCountry', a.country],
        ];
        break;
      case 'search-post':
        path = pick(['/search', '/catalogsearch/result/', '/find']);
        pairs = [
          [
            'q',
            pick([
              ...PRODUCTS.map((x) => x[0]),
              'select comfort mattress',
              'union made boots',
              "men's o'neill wetsuit",
              'table drop leaf',
              'alert bracelet medical',
            ]),
          ],
          ['sort', pick(['relevance', 'price_asc', 'newest'])],
          ...(chance(0.5) ? [['filters[color]', pick(COLORS)]] : []),
        ];
        if (chance(0.5)) {
          method = 'GET';
          path = `${path}?${form(pairs)}`;
          pairs = undefined;
        }
        break;
      case 'multipart': {
        path = pick(['/profile/avatar', '/support/ticket', '/claims/new', '/returns/request']);
        const boundary = `----WebKitFormBoundary${alnum(16)}`;
        const fields = [
          ['name', p.name],
          ['email', p.email],
          ['description', pick(COMMENTS)],
          ['order_number', `#${int(10000, 99999)}`],
        ];
        let body = fields
          .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
          .join('');
        body += `--${boundary}\r\nContent-Disposition: form-data; name="attachment"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--${boundary}--\r\n`;
        add(
          'POST',
          path,
          browser(h, {
            mode: 'navigate',
            contentType: `multipart/form-data; boundary=${boundary}`,
            origin: `https://${h}`,
            site: 'same-origin',
            referer: `https://${h}${path}`,
          }),
          body,
        );
        continue;
      }
      default:
        path = pick(['/settings/notifications', '/account/preferences', '/settings/privacy']);
        pairs = [
          csrf(),
          ['email_digest', pick(['daily', 'weekly', 'off'])],
          ['sms_alerts', pick(['0', '1'])],
          ['marketing', '0'],
          ['language', pick(LOCALES)],
          ['_method', 'patch'],
        ];
    }
    if (pairs === undefined) {
      add(method, path, browser(h, { mode: 'navigate' }));
      continue;
    }
    const cleaned = pairs.filter(([, v]) => v !== undefined);
    add(
      method,
      path,
      browser(h, {
        mode: 'navigate',
        contentType: 'application/x-www-form-urlencoded',
        origin: `https://${h}`,
        site: 'same-origin',
        referer: `https://${h}${path.split('?')[0]}`,
      }),
      form(cleaned),
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// Prose that uses SQL and JavaScript words the ordinary way

const PROSE_OPENERS = [
  'Hi team,',
  'Hello,',
  'Hi there!',
  'Good morning,',
  'Hey support —',
  'Dear Sir or Madam,',
  'Hi,',
  'Quick question:',
  'Not sure who to ask, so here goes.',
  'Following up on my earlier email;',
  'Hiya,',
  'Urgent-ish:',
  '',
  '',
  '',
];
const PROSE_CORE = [
  () =>
    `when I select "${pick(['All regions', 'Union Square', 'Other', 'Last 30 days', 'EUR'])}" in the drop-down, the page goes blank.`,
  () =>
    `I tried to drop the ${pick(['table', 'chair', 'booking'])} from my order but the button does nothing.`,
  () => `we ordered the drop table (oak, ${int(90, 180)} cm) and one leg arrived cracked.`,
  () => `my daughter's school play script needs ${int(2, 12)} more copies printed by Friday.`,
  () =>
    `the ${pick(['fire', 'smoke', 'CO', 'flood'])} alert keeps going off at ${int(1, 4)}am; is there a way to snooze it?`,
  () => `our exec team wants a one-page summary; can you export the report as PDF or CSV?`,
  () => `the app won't let me sleep-track for more than ${int(6, 12)} hours — bug or feature?`,
  () => `I need ${int(1, 3)} or ${int(4, 6)} extra seats for the union meeting on ${day()}.`,
  () => `can I order 1 or 2 of the ${pick(PRODUCTS)[0].toLowerCase()} instead of the full pack?`,
  () =>
    `the name on my account should be ${pick(["Siobhan O'Brien", "Seán O'Connor", "D'Arcy McAllister", "Ana D'Souza", "Liam O'Neill"])}, not "${pick(['Obrien', 'O Brien', 'OBrien', 'Oconnor'])}".`,
  () => `I got an alert saying "Your session expired; please log in again" five times today.`,
  () =>
    `the javascript on the checkout page seems to hang; Chrome console shows "Uncaught TypeError: Cannot read properties of undefined (reading 'map')".`,
  () => `your FAQ says to "select all, then delete" but there is no select-all checkbox on mobile.`,
  () => `we're merging two teams — is there a way to union their dashboards without copying each widget?`,
  () => `the exec summary template has a typo: "it's" should be "its" in the second paragraph.`,
  () =>
    `I'm a teacher and my students keep asking whether "drop table" is dangerous to type into the quiz — it's just text, right?`,
  () =>
    `our DBA said "never run DELETE without a WHERE", so we use the UI instead; but the UI deletes everything in the view!`,
  () => `is the 'Sleep Well' pillow still on sale? The banner says 20% off; the cart says 10%.`,
  () => `my password has a semicolon and a quote in it (yes, really) and the mobile app rejects it.`,
  () => `could you add a "select none" option to the filters? Selecting 40 boxes one by one is painful.`,
  () =>
    `the union fees line on my payslip (${pick(['£12.40', '€18,00', '$21.75'])}) looks doubled this month.`,
  () => `the webinar "Intro to SQL: SELECT, FROM, WHERE, UNION" link sends me to a 404.`,
  () => `I wrote a small script to export my data each night and it fails with "429 Too Many Requests".`,
  () => `when I paste text with "smart quotes" into the comment box, they turn into â€œ garbage.`,
  () =>
    `the calendar shows ${pick(['Tuesday', 'Mittwoch', 'jeudi', 'domingo'])} twice; probably a timezone thing?`,
  () => `does "or 1 more" in the promo mean buy ${int(2, 4)} get 1 free, or buy ${int(2, 4)} or more?`,
  () => `I was told to exec into the container and check the logs, but I don't have kubectl access.`,
  () => `the "alert()" popup on your old site was annoying; glad the new one uses a toast instead.`,
  () => `I ordered 3 x ${pick(PRODUCTS)[0].toLowerCase()}; 2 arrived. Order #${int(100000, 999999)}.`,
  () => `the script font on the wedding invitations printed as Arial — can you reprint?`,
  () => `please drop me from the mailing list; I've unsubscribed twice already.`,
  () => `we're on the Team plan (${int(5, 50)} seats); how do I select which users get admin?`,
  () =>
    `my sleep score dropped from ${int(70, 90)} to ${int(30, 60)} after the firmware update; anyone else?`,
  () => `the "Select a date" field accepts 31/02 — it should probably reject that.`,
  () => `I manage the union newsletter and want to schedule it for 7:00 AM every Monday; is that possible?`,
];
const PROSE_DETAILS = [
  () =>
    `Browser: ${pick(['Chrome', 'Firefox', 'Safari', 'Edge'])} ${int(100, 138)} on ${pick(['Windows 11', 'macOS 14', 'iOS 18', 'Android 14', 'Ubuntu 24.04'])}.`,
  () => `Order number: #${int(100000, 999999)}.`,
  () => `Account email: ${person().email}.`,
  () =>
    `It started around ${pick(['10:15', '14:30', '09:00', '23:45'])} ${pick(['UTC', 'CET', 'EST', 'IST'])} yesterday.`,
  () => `I've cleared cache and cookies; no change.`,
  () => `Steps: 1) open Settings; 2) select "Billing"; 3) click "Download invoice" -> nothing.`,
  () => `Screenshot attached (IMG_${digits(4)}.PNG).`,
  () => 'It worked fine last week.',
  () => `Error code shown: ${pick(['E_TIMEOUT', 'ERR-504', '0x80070005', 'PAY-1023', 'invalid_grant'])}.`,
  () => `Tried on two devices; same result.`,
  () => `Ticket ref: ${alnum(3).toUpperCase()}-${int(1000, 99999)}.`,
  () => `Happy to jump on a call: ${`+${int(1, 98)} ${digits(3)} ${digits(4)}`}.`,
  () => '',
];
const PROSE_CLOSERS = [
  'Thanks!',
  'Thanks in advance.',
  'Cheers,',
  'Best regards,',
  'Kind regards,',
  'Much appreciated :)',
  'Thank you!!',
  'Ta,',
  '— sent from my iPhone',
  'Regards;',
  'Thx',
  'Many thanks & have a great weekend',
  '',
];
function prose() {
  const who = person();
  const parts = [pick(PROSE_OPENERS), cap(pick(PROSE_CORE)())];
  if (chance(0.6)) parts.push(pick(PROSE_DETAILS)());
  if (chance(0.3)) parts.push(cap(pick(PROSE_CORE)()));
  parts.push(pick(PROSE_CLOSERS));
  if (chance(0.6)) parts.push(who.first);
  return parts
    .filter(Boolean)
    .join(chance(0.5) ? '\n\n' : ' ')
    .trim();
}
const REVIEW_TITLES = [
  'Does what it says',
  'Would not buy again',
  'Great value!!',
  'Not bad, but the script/instructions are confusing',
  'Five stars — best sleep in years',
  'Select a bigger size',
  'Drop-dead gorgeous colour',
  'Meh.',
  'Union-made and built to last',
  "Mum's new favourite",
  'Alert: runs small',
  'Worth every penny; ordered 1 more',
  'Exec-level quality at a fair price',
];

function genProse(n) {
  begin('prose');
  for (let i = 0; i < n; i++) {
    const kind = pick([
      'ticket',
      'ticket',
      'review',
      'comment',
      'chat',
      'forum',
      'search',
      'feedback-form',
      'email-reply',
    ]);
    const who = person();
    if (kind === 'ticket') {
      const h = pick(['support.example.com', 'help.example.io', 'desk.acme.example', host('app')]);
      const body = pick([
        () => ({
          ticket: {
            subject: cap(pick(PROSE_CORE)()).slice(0, 70),
            comment: { body: prose() },
            priority: pick(['low', 'normal', 'high']),
            requester: { name: who.name, email: who.email },
            tags: some(TAGS, 0, 3),
          },
        }),
        () => ({
          subject: pick([
            'Problem with my order',
            'Billing question',
            'Feature request',
            'Bug report',
            'Account access',
            "Can't select delivery slot",
          ]),
          description: prose(),
          email: who.email,
          custom_fields: { order_id: String(int(100000, 999999)), product: pick(PRODUCTS)[0] },
        }),
        () => ({ message: prose(), conversation_id: uuid(), author: { type: 'user', email: who.email } }),
      ])();
      add(
        'POST',
        pick([
          '/api/v2/tickets',
          '/api/v2/tickets.json',
          '/api/tickets',
          '/api/v1/conversations/' + int(1e5, 9e5) + '/reply',
          '/support/api/requests',
        ]),
        browser(h, { mode: 'cors', contentType: 'application/json', origin: `https://${h}` }),
        json(body),
      );
    } else if (kind === 'review') {
      const h = host('web');
      const [product] = pick(PRODUCTS);
      const title = pick(REVIEW_TITLES);
      const text = `${title}${/[.!?]$/.test(title) ? '' : '.'} ${pick(['Bought the', 'Got the', 'My partner gave me the', 'Replaced my old'])} ${product.toLowerCase()} ${pick(['last month', 'for Christmas', 'in the sale', 'after reading the reviews'])}. ${cap(pick(PROSE_CORE)())} ${pick(['Overall 4/5.', 'Would recommend; just select one size up.', 'Returned it.', "Love it — it's my go-to now.", '2 stars; customer service was great though.'])}`;
      if (chance(0.5)) {
        add(
          'POST',
          `/api/products/${int(1000, 99999)}/reviews`,
          browser(h, { mode: 'cors', contentType: 'application/json', origin: `https://${h}` }),
          json({
            rating: int(1, 5),
            title: pick(REVIEW_TITLES),
            body: text,
            recommend: chance(0.7),
            nickname: `${who.first} ${who.last[0]}.`,
            verifiedPurchase: true,
          }),
        );
      } else {
        add(
          'POST',
          `/products/${slug(product)}/reviews`,
          browser(h, {
            mode: 'navigate',
            contentType: 'application/x-www-form-urlencoded',
            origin: `https://${h}`,
          }),
          form([
            csrf(),
            ['review[rating]', String(int(1, 5))],
            ['review[title]', pick(REVIEW_TITLES)],
            ['review[body]', text],
            ['review[author]', who.name],
          ]),
        );
      }
    } else if (kind === 'comment') {
      const h = pick(['blog.example.org', 'news.example.net', 'www.example.com', 'community.example.io']);
      add(
        'POST',
        pick([
          `/api/posts/${int(1, 9999)}/comments`,
          '/wp-json/wp/v2/comments',
          `/api/v1/articles/${slugify(sentenceWords(2, 4))}/comments`,
        ]),
        browser(h, { mode: 'cors', contentType: 'application/json', origin: `https://${h}` }),
        json({
          post: int(1, 9999),
          author_name: who.name,
          author_email: who.email,
          content: `${pick(COMMENTS)} ${chance(0.5) ? cap(pick(PROSE_CORE)()) : ''}`.trim(),
          parent: chance(0.3) ? int(1, 9999) : 0,
        }),
      );
    } else if (kind === 'chat') {
      const h = pick(['chat.example.com', host('app'), 'widget.example.io']);
      add(
        'POST',
        pick([
          '/api/messages',
          `/api/v1/rooms/${alnum(10)}/messages`,
          '/conversations/messages',
          '/widget/api/messages',
        ]),
        browser(h, {
          mode: 'cors',
          contentType: 'application/json',
          origin: `https://${pick(HOSTS.web)}`,
          site: 'cross-site',
        }),
        json({ text: cap(pick(PROSE_CORE)()), clientMessageId: uuid(), sentAt: iso(), attachments: [] }),
      );
    } else if (kind === 'forum') {
      const h = pick(['forum.example.org', 'community.example.com', 'discuss.example.io']);
      add(
        'POST',
        pick(['/posts', '/posts.json', '/api/topics']),
        browser(h, {
          mode: 'cors',
          contentType: 'application/x-www-form-urlencoded; charset=UTF-8',
          origin: `https://${h}`,
          extra: [
            ['X-CSRF-Token', b64(bytes(64))],
            ['X-Requested-With', 'XMLHttpRequest'],
          ],
        }),
        form([
          ['raw', prose()],
          ['title', cap(pick(PROSE_CORE)()).slice(0, 80)],
          ['category', String(int(1, 40))],
          ['archetype', 'regular'],
          ['typing_duration_msecs', String(int(2000, 90000))],
        ]),
      );
    } else if (kind === 'search') {
      const h = host('web');
      const q = pick([
        'select comfort mattress',
        'union jack bunting',
        'drop table folding',
        'sleep apnea pillow',
        'script font generator',
        'alert bracelet',
        'exec chair leather',
        "o'brien's irish pub menu",
        'or 1 more get free',
        'how to select all in excel',
        'union of sets symbol',
        'drop leaf table oak',
        'javascript alert vs confirm',
        'sleep sack 0-6 months',
        'exec assistant jobs remote',
        '"best" coffee; near me',
        'union square restaurants',
        "d'angelo's pizza hours",
        'script supervisor course',
        'select 2 get 1 free',
        'delete account; keep orders',
      ]);
      add(
        'GET',
        `/${pick(['search', 'shop/search', 's', 'catalogsearch/result/', 'results'])}?${qs([[pick(['q', 'query', 'search', 'k', 'term']), q], ...(chance(0.4) ? [['page', int(2, 9)]] : []), ...(chance(0.3) ? [['sort', pick(['relevance', 'newest'])]] : [])], { plus: chance(0.5) })}`,
        browser(h),
      );
    } else if (kind === 'feedback-form') {
      const h = host('web');
      add(
        'POST',
        pick(['/feedback', '/contact', '/support/new']),
        browser(h, { contentType: 'application/x-www-form-urlencoded', origin: `https://${h}` }),
        form([
          ['name', who.name],
          ['email', who.email],
          ['topic', pick(['Order', 'Website', 'Other'])],
          ['message', prose()],
        ]),
      );
    } else {
      const h = pick(['mail.example.com', 'webmail.example.net', host('app')]);
      add(
        'POST',
        pick(['/api/v1/drafts', '/api/mail/send', '/mail/compose/send']),
        browser(h, { mode: 'cors', contentType: 'application/json', origin: `https://${h}` }),
        json({
          to: [person().email],
          cc: chance(0.3) ? [person().email] : [],
          subject: `Re: ${pick(['your order', 'ticket #' + int(1000, 9999), 'Friday', 'the union meeting', 'exec offsite'])}`,
          text: `${prose()}\n\n> On ${day()}, ${person().name} wrote:\n> ${cap(pick(PROSE_CORE)())}`,
          html: false,
        }),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Search boxes with query languages

const JIRA_PROJECTS = ['PLAT', 'WEB', 'MOB', 'DATA', 'OPS', 'SEC', 'PAY', 'HR', 'MKT', 'SUP'];
function jql() {
  const proj = pick(JIRA_PROJECTS);
  const parts = [
    `project = ${proj}`,
    pick([
      `status in ("In Progress", "Code Review")`,
      'status = Open',
      'status != Done',
      'statusCategory = "To Do"',
      'resolution = Unresolved',
    ]),
    pick([
      'assignee = currentUser()',
      'assignee is EMPTY',
      `assignee in (${person().user}, ${person().user})`,
      'reporter = currentUser()',
      '',
    ]),
    pick([
      `labels in (${some(
        TAGS.filter((t) => !t.includes(' ')),
        1,
        2,
      ).join(', ')})`,
      `sprint in openSprints()`,
      `fixVersion = "${int(1, 9)}.${int(0, 20)}"`,
      `component = "${pick(['API', 'Checkout', 'Search', 'Billing'])}"`,
      '',
    ]),
    pick([
      `text ~ "${pick(['select all', 'union', 'drop table', 'timeout', "O'Brien", 'sleep mode', 'exec report', 'null pointer'])}"`,
      `summary ~ "${pick(['login', 'crash', 'slow', 'export'])}*"`,
      `created >= -${int(1, 30)}d`,
      `updated >= startOfWeek()`,
      `priority in (Highest, High)`,
      `"Story Points" > ${int(1, 8)}`,
      `issuetype = Bug`,
      '',
    ]),
  ].filter(Boolean);
  return `${parts.join(' AND ')} ORDER BY ${pick(['priority DESC, updated DESC', 'created DESC', 'rank ASC', 'duedate ASC'])}`;
}
function cql() {
  return (
    [
      pick(['type = page', 'type = blogpost', 'type in (page, blogpost)', 'type = attachment']),
      `space = "${pick(['ENG', 'OPS', 'HR', 'SALES', 'DOCS', '~' + person().user])}"`,
      pick([
        `text ~ "${pick(['release notes', 'on-call runbook', 'union agreement', 'select query examples', 'incident postmortem', 'exec offsite', 'drop table policy'])}"`,
        `title ~ "${pick(['Q3', 'roadmap', 'onboarding', 'RFC'])}"`,
        `label = "${pick(['runbook', 'rfc', 'howto', 'decision'])}"`,
      ]),
      pick([
        `lastmodified > now("-${int(1, 12)}w")`,
        `created >= "${day()}"`,
        `creator = currentUser()`,
        `ancestor = ${int(100000, 9999999)}`,
      ]),
    ].join(' AND ') + (chance(0.5) ? ' order by lastmodified desc' : '')
  );
}
function kql() {
  return pick([
    () => `http.response.status_code >= ${pick([400, 500])} and not url.path : "/healthz"`,
    () => `service.name : "${pick(SERVICES)}" and log.level : (error or warn)`,
    () =>
      `message : "${pick(['timeout', 'connection reset', 'select failed', 'sleep interrupted', 'OutOfMemoryError'])}" and host.name : web-0${int(1, 9)}`,
    () => `user.email : *@example.com and event.action : "login-failed"`,
    () => `kubernetes.namespace : "${pick(ENVS)}" and kubernetes.pod.name : ${pick(SERVICES)}-*`,
    () => `event.dataset : "nginx.access" and source.geo.country_iso_code : (DE or FR or ES)`,
    () => `transaction.duration.us > ${int(100000, 5000000)} and transaction.name : "GET /api/orders"`,
    () => `NOT status:200 AND response_time:>${int(500, 3000)}`,
    () =>
      `level:ERROR AND logger:com.acme.${pick(['billing', 'orders', 'auth'])}* AND NOT message:"health check"`,
    () => `title:(quick OR brown) AND author:"${person().name}" AND date:[2025-01-01 TO 2025-06-30]`,
    () => `tags:${pick(TAGS.filter((t) => !t.includes(' ')))} AND _exists_:trace.id`,
  ])();
}
function promql() {
  const svc = pick(SERVICES);
  return pick([
    () => `sum(rate(http_requests_total{job="${svc}", code=~"5.."}[5m])) by (route)`,
    () =>
      `histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{service="${svc}"}[5m])) by (le))`,
    () => `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[${pick(['1m', '5m'])}])))`,
    () => `container_memory_working_set_bytes{namespace="${pick(ENVS)}", container!=""} / 1024 / 1024`,
    () => `increase(kube_pod_container_status_restarts_total{namespace="${pick(ENVS)}"}[1h]) > 0`,
    () => `sum by (status) (rate(orders_processed_total[15m])) or vector(0)`,
    () => `up{job=~"${svc}|gateway"} == 0`,
    () => `predict_linear(node_filesystem_avail_bytes{mountpoint="/"}[6h], 24 * 3600) < 0`,
    () => `topk(5, sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="${pick(ENVS)}"}[5m])))`,
    () => `rate(pg_stat_database_xact_commit{datname="${pick(['orders', 'app', 'analytics'])}"}[5m])`,
  ])();
}
function logql() {
  const app = pick(SERVICES);
  return pick([
    () => `{app="${app}", env="${pick(ENVS)}"} |= "timeout"`,
    () => `{namespace="${pick(ENVS)}"} | json | level="error" | line_format "{{.ts}} {{.msg}}"`,
    () => `sum by (status) (count_over_time({app="${app}"} | logfmt | status >= 500 [5m]))`,
    () => `{job="nginx"} |~ "GET /api/(orders|carts)" != "healthz"`,
    () => `rate({app="${app}"} |= "select" |= "slow query" [1m])`,
    () =>
      `{container="${app}"} | pattern "<ip> - - <_> \\"<method> <uri> <_>\\" <status> <_>" | status = "404"`,
  ])();
}
function spl() {
  return pick([
    () =>
      `search index=web sourcetype=access_combined status>=500 | stats count by uri_path | sort -count | head 20`,
    () =>
      `search index=app "OutOfMemoryError" host=${pick(SERVICES)}-* earliest=-24h | timechart span=1h count`,
    () => `search index=security action=failure user=* | stats dc(src_ip) as ips by user | where ips > 5`,
    () =>
      `search index=main sourcetype=json service="${pick(SERVICES)}" | spath level | search level=ERROR | table _time msg trace_id`,
    () => `| tstats count where index=web by _time span=5m, host`,
    () =>
      `search index=orders | eval total=price*qty | stats sum(total) as revenue by region | sort -revenue`,
  ])();
}
const SQL_TABLES = [
  'orders',
  'order_items',
  'customers',
  'events',
  'page_views',
  'subscriptions',
  'invoices',
  'products',
  'sessions',
  'signups',
  'tickets',
  'payments',
];
function analyticsSql() {
  const t = pick(SQL_TABLES);
  return pick([
    () =>
      `SELECT date_trunc('${pick(['day', 'week', 'month'])}', created_at) AS period,\n       count(*) AS n,\n       sum(total_amount) AS revenue\nFROM ${t}\nWHERE created_at >= now() - interval '${int(7, 180)} days'\nGROUP BY 1\nORDER BY 1;`,
    () =>
      `SELECT c.country, count(DISTINCT o.customer_id) AS buyers\nFROM orders o\nJOIN customers c ON c.id = o.customer_id\nWHERE o.status = 'paid'\n  AND o.created_at BETWEEN '${day()}' AND '${day()}'\nGROUP BY c.country\nORDER BY buyers DESC\nLIMIT ${pick([10, 20, 50])};`,
    () =>
      `WITH first_orders AS (\n  SELECT customer_id, min(created_at) AS first_at FROM orders GROUP BY customer_id\n)\nSELECT date_trunc('month', first_at) AS cohort, count(*) AS customers\nFROM first_orders\nGROUP BY 1 ORDER BY 1`,
    () =>
      `SELECT 'web' AS channel, count(*) FROM signups WHERE source = 'web'\nUNION ALL\nSELECT 'ios', count(*) FROM signups WHERE source = 'ios'\nUNION ALL\nSELECT 'android', count(*) FROM signups WHERE source = 'android'`,
    () =>
      `SELECT product_id, name, sum(qty) AS units,\n       rank() OVER (ORDER BY sum(qty) DESC) AS rnk\nFROM order_items oi JOIN products p USING (product_id)\nGROUP BY product_id, name\nHAVING sum(qty) > ${int(5, 100)}`,
    () =>
      `-- churn by plan, last quarter\nSELECT plan,\n       count(*) FILTER (WHERE cancelled_at IS NOT NULL) * 1.0 / count(*) AS churn_rate\nFROM subscriptions\nWHERE started_at < date '${day()}'\nGROUP BY plan;`,
    () =>
      `SELECT * FROM ${t} WHERE email ILIKE '%@example.com' AND created_at > '${day()}' ORDER BY created_at DESC LIMIT 100`,
    () =>
      `SELECT CASE WHEN amount < 50 THEN 'small' WHEN amount < 500 THEN 'medium' ELSE 'large' END AS bucket, count(*)\nFROM payments\nWHERE status IN ('succeeded', 'refunded')\nGROUP BY 1`,
    () =>
      `SELECT user_id, count(*) AS sessions, avg(duration_s) AS avg_s\nFROM sessions\nWHERE started_at >= {{start_date}} AND started_at < {{end_date}}\n[[AND country = {{country}}]]\nGROUP BY user_id`,
    () =>
      `DROP TABLE IF EXISTS tmp_weekly_revenue;\nCREATE TEMP TABLE tmp_weekly_revenue AS\nSELECT date_trunc('week', paid_at) wk, sum(amount) rev FROM invoices GROUP BY 1;\nSELECT * FROM tmp_weekly_revenue ORDER BY wk DESC;`,
    () =>
      `SELECT ticket_id, subject FROM tickets WHERE subject LIKE '%O''Brien%' OR requester_name = 'O''Brien'`,
    () =>
      `SELECT event_name, count(*) FROM events WHERE event_date = current_date - 1 AND event_name IN ('signup', 'select_plan', 'checkout_start') GROUP BY 1`,
  ])();
}
function esDsl() {
  return pick([
    () => ({
      query: {
        bool: {
          must: [{ match: { message: pick(['timeout', 'payment failed', 'select', 'union station']) } }],
          filter: [
            { range: { '@timestamp': { gte: 'now-15m', lte: 'now' } } },
            { term: { 'service.name': pick(SERVICES) } },
          ],
        },
      },
      size: pick([20, 100, 500]),
      sort: [{ '@timestamp': 'desc' }],
    }),
    () => ({
      size: 0,
      aggs: {
        by_status: { terms: { field: 'http.response.status_code', size: 10 } },
        over_time: { date_histogram: { field: '@timestamp', fixed_interval: pick(['1m', '5m', '1h']) } },
      },
      query: { range: { '@timestamp': { gte: 'now-1d' } } },
    }),
    () => ({
      query: {
        multi_match: {
          query: pick(PRODUCTS)[0],
          fields: ['title^3', 'description', 'brand'],
          fuzziness: 'AUTO',
        },
      },
      highlight: { fields: { title: {}, description: {} } },
      from: int(0, 100),
      size: 24,
    }),
    () => ({
      query: {
        query_string: {
          query: `(status:500 OR status:503) AND path:"/api/orders" AND NOT user_agent:*bot*`,
          default_field: 'message',
        },
      },
    }),
    () => ({
      query: {
        match_phrase: {
          body: pick(['drop table tennis', 'select committee report', "o'brien family", 'sleep schedule']),
        },
      },
      _source: ['title', 'url', 'published'],
    }),
    () => ({
      suggest: {
        title_suggest: {
          prefix: pick(['gar', 'run', 'esp', 'uni', 'sel']),
          completion: { field: 'suggest', size: 5 },
        },
      },
    }),
  ])();
}

function genQuerylang(n) {
  begin('querylang');
  const kinds = [
    'jql-get',
    'jql-post',
    'jira-ui',
    'cql',
    'kql',
    'lucene-uri',
    'es-dsl',
    'promql',
    'promql-range',
    'grafana-ds',
    'logql',
    'spl',
    'spl-get',
    'metabase',
    'redash',
    'superset',
    'trino',
    'github-search',
    'sentry',
    'odata',
    'gmail',
  ];
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length];
    const ui = (h, opts = {}) => browser(h, { mode: 'cors', ...opts });
    switch (kind) {
      case 'jql-get': {
        const h = pick(['jira.example.com', 'acme.atlassian.example', 'issues.corp.example']);
        add(
          'GET',
          `/rest/api/${pick(['2', '3'])}/search?${qs([
            ['jql', jql()],
            ['startAt', pick([0, 0, 50, 100])],
            ['maxResults', pick([25, 50, 100])],
            ['fields', pick(['summary,status,assignee', 'summary,priority,updated', '*navigable'])],
          ])}`,
          chance(0.5) ? ui(h) : apiClient(h, { auth: basicAuth(person().email, alnum(24)) }),
        );
        break;
      }
      case 'jql-post': {
        const h = pick(['jira.example.com', 'acme.atlassian.example']);
        add(
          'POST',
          pick(['/rest/api/3/search/jql', '/rest/api/2/search']),
          apiClient(h, { contentType: 'application/json', auth: basicAuth(person().email, alnum(24)) }),
          json({
            jql: jql(),
            maxResults: 50,
            fields: ['summary', 'status', 'assignee', 'labels'],
            expand: pick(['names', 'renderedFields', 'changelog']),
          }),
        );
        break;
      }
      case 'jira-ui': {
        const h = 'jira.example.com';
        add('GET', `/issues/?${qs([['jql', jql()]], { plus: true })}`, browser(h));
        break;
      }
      case 'cql': {
        const h = pick(['confluence.example.com', 'wiki.corp.example', 'acme.atlassian.example']);
        const prefix = h.includes('atlassian') ? '/wiki' : '';
        add(
          'GET',
          `${prefix}/rest/api/${pick(['content/search', 'search'])}?${qs([
            ['cql', cql()],
            ['limit', pick([10, 25, 50])],
            ['expand', pick(['space,version', 'content.space', 'body.view'])],
          ])}`,
          ui(h),
        );
        break;
      }
      case 'kql': {
        const h = pick(['kibana.example.com', 'logs.example.net', 'observability.corp.example']);
        add(
          'POST',
          pick(['/api/saved_objects/search', '/internal/search/es', '/api/saved_objects/_find?type=search']),
          ui(h, {
            contentType: 'application/json',
            origin: `https://${h}`,
            extra: [
              ['kbn-xsrf', 'true'],
              ['kbn-version', `8.${int(10, 17)}.${int(0, 3)}`],
            ],
          }),
          json({
            attributes: {
              title: cap(sentenceWords(2, 4)),
              kibanaSavedObjectMeta: {
                searchSourceJSON: json({
                  query: { query: kql(), language: 'kuery' },
                  filter: [],
                  index: uuid(),
                }),
              },
              columns: ['message', 'service.name'],
              sort: [['@timestamp', 'desc']],
            },
          }),
        );
        break;
      }
      case 'lucene-uri': {
        const h = pick(['es.internal.example.net', 'search.example.com:9200', 'opensearch.example.io']);
        add(
          'GET',
          `/${pick(['logs-*', 'filebeat-*', 'products', 'orders-2025.*', 'articles'])}/_search?${qs([
            ['q', kql()],
            ['size', pick([10, 50])],
            ['sort', '@timestamp:desc'],
          ])}`,
          apiClient(h, { auth: basicAuth('elastic', alnum(20)) }),
        );
        break;
      }
      case 'es-dsl': {
        const h = pick(['es.internal.example.net', 'search-prod.example.com', 'opensearch.example.io']);
        add(
          chance(0.15) ? 'GET' : 'POST',
          `/${pick(['logs-*', 'products', 'articles', 'metrics-*'])}/_search${chance(0.3) ? '?track_total_hits=true' : ''}`,
          apiClient(h, {
            contentType: 'application/json',
            auth: chance(0.5)
              ? `ApiKey ${b64(`${alnum(20)}:${alnum(22)}`)}`
              : basicAuth('kibana_system', alnum(20)),
          }),
          json(esDsl()),
        );
        break;
      }
      case 'promql': {
        const h = pick(['prometheus.example.net', 'prom.monitoring.example', 'thanos-query.example.com']);
        add(
          'GET',
          `/api/v1/query?${qs([
            ['query', promql()],
            ['time', String(unix())],
          ])}`,
          chance(0.5)
            ? apiClient(h, { ua: `Grafana/${pick(['10.4.2', '11.1.0', '11.3.0', '12.0.1'])}`, auth: false })
            : ui(h),
        );
        break;
      }
      case 'promql-range': {
        const h = pick(['prometheus.example.net', 'mimir.example.com']);
        const end = unix();
        add(
          chance(0.5) ? 'POST' : 'GET',
          `/api/v1/query_range?${qs([
            ['query', promql()],
            ['start', String(end - 3600 * int(1, 24))],
            ['end', String(end)],
            ['step', pick(['15', '30', '60s', '5m'])],
          ])}`,
          apiClient(h, {
            ua: `Grafana/${pick(['10.4.2', '11.1.0', '11.3.0'])}`,
            auth: false,
            extra: [['X-Scope-OrgID', pick(['tenant-a', 'prod', 'team-platform'])]],
          }),
        );
        break;
      }
      case 'grafana-ds': {
        const h = pick(['grafana.example.com', 'grafana.internal.example.net', 'monitoring.acme.example']);
        const end = unix() * 1000;
        add(
          'POST',
          `/api/ds/query?ds_type=${pick(['prometheus', 'loki', 'postgres', 'elasticsearch'])}&requestId=${pick(['Q', 'SQR'])}${int(100, 999)}`,
          ui(h, {
            contentType: 'application/json',
            origin: `https://${h}`,
            extra: [
              ['x-grafana-org-id', '1'],
              ['x-dashboard-uid', alnum(9)],
              ['x-panel-id', String(int(1, 40))],
              ['x-plugin-id', 'prometheus'],
            ],
          }),
          json({
            queries: [
              {
                refId: 'A',
                datasource: { type: 'prometheus', uid: alnum(9) },
                expr: promql(),
                interval: '',
                intervalMs: 15000,
                maxDataPoints: int(600, 1800),
                legendFormat: '{{route}}',
              },
              ...(chance(0.4)
                ? [
                    {
                      refId: 'B',
                      datasource: { type: 'grafana-postgresql-datasource', uid: alnum(9) },
                      rawSql: analyticsSql().replace(/;$/, ''),
                      format: 'time_series',
                    },
                  ]
                : []),
            ],
            from: String(end - 6 * 3600000),
            to: String(end),
          }),
        );
        break;
      }
      case 'logql': {
        const h = pick(['loki.example.net', 'logs.monitoring.example']);
        const end = BigInt(unix()) * 1000000000n;
        add(
          'GET',
          `/loki/api/v1/query_range?${qs([
            ['query', logql()],
            ['limit', pick([100, 1000, 5000])],
            ['start', String(end - 3600000000000n)],
            ['end', String(end)],
            ['direction', pick(['backward', 'forward'])],
          ])}`,
          apiClient(h, {
            ua: `Grafana/${pick(['11.1.0', '11.3.0'])}`,
            auth: false,
            extra: [['X-Scope-OrgID', pick(['tenant-a', 'fake'])]],
          }),
        );
        break;
      }
      case 'spl': {
        const h = pick(['splunk.example.com:8089', 'splunk-api.corp.example']);
        add(
          'POST',
          '/services/search/jobs',
          apiClient(h, { contentType: 'application/x-www-form-urlencoded', auth: `Splunk ${uuid()}` }),
          form([
            ['search', spl()],
            ['earliest_time', pick(['-24h', '-15m', '-7d@d'])],
            ['latest_time', 'now'],
            ['output_mode', 'json'],
            ['exec_mode', pick(['normal', 'blocking', 'oneshot'])],
          ]),
        );
        break;
      }
      case 'spl-get': {
        const h = pick(['splunk.example.com', 'siem.corp.example']);
        add(
          'GET',
          `/en-US/app/search/search?${qs([
            ['q', spl()],
            ['display.page.search.mode', 'smart'],
            ['dispatch.sample_ratio', '1'],
            ['earliest', '-24h@h'],
            ['latest', 'now'],
          ])}`,
          browser(h),
        );
        break;
      }
      case 'metabase': {
        const h = pick(['metabase.example.com', 'bi.corp.example', 'analytics.example.io']);
        add(
          'POST',
          pick(['/api/dataset', '/api/card']),
          ui(h, {
            contentType: 'application/json',
            origin: `https://${h}`,
            extra: [['X-Metabase-Session', uuid()]],
          }),
          json({
            database: int(1, 8),
            type: 'native',
            native: { query: analyticsSql(), 'template-tags': {} },
            parameters: [],
          }),
        );
        break;
      }
      case 'redash': {
        const h = pick(['redash.example.com', 'queries.corp.example']);
        add(
          'POST',
          pick(['/api/query_results', '/api/queries']),
          ui(h, { contentType: 'application/json;charset=UTF-8', origin: `https://${h}` }),
          json({
            query: analyticsSql(),
            data_source_id: int(1, 12),
            max_age: 0,
            apply_auto_limit: true,
            parameters: {},
          }),
        );
        break;
      }
      case 'superset': {
        const h = pick(['superset.example.com', 'dataviz.example.net']);
        add(
          'POST',
          '/api/v1/sqllab/execute/',
          ui(h, {
            contentType: 'application/json',
            origin: `https://${h}`,
            extra: [['X-CSRFToken', `${b64url(bytes(30))}.${b64url(bytes(20))}`]],
          }),
          json({
            client_id: alnum(10),
            database_id: int(1, 6),
            json: true,
            runAsync: chance(0.5),
            schema: pick(['public', 'analytics', 'mart']),
            sql: analyticsSql(),
            sql_editor_id: String(int(1, 300)),
            tab: `Untitled Query ${int(1, 30)}`,
            tmp_table_name: '',
            select_as_cta: false,
            ctas_method: 'TABLE',
            queryLimit: 1000,
            expand_data: true,
          }),
        );
        break;
      }
      case 'trino': {
        const h = pick(['trino.data.example.net', 'presto.corp.example']);
        add(
          'POST',
          '/v1/statement',
          apiClient(h, {
            contentType: 'text/plain; charset=utf-8',
            ua: pick(['trino-cli', 'trino-python-client/0.328.0', 'Trino JDBC Driver/443']),
            auth: false,
            extra: [
              ['X-Trino-User', person().user],
              ['X-Trino-Catalog', pick(['hive', 'iceberg', 'postgres'])],
              ['X-Trino-Schema', pick(['default', 'analytics'])],
              ['X-Trino-Source', pick(['trino-cli', 'superset', 'dbt'])],
            ],
          }),
          analyticsSql().replace(/;$/, '').split(';').pop().trim() || 'SELECT 1',
        );
        break;
      }
      case 'github-search': {
        const h = pick(['github.example.com', 'git.corp.example']);
        const q = pick([
          `is:pr is:open author:@me`,
          `is:issue is:open label:"bug" label:"help wanted" sort:updated-desc`,
          `repo:${pick(REPOS).join('/')} "select" in:title`,
          `org:acme language:typescript "drop table" path:migrations`,
          `is:pr review-requested:@me -is:draft`,
          `user:${person().user} stars:>10 pushed:>${day()}`,
        ]);
        add(
          'GET',
          `/${pick(['search', 'issues', 'pulls'])}?${qs([['q', q], ...(chance(0.5) ? [['type', pick(['code', 'issues', 'repositories'])]] : [])], { plus: true })}`,
          browser(h),
        );
        break;
      }
      case 'sentry': {
        const h = pick(['sentry.example.com', 'errors.example.io']);
        add(
          'GET',
          `/api/0/organizations/${pick(['acme', 'globex', 'example'])}/issues/?${qs([
            [
              'query',
              pick([
                'is:unresolved level:error',
                `is:unresolved release:${int(1, 9)}.${int(0, 30)}.0 !has:assignee`,
                'error.type:TypeError url:*checkout*',
                'is:unresolved environment:production firstSeen:-24h',
                `message:"java.lang.NullPointerException"`,
              ]),
            ],
            ['statsPeriod', pick(['24h', '14d', '1h'])],
            ['sort', pick(['date', 'freq', 'new'])],
            ['limit', 25],
            ['project', String(int(1, 40))],
          ])}`,
          ui(h),
        );
        break;
      }
      case 'odata': {
        const h = pick(['erp.example.com', 'dynamics.corp.example', 'sharepoint.example.net']);
        add(
          'GET',
          `/${pick(['api/data/v9.2/accounts', 'odata/v4/Orders', "_api/web/lists/getbytitle('Tasks')/items", 'sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder'])}?${qs(
            [
              [
                '$filter',
                pick([
                  `statecode eq 0 and revenue gt ${int(1000, 100000)}`,
                  `Title eq 'Q3 planning' and Status ne 'Completed'`,
                  `substringof('union', Title)`,
                  `CreatedOn ge ${day()}T00:00:00Z`,
                  `SalesOrganization eq '1010' and OverallSDProcessStatus eq 'A'`,
                ]),
              ],
              [
                '$select',
                pick(['name,revenue,accountnumber', 'Title,Status,AssignedTo', 'SalesOrder,SoldToParty']),
              ],
              ['$top', pick([10, 50, 100])],
              ['$orderby', pick(['createdon desc', 'Title', 'SalesOrder desc'])],
            ],
          )}`,
          apiClient(h),
        );
        break;
      }
      default: {
        const h = pick(['mail.example.com', 'webmail.example.net', 'drive.example.com']);
        add(
          'GET',
          `/${pick(['mail/u/0/search', 'search', 'drive/search'])}?${qs([['q', pick([`from:${person().email} has:attachment`, `subject:"exec summary" after:2025/01/01`, 'in:inbox is:unread label:union', `filename:pdf "drop table"`, 'type:spreadsheet owner:me select', "from:o'brien newer_than:7d"])]], { plus: true })}`,
          browser(h),
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Uploads

function boundaryFor(client) {
  switch (client) {
    case 'chrome':
      return `----WebKitFormBoundary${alnum(16)}`;
    case 'firefox':
      return chance(0.5) ? `----geckoformboundary${hex(32)}` : `---------------------------${digits(29)}`;
    case 'curl':
      return `------------------------${hex(16)}`;
    case 'python':
      return hex(32);
    case 'okhttp':
      return uuid();
    default:
      return `----formdata-undici-0${digits(11)}`;
  }
}
function multipart(boundary, parts) {
  let body = '';
  for (const p of parts) {
    body += `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}\r\n`;
    if (p.type) body += `Content-Type: ${p.type}\r\n`;
    if (p.encoding) body += `Content-Transfer-Encoding: ${p.encoding}\r\n`;
    body += `\r\n${p.data}\r\n`;
  }
  return `${body}--${boundary}--\r\n`;
}
const csvCell = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
function csvFile(rows = int(4, 30)) {
  const kind = pick(['contacts', 'transactions', 'inventory', 'grades', 'timesheet', 'leads']);
  const header = {
    contacts: ['first_name', 'last_name', 'email', 'company', 'city', 'notes'],
    transactions: ['date', 'description', 'amount', 'currency', 'category'],
    inventory: ['sku', 'name', 'qty', 'location', 'reorder_point'],
    grades: ['student_id', 'name', 'assignment', 'score', 'comment'],
    timesheet: ['date', 'project', 'hours', 'task', 'billable'],
    leads: ['Name', 'Email', 'Phone', 'Source', 'Owner', 'Status'],
  }[kind];
  const line = () => {
    const p = person();
    switch (kind) {
      case 'contacts':
        return [
          p.first,
          p.last,
          p.email,
          pick(COMPANIES),
          pick(CITIES)[0],
          pick(['', 'VIP', 'Met at "DevConf"; follow up', 'prefers email; no calls', "O'Hare office"]),
        ];
      case 'transactions':
        return [
          day(),
          pick([
            'TESCO STORES 2231',
            'AMZN Mktp DE',
            'UBER *TRIP',
            'Salary ACME CORP',
            'Rent – June',
            'Netflix.com',
            'SQ *UNION COFFEE',
            'DB Vertrieb GmbH',
          ]),
          (chance(0.8) ? '-' : '') + money(1, 900).toFixed(2),
          pick(CURRENCIES),
          pick(['groceries', 'transport', 'income', 'bills', 'eating out']),
        ];
      case 'inventory':
        return [
          `${pick(['HX', 'GT', 'AC'])}-${int(100, 9999)}`,
          pick(PRODUCTS)[0],
          int(0, 900),
          pick(['A-01-03', 'B-12-01', 'Cold store', 'Returns bay']),
          int(5, 50),
        ];
      case 'grades':
        return [
          `s${digits(7)}`,
          p.name,
          pick(['Essay 1', 'Lab 3: drop test', 'Quiz: SELECT & JOIN', 'Final project']),
          int(40, 100),
          pick(['', 'Good work', 'Late; -5', 'See feedback on p.2']),
        ];
      case 'timesheet':
        return [
          day(),
          pick(['Website redesign', 'Client: Globex', 'Internal', 'Union negotiations']),
          (int(1, 16) / 2).toFixed(1),
          pick(['meetings', 'dev', 'review', 'exec prep', 'travel']),
          pick(['yes', 'no']),
        ];
      default:
        return [
          p.name,
          p.email,
          `+${int(1, 98)} ${digits(9)}`,
          pick(['Webinar', 'Referral', 'Trade show', 'Website']),
          person().user,
          pick(['New', 'Contacted', 'Qualified']),
        ];
    }
  };
  const lines = [header.join(','), ...Array.from({ length: rows }, () => line().map(csvCell).join(','))];
  return { text: lines.join(pick(['\r\n', '\n'])) + '\n', name: `${kind}-${day()}.csv` };
}
function svgFile() {
  return pick([
    () =>
      `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24"><path fill="none" stroke="currentColor" stroke-width="2" d="M3 12h18M12 3v18"/></svg>`,
    () =>
      `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${int(100, 400)}" height="${int(40, 120)}" viewBox="0 0 200 60">\n  <title>${pick(COMPANIES).replace(/&/g, '&amp;')} logo</title>\n  <rect x="0" y="0" width="60" height="60" rx="12" fill="#${hex(6)}"/>\n  <text x="72" y="40" font-family="Inter, sans-serif" font-size="28" fill="#${hex(6)}">${pick(['Acme', 'Globex', 'Lumière', 'Nordwind'])}</text>\n</svg>\n`,
    () =>
      `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><circle cx="50" cy="50" r="${int(10, 45)}" fill="#${hex(6)}" opacity="0.8"/><circle cx="50" cy="50" r="${int(5, 9)}" fill="#fff"/></svg>`,
    () => {
      const pts = Array.from({ length: int(6, 14) }, (_, i) => `${i * 20},${int(5, 95)}`).join(' ');
      return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 280 100" role="img" aria-label="Weekly signups">\n  <polyline points="${pts}" fill="none" stroke="#2563eb" stroke-width="2"/>\n  <line x1="0" y1="99" x2="280" y2="99" stroke="#ccc"/>\n</svg>`;
    },
    () =>
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 32 32"><defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="#${hex(6)}"/><stop offset="1" stop-color="#${hex(6)}"/></linearGradient></defs><path d="M16 2 L30 28 H2 Z" fill="url(#g)"/></svg>`,
  ])();
}
function markdownFile() {
  const title = pick([
    'Meeting notes',
    'README',
    'Onboarding checklist',
    'Release notes v' + int(1, 9) + '.' + int(0, 20),
    'Recipe: shakshuka',
    'Trip plan — Lisbon',
    'Postmortem: checkout outage',
  ]);
  return `# ${title}\n\n_Last updated: ${day()} by ${person().name}_\n\n## Summary\n\n${sentenceWords(8, 16)}.\n\n## Action items\n\n- [ ] ${sentenceWords(3, 6)} (@${person().user})\n- [x] ${sentenceWords(3, 6)}\n- [ ] Select a venue for the union meeting\n\n| Item | Owner | Due |\n|------|-------|-----|\n| ${pick(WORDS)} | ${person().first} | ${day()} |\n| ${pick(WORDS)} | ${person().first} | ${day()} |\n\n> "Drop the table of contents; nobody reads it." — ${person().first}\n\n\`\`\`bash\nnpm ci && npm run build\n\`\`\`\n`;
}
function pdfLike() {
  const lines = [
    `Invoice ${int(1000, 99999)}`,
    pick(COMPANIES),
    `Date: ${day()}`,
    `Total: ${money(10, 4000)} ${pick(CURRENCIES)}`,
    'Thank you for your business',
  ];
  const stream = `BT\n/F1 12 Tf\n72 720 Td\n${lines.map((l, i) => `${i ? '0 -18 Td ' : ''}(${l.replace(/[()\\]/g, '')}) Tj`).join('\n')}\nET`;
  return `%PDF-1.${int(4, 7)}\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>\nendobj\n4 0 obj\n<< /Length ${stream.length} >>\nstream\n${stream}\nendstream\nendobj\n5 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\nxref\n0 6\n0000000000 65535 f \ntrailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n${int(300, 900)}\n%%EOF\n`;
}
function jsonFile() {
  return pick([
    () =>
      pretty({
        version: 1,
        exportedAt: iso(),
        items: Array.from({ length: int(2, 8) }, () => ({
          id: uuid(),
          title: sentenceWords(2, 5),
          done: chance(0.5),
        })),
      }),
    () =>
      pretty({
        name: pick(['my-theme', 'dashboard-layout', 'keyboard-shortcuts']),
        settings: {
          fontSize: int(12, 18),
          theme: pick(['dark', 'light']),
          panels: ['orders', 'revenue', 'alerts'],
        },
      }),
    () =>
      json(
        Array.from({ length: int(3, 10) }, () => {
          const p = person();
          return { name: p.name, email: p.email, tags: some(TAGS, 0, 2) };
        }),
      ),
    () =>
      pretty({
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            properties: { name: pick(CITIES)[0] },
            geometry: { type: 'Point', coordinates: [money(-120, 140), money(-40, 60)] },
          },
        ],
      }),
  ])();
}

function genUpload(n) {
  begin('upload');
  for (let i = 0; i < n; i++) {
    const kind = pick([
      'csv',
      'csv',
      'json',
      'image-b64-json',
      'image-multipart-b64',
      'pdf',
      'svg',
      'markdown',
      'text',
      'vcard',
      'ics',
      'presigned-put',
      'tus',
      'raw-put',
      'multi-files',
    ]);
    const client = pick(['chrome', 'chrome', 'firefox', 'curl', 'python', 'okhttp', 'node']);
    const h = host(pick(['app', 'api']));
    const headers = (contentType) =>
      client === 'chrome' || client === 'firefox'
        ? browser(h, {
            mode: 'cors',
            contentType,
            origin: `https://${h}`,
            accept: 'application/json, text/plain, */*',
            profile:
              client === 'firefox'
                ? {
                    ua: `Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0`,
                    firefox: true,
                  }
                : undefined,
            extra: chance(0.5) ? [['X-CSRF-Token', alnum(40)]] : [],
          })
        : apiClient(h, {
            contentType,
            ua: {
              curl: 'curl/8.7.1',
              python: 'python-requests/2.32.3',
              okhttp: 'okhttp/4.12.0',
              node: 'node',
            }[client],
          });
    const path = pick([
      '/api/v1/uploads',
      '/api/files',
      '/upload',
      '/api/v2/attachments',
      '/api/import',
      '/documents/upload',
      `/api/v1/projects/${int(1, 999)}/files`,
      `/tickets/${int(1000, 99999)}/attachments`,
    ]);
    const boundary = boundaryFor(client);
    switch (kind) {
      case 'csv': {
        const f = csvFile();
        add(
          'POST',
          pick(['/api/v1/imports', '/contacts/import', '/api/import/csv', path]),
          headers(`multipart/form-data; boundary=${boundary}`),
          multipart(boundary, [
            {
              name: 'file',
              filename: f.name,
              type: pick(['text/csv', 'application/vnd.ms-excel']),
              data: f.text,
            },
            ...(chance(0.6)
              ? [
                  { name: 'hasHeader', data: 'true' },
                  { name: 'delimiter', data: ',' },
                ]
              : []),
          ]),
        );
        break;
      }
      case 'json':
        add(
          'POST',
          path,
          headers(`multipart/form-data; boundary=${boundary}`),
          multipart(boundary, [
            {
              name: 'file',
              filename: pick([
                'export.json',
                'settings.json',
                'layout.json',
                'cities.geojson',
                'backup-' + day() + '.json',
              ]),
              type: 'application/json',
              data: jsonFile(),
            },
          ]),
        );
        break;
      case 'image-b64-json': {
        const img = pick([
          () => ['image/png', png(int(8, 32), int(8, 32))],
          () => ['image/jpeg', jpegish(int(200, 900))],
          () => ['image/gif', gif()],
        ])();
        const data = b64(img[1]);
        add(
          pick(['POST', 'PUT']),
          pick([
            '/api/v1/me/avatar',
            '/api/profile/photo',
            '/api/v1/products/' + int(100, 9999) + '/images',
            '/api/receipts',
            '/api/v1/scan',
          ]),
          headers('application/json'),
          json(
            pick([
              {
                filename: `${pick(['avatar', 'photo', 'receipt', 'IMG_' + digits(4)])}.${img[0].split('/')[1]}`,
                contentType: img[0],
                data,
              },
              { image: `data:${img[0]};base64,${data}`, crop: { x: 0, y: 0, w: int(8, 32), h: int(8, 32) } },
              {
                attachment: { mime: img[0], base64: data },
                caption: pick(['Front of the box', 'Damage on arrival', 'My new desk setup', '']),
              },
            ]),
          ),
        );
        break;
      }
      case 'image-multipart-b64': {
        const img = png(int(8, 24), int(8, 24));
        add(
          'POST',
          pick(['/api/v1/messages/send', '/v3/mail/send', '/api/email/attachments']),
          headers(`multipart/form-data; boundary=${boundary}`),
          multipart(boundary, [
            { name: 'to', data: person().email },
            {
              name: 'subject',
              data: pick(['Your receipt', 'Photos from Saturday', 'Chart for the exec deck']),
            },
            {
              name: 'attachment',
              filename: `chart-${digits(3)}.png`,
              type: 'image/png',
              encoding: 'base64',
              data: b64(img).replace(/(.{76})/g, '$1\r\n'),
            },
          ]),
        );
        break;
      }
      case 'pdf':
        add(
          'POST',
          path,
          headers(`multipart/form-data; boundary=${boundary}`),
          multipart(boundary, [
            {
              name: 'document',
              filename: `${pick(['invoice', 'contract', 'payslip', 'Rechnung', 'facture'])}-${int(100, 9999)}.pdf`,
              type: 'application/pdf',
              data: pdfLike(),
            },
            { name: 'category', data: pick(['invoices', 'hr', 'legal', 'receipts']) },
          ]),
        );
        break;
      case 'svg':
        add(
          'POST',
          pick(['/api/v1/brand/logo', '/api/icons', '/api/v1/assets', path]),
          headers(`multipart/form-data; boundary=${boundary}`),
          multipart(boundary, [
            {
              name: 'file',
              filename: `${pick(['logo', 'icon-plus', 'badge', 'chart', 'marker'])}.svg`,
              type: 'image/svg+xml',
              data: svgFile(),
            },
          ]),
        );
        break;
      case 'markdown':
        add(
          'POST',
          pick(['/api/v1/notes/import', '/api/docs', path]),
          headers(`multipart/form-data; boundary=${boundary}`),
          multipart(boundary, [
            {
              name: 'file',
              filename: pick(['README.md', 'notes.md', 'CHANGELOG.md', 'meeting-' + day() + '.md']),
              type: pick(['text/markdown', 'application/octet-stream']),
              data: markdownFile(),
            },
            { name: 'folder', data: pick(['/Team', '/Personal/Recipes', '/Engineering/Runbooks']) },
          ]),
        );
        break;
      case 'text':
        add(
          'POST',
          path,
          headers(`multipart/form-data; boundary=${boundary}`),
          multipart(boundary, [
            {
              name: 'file',
              filename: pick(['notes.txt', 'log-excerpt.txt', 'lyrics.txt', 'todo.txt']),
              type: 'text/plain',
              data: `${sentenceWords(6, 12)}.\n${cap(pick(PROSE_CORE)())}\n${sentenceWords(4, 10)}.\n`,
            },
          ]),
        );
        break;
      case 'vcard': {
        const p = person();
        add(
          'POST',
          pick(['/api/contacts/import', '/carddav/import']),
          headers(`multipart/form-data; boundary=${boundary}`),
          multipart(boundary, [
            {
              name: 'file',
              filename: `${p.user}.vcf`,
              type: 'text/vcard',
              data: `BEGIN:VCARD\r\nVERSION:3.0\r\nN:${p.last};${p.first};;;\r\nFN:${p.name}\r\nORG:${pick(COMPANIES)}\r\nEMAIL;TYPE=INTERNET:${p.email}\r\nTEL;TYPE=CELL:+${int(1, 98)}${digits(9)}\r\nEND:VCARD\r\n`,
            },
          ]),
        );
        break;
      }
      case 'ics': {
        const t = unix();
        const stamp = (x) =>
          iso(x)
            .replace(/[-:]/g, '')
            .replace(/\.\d+Z$/, 'Z');
        add(
          'POST',
          pick(['/api/calendar/import', '/calendars/import']),
          headers(`multipart/form-data; boundary=${boundary}`),
          multipart(boundary, [
            {
              name: 'file',
              filename: 'invite.ics',
              type: 'text/calendar',
              data: `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example Corp//Calendar 1.0//EN\r\nBEGIN:VEVENT\r\nUID:${uuid()}@example.com\r\nDTSTAMP:${stamp(t)}\r\nDTSTART:${stamp(t + 86400)}\r\nDTEND:${stamp(t + 90000)}\r\nSUMMARY:${pick(['Quarterly union meeting', 'Exec review', 'Sprint planning', 'Dentist', 'Select committee hearing'])}\r\nLOCATION:${pick(['Room 4.12', 'Zoom', pick(CITIES)[0]])}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`,
            },
          ]),
        );
        break;
      }
      case 'presigned-put': {
        const f = pick([
          csvFile(),
          { text: jsonFile(), name: 'data.json' },
          { text: markdownFile(), name: 'notes.md' },
        ]);
        const date = iso()
          .replace(/[-:]/g, '')
          .replace(/\.\d+Z$/, 'Z');
        add(
          'PUT',
          `/${pick(['uploads', 'incoming', 'user-content'])}/${uuid()}/${encodeURIComponent(f.name)}?${qs([
            ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
            ['X-Amz-Credential', `EXAMPLEKEYID0000/${date.slice(0, 8)}/${pick(REGIONS)}/s3/aws4_request`],
            ['X-Amz-Date', date],
            ['X-Amz-Expires', pick(['300', '900', '3600'])],
            ['X-Amz-SignedHeaders', 'host'],
            ['X-Amz-Signature', hex(64)],
          ])}`,
          [
            [
              'Host',
              `${pick(['uploads-example', 'acme-user-files', 'example-imports'])}.s3.${pick(REGIONS)}.amazonaws.com`,
            ],
            ['User-Agent', browserProfile().ua],
            [
              'Content-Type',
              f.name.endsWith('.csv')
                ? 'text/csv'
                : f.name.endsWith('.json')
                  ? 'application/json'
                  : 'text/markdown',
            ],
            ['Origin', `https://${host('app')}`],
            ['Accept', '*/*'],
          ],
          f.text,
        );
        break;
      }
      case 'tus': {
        const chunk = csvFile(int(10, 40)).text;
        add(
          'PATCH',
          `/files/${hex(32)}`,
          [
            ['Host', h],
            ['User-Agent', browserProfile().ua],
            ['Tus-Resumable', '1.0.0'],
            ['Upload-Offset', String(int(0, 5) * 1048576)],
            ['Content-Type', 'application/offset+octet-stream'],
            ['Origin', `https://${host('app')}`],
          ],
          chunk,
        );
        break;
      }
      case 'raw-put': {
        const f = pick([
          () => ['text/csv', csvFile().text, 'report.csv'],
          () => ['application/json', jsonFile(), 'config.json'],
          () => ['image/svg+xml', svgFile(), 'logo.svg'],
          () => ['text/markdown', markdownFile(), 'README.md'],
        ])();
        add(
          'PUT',
          pick([
            `/api/v1/files/${encodeURIComponent(`shared/${f[2]}`)}`,
            `/remote.php/dav/files/${person().user}/Documents/${f[2]}`,
            `/api/storage/v1/object/${pick(['avatars', 'docs'])}/${uuid()}/${f[2]}`,
          ]),
          apiClient(h, { contentType: f[0] }),
          f[1],
        );
        break;
      }
      default: {
        const f1 = csvFile(int(3, 8));
        add(
          'POST',
          path,
          headers(`multipart/form-data; boundary=${boundary}`),
          multipart(boundary, [
            { name: 'title', data: pick(['Q2 numbers', 'Team photos', 'Docs for onboarding']) },
            { name: 'files[]', filename: f1.name, type: 'text/csv', data: f1.text },
            { name: 'files[]', filename: 'notes.md', type: 'text/markdown', data: markdownFile() },
            { name: 'files[]', filename: 'icon.svg', type: 'image/svg+xml', data: svgFile() },
          ]),
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// OAuth 2.0 / OpenID Connect

const OIDC_PROVIDERS = [
  {
    host: 'login.example.com',
    authorize: '/oauth2/v2.0/authorize',
    token: '/oauth2/v2.0/token',
    prefix: () => `/${uuid()}`,
  },
  { host: 'auth.example.com', authorize: '/authorize', token: '/oauth/token', prefix: () => '' },
  {
    host: 'id.example.net',
    authorize: '/oauth2/default/v1/authorize',
    token: '/oauth2/default/v1/token',
    prefix: () => '',
  },
  {
    host: 'keycloak.corp.example',
    authorize: '/protocol/openid-connect/auth',
    token: '/protocol/openid-connect/token',
    prefix: () => `/realms/${pick(['staff', 'customers', 'master', 'acme'])}`,
  },
  { host: 'accounts.example.org', authorize: '/o/oauth2/v2/auth', token: '/token', prefix: () => '' },
  { host: 'sso.acme.example', authorize: '/oauth/authorize', token: '/oauth/token', prefix: () => '' },
  { host: 'auth.example.io', authorize: '/oidc/auth', token: '/oidc/token', prefix: () => '' },
];
const CLIENT_APPS = [
  ['https://app.example.com/auth/callback', 'web'],
  ['https://dashboard.example.com/oauth2/callback', 'dashboard'],
  ['https://www.example.co.uk/signin-oidc', 'shop'],
  ['http://localhost:3000/api/auth/callback/keycloak', 'dev-local'],
  ['com.acme.app:/oauth2redirect', 'ios'],
  ['https://grafana.example.com/login/generic_oauth', 'grafana'],
  ['https://app.example.com/callback?tenant=eu', 'web-eu'],
  ['https://jenkins.example.com/securityRealm/finishLogin', 'jenkins'],
  ['https://portal.acme.example/_oauth', 'portal'],
  ['https://studio.example.app/', 'spa'],
];
const SCOPES = [
  'openid profile email',
  'openid profile email offline_access',
  'openid',
  'openid email groups',
  'read:orders write:orders',
  'openid profile https://api.example.com/reports.read',
  'user:email read:org',
  'offline_access api',
  'openid profile email phone address',
];

function genOauth(n) {
  begin('oauth');
  const kinds = [
    'authorize',
    'authorize',
    'callback',
    'token-code',
    'token-refresh',
    'client-credentials',
    'userinfo',
    'api-bearer',
    'discovery',
    'introspect',
    'revoke',
    'logout',
    'device',
    'jwt-assertion',
    'par',
    'token-exchange',
    'form-post-callback',
  ];
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length];
    const idp = pick(OIDC_PROVIDERS);
    const prefix = idp.prefix();
    const [redirect, app] = pick(CLIENT_APPS);
    const clientId = pick([
      uuid(),
      `${app}-${lowerAlnum(6)}`,
      alnum(32),
      `${digits(12)}-${lowerAlnum(32)}.apps.example.com`,
    ]);
    const verifier = b64url(bytes(32));
    const state = pick([
      b64url(bytes(24)),
      hex(32),
      b64url(json({ returnTo: pick(['/dashboard', '/orders?tab=open', '/settings']), nonce: hex(8) })),
    ]);
    const code = pick([
      b64url(bytes(32)),
      `${alnum(8)}.${b64url(bytes(24))}`,
      uuid() + '.' + uuid() + '.' + uuid(),
    ]);
    const tokenHeaders = (extra = []) =>
      apiClient(idp.host, {
        contentType: 'application/x-www-form-urlencoded',
        auth: false,
        ua: pick([
          'node',
          'Go-http-client/1.1',
          'python-requests/2.32.3',
          'Java-http-client/21.0.3',
          'okhttp/4.12.0',
          'axios/1.7.2',
        ]),
        extra,
      });
    switch (kind) {
      case 'authorize': {
        const pairs = [
          ['response_type', pick(['code', 'code', 'code id_token'])],
          ['client_id', clientId],
          ['redirect_uri', redirect],
          ['scope', pick(SCOPES)],
          ['state', state],
        ];
        if (chance(0.8))
          pairs.push(
            ['code_challenge', b64url(createHash('sha256').update(verifier).digest())],
            ['code_challenge_method', 'S256'],
          );
        if (chance(0.6)) pairs.push(['nonce', b64url(bytes(16))]);
        if (chance(0.3)) pairs.push(['prompt', pick(['login', 'consent', 'select_account', 'none'])]);
        if (chance(0.3)) pairs.push(['login_hint', person().email]);
        if (chance(0.2)) pairs.push(['ui_locales', pick(['de', 'fr-CA', 'ja', 'es'])]);
        if (chance(0.2)) pairs.push(['response_mode', pick(['query', 'form_post', 'fragment'])]);
        if (chance(0.2)) pairs.push(['audience', 'https://api.example.com']);
        add(
          'GET',
          `${prefix}${idp.authorize}?${qs(pairs, { plus: chance(0.4) })}`,
          browser(idp.host, {
            site: 'cross-site',
            referer: `https://${new URL(redirect.startsWith('http') ? redirect : 'https://app.example.com/').host}/`,
          }),
        );
        break;
      }
      case 'callback': {
        const u = new URL(redirect.startsWith('http') ? redirect : 'https://app.example.com/auth/callback');
        const pairs = [
          ['code', code],
          ['state', state],
        ];
        if (chance(0.3)) pairs.push(['session_state', `${uuid()}`]);
        if (chance(0.3)) pairs.push(['iss', `https://${idp.host}${prefix}`]);
        if (chance(0.2)) pairs.push(['scope', pick(SCOPES)]);
        add(
          'GET',
          `${u.pathname}?${u.search ? u.search.slice(1) + '&' : ''}${qs(pairs)}`,
          browser(u.host, { site: 'cross-site', referer: `https://${idp.host}/` }),
        );
        break;
      }
      case 'token-code': {
        const pairs = [
          ['grant_type', 'authorization_code'],
          ['code', code],
          ['redirect_uri', redirect],
          ['client_id', clientId],
        ];
        if (chance(0.7)) pairs.push(['code_verifier', verifier]);
        else pairs.push(['client_secret', alnum(40)]);
        add('POST', `${prefix}${idp.token}`, tokenHeaders(), form(pairs));
        break;
      }
      case 'token-refresh':
        add(
          'POST',
          `${prefix}${idp.token}`,
          tokenHeaders(chance(0.5) ? [['Authorization', basicAuth(clientId, alnum(40))]] : []),
          form([
            ['grant_type', 'refresh_token'],
            ['refresh_token', pick([b64url(bytes(48)), jwt({ typ: 'Refresh' })])],
            ...(chance(0.5) ? [['client_id', clientId]] : []),
            ...(chance(0.3) ? [['scope', pick(SCOPES)]] : []),
          ]),
        );
        break;
      case 'client-credentials':
        add(
          'POST',
          `${prefix}${idp.token}`,
          tokenHeaders([['Authorization', basicAuth(clientId, alnum(40))]]),
          form([
            ['grant_type', 'client_credentials'],
            [
              'scope',
              pick([
                'orders.read',
                'https://api.example.com/.default',
                'reports:read reports:write',
                'inventory',
              ]),
            ],
            ...(chance(0.3) ? [['audience', 'https://api.example.com']] : []),
          ]),
        );
        break;
      case 'userinfo':
        add(
          'GET',
          `${prefix}${pick(['/userinfo', '/oauth2/v2/userinfo', '/protocol/openid-connect/userinfo', '/oidc/me', '/oauth2/default/v1/userinfo'])}`,
          apiClient(idp.host, { auth: `Bearer ${jwt()}` }),
        );
        break;
      case 'api-bearer': {
        const h = host('api');
        add(
          pick(['GET', 'GET', 'POST']),
          `${pick(['/v1/me', '/api/v1/orders?status=open', '/api/reports/summary?period=30d', '/v2/accounts', '/api/v1/projects'])}`,
          apiClient(h, {
            auth: `Bearer ${jwt()}`,
            extra: chance(0.3)
              ? [['DPoP', jwt({ htm: 'GET', htu: `https://${h}/v1/me`, jti: uuid() }, 'ES256')]]
              : [],
          }),
        );
        break;
      }
      case 'discovery':
        add(
          'GET',
          `${prefix}${pick(['/.well-known/openid-configuration', '/.well-known/jwks.json', '/.well-known/oauth-authorization-server', '/protocol/openid-connect/certs', '/discovery/v2.0/keys', '/oauth2/default/v1/keys'])}`,
          apiClient(idp.host, {
            auth: false,
            ua: pick([
              'node',
              'Go-http-client/1.1',
              'Java-http-client/17.0.11',
              'python-requests/2.32.3',
              'oauth2-proxy/v7.6.0',
              'nimbus-jose-jwt/9.37.3',
            ]),
          }),
        );
        break;
      case 'introspect':
        add(
          'POST',
          `${prefix}${pick(['/oauth2/introspect', '/protocol/openid-connect/token/introspect', '/oauth/introspect', '/oauth2/default/v1/introspect'])}`,
          tokenHeaders([['Authorization', basicAuth(clientId, alnum(40))]]),
          form([
            ['token', chance(0.5) ? jwt() : opaqueToken()],
            ['token_type_hint', pick(['access_token', 'refresh_token'])],
          ]),
        );
        break;
      case 'revoke':
        add(
          'POST',
          `${prefix}${pick(['/oauth2/revoke', '/oauth/revoke', '/protocol/openid-connect/revoke'])}`,
          tokenHeaders(),
          form([
            ['token', b64url(bytes(40))],
            ['token_type_hint', 'refresh_token'],
            ['client_id', clientId],
          ]),
        );
        break;
      case 'logout':
        add(
          'GET',
          `${prefix}${pick(['/protocol/openid-connect/logout', '/oauth2/v2.0/logout', '/v2/logout', '/oidc/logout', '/logout'])}?${qs([['id_token_hint', jwt()], ['post_logout_redirect_uri', pick(['https://app.example.com/', 'https://www.example.co.uk/signed-out', 'https://dashboard.example.com/login?loggedOut=1'])], ['state', hex(16)], ...(chance(0.3) ? [['client_id', clientId]] : [])])}`,
          browser(idp.host, { site: 'cross-site' }),
        );
        break;
      case 'device':
        if (chance(0.5))
          add(
            'POST',
            `${prefix}${pick(['/oauth/device/code', '/protocol/openid-connect/auth/device', '/device/code'])}`,
            tokenHeaders(),
            form([
              ['client_id', clientId],
              ['scope', pick(['openid profile offline_access', 'read:devices'])],
            ]),
          );
        else
          add(
            'POST',
            `${prefix}${idp.token}`,
            tokenHeaders(),
            form([
              ['grant_type', 'urn:ietf:params:oauth:grant-type:device_code'],
              ['device_code', b64url(bytes(32))],
              ['client_id', clientId],
            ]),
          );
        break;
      case 'jwt-assertion':
        add(
          'POST',
          `${prefix}${idp.token}`,
          tokenHeaders(),
          form([
            ['grant_type', 'client_credentials'],
            ['client_id', clientId],
            ['client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'],
            [
              'client_assertion',
              jwt(
                {
                  iss: clientId,
                  sub: clientId,
                  aud: `https://${idp.host}${prefix}${idp.token}`,
                  jti: uuid(),
                },
                'RS256',
              ),
            ],
            ['scope', pick(['api.read', 'https://api.example.com/.default'])],
          ]),
        );
        break;
      case 'par':
        add(
          'POST',
          `${prefix}${pick(['/oauth2/par', '/protocol/openid-connect/ext/par/request', '/par'])}`,
          tokenHeaders([['Authorization', basicAuth(clientId, alnum(40))]]),
          form([
            ['response_type', 'code'],
            ['client_id', clientId],
            ['redirect_uri', redirect],
            ['scope', pick(SCOPES)],
            ['state', state],
            ['code_challenge', b64url(createHash('sha256').update(verifier).digest())],
            ['code_challenge_method', 'S256'],
          ]),
        );
        break;
      case 'token-exchange':
        add(
          'POST',
          `${prefix}${idp.token}`,
          tokenHeaders([['Authorization', basicAuth(clientId, alnum(40))]]),
          form([
            ['grant_type', 'urn:ietf:params:oauth:grant-type:token-exchange'],
            ['subject_token', jwt()],
            ['subject_token_type', 'urn:ietf:params:oauth:token-type:access_token'],
            ['audience', pick(['orders-service', 'https://api.example.com/billing'])],
            ['requested_token_type', 'urn:ietf:params:oauth:token-type:access_token'],
          ]),
        );
        break;
      default: {
        const u = new URL(redirect.startsWith('http') ? redirect : 'https://app.example.com/auth/callback');
        add(
          'POST',
          u.pathname,
          browser(u.host, {
            contentType: 'application/x-www-form-urlencoded',
            origin: `https://${idp.host}`,
            site: 'cross-site',
          }),
          form([
            ['code', code],
            ['state', state],
            ...(chance(0.5) ? [['id_token', jwt()]] : []),
            ...(chance(0.4) ? [['session_state', uuid()]] : []),
          ]),
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// SAML 2.0

const SAML_SPS = [
  ['https://app.example.com/saml/metadata', 'app.example.com', '/saml/acs'],
  ['https://jira.example.com', 'jira.example.com', '/plugins/servlet/samlconsumer'],
  ['https://grafana.example.com/saml/metadata', 'grafana.example.com', '/saml/acs'],
  ['urn:amazon:webservices', 'signin.aws.example', '/saml'],
  [
    'https://portal.acme.example/Shibboleth.sso/Metadata',
    'portal.acme.example',
    '/Shibboleth.sso/SAML2/POST',
  ],
  [
    'https://wiki.corp.example/simplesaml/module.php/saml/sp/metadata.php/default-sp',
    'wiki.corp.example',
    '/simplesaml/module.php/saml/sp/saml2-acs.php/default-sp',
  ],
  [
    'https://keycloak.corp.example/realms/staff',
    'keycloak.corp.example',
    '/realms/staff/broker/corp-adfs/endpoint',
  ],
  ['https://gitlab.example.com', 'gitlab.example.com', '/users/auth/saml/callback'],
  ['https://crm.example.com/sso', 'crm.example.com', '/sso/saml/consume'],
];
const SAML_IDPS = [
  ['https://sso.acme.example/saml2/idp', 'sso.acme.example', '/saml2/idp/SSO'],
  ['http://adfs.corp.example/adfs/services/trust', 'adfs.corp.example', '/adfs/ls/'],
  [
    'https://login.example.com/' + 'a1b2c3d4-0000-4000-8000-123456789abc/',
    'login.example.com',
    '/a1b2c3d4-0000-4000-8000-123456789abc/saml2',
  ],
  [
    'https://id.example.net/app/exk1fxp9example/sso/saml',
    'id.example.net',
    '/app/example_app/exk1fxp9example/sso/saml',
  ],
  ['https://keycloak.corp.example/realms/staff', 'keycloak.corp.example', '/realms/staff/protocol/saml'],
];
const samlId = () => `_${hex(40)}`;
const x509 = () => b64(bytes(int(600, 900)));
function authnRequest(sp, idp) {
  return `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${samlId()}" Version="2.0" IssueInstant="${isoSec()}" Destination="https://${idp[1]}${idp[2]}" AssertionConsumerServiceURL="https://${sp[1]}${sp[2]}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"${chance(0.3) ? ' ForceAuthn="true"' : ''}><saml:Issuer>${sp[0]}</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:${pick(['1.1:nameid-format:emailAddress', '2.0:nameid-format:persistent', '2.0:nameid-format:transient'])}" AllowCreate="true"/>${chance(0.4) ? '<samlp:RequestedAuthnContext Comparison="exact"><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>' : ''}</samlp:AuthnRequest>`;
}
function samlResponse(sp, idp) {
  const p = person();
  const t = unix();
  const rid = samlId();
  const aid = samlId();
  const groups = some(
    ['Engineering', 'Admins', 'Finance', 'Support', 'All Staff', 'Grafana Editors', 'VPN Users'],
    1,
    4,
  );
  const sig = (ref) =>
    `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#${ref}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>${b64(bytes(32))}</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>${b64(bytes(256))}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${x509()}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>`;
  const attr = (name, values) =>
    `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:${name.startsWith('http') ? 'uri' : 'basic'}">${values.map((v) => `<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${v}</saml:AttributeValue>`).join('')}</saml:Attribute>`;
  return `<?xml version="1.0" encoding="UTF-8"?><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${rid}" Version="2.0" IssueInstant="${isoSec(t)}" Destination="https://${sp[1]}${sp[2]}" InResponseTo="${samlId()}"><saml:Issuer>${idp[0]}</saml:Issuer>${chance(0.5) ? sig(rid) : ''}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="${aid}" Version="2.0" IssueInstant="${isoSec(t)}"><saml:Issuer>${idp[0]}</saml:Issuer>${sig(aid)}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${p.email}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${isoSec(t + 300)}" Recipient="https://${sp[1]}${sp[2]}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="${isoSec(t - 60)}" NotOnOrAfter="${isoSec(t + 3600)}"><saml:AudienceRestriction><saml:Audience>${sp[0]}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="${isoSec(t)}" SessionIndex="${samlId()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>${attr('email', [p.email])}${attr('firstName', [p.first])}${attr('lastName', [p.last])}${attr(chance(0.5) ? 'groups' : 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups', groups)}</saml:AttributeStatement></saml:Assertion></samlp:Response>`;
}
function logoutRequest(sp, idp) {
  return `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${samlId()}" Version="2.0" IssueInstant="${isoSec()}" Destination="https://${idp[1]}${idp[2]}"><saml:Issuer>${sp[0]}</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${person().email}</saml:NameID><samlp:SessionIndex>${samlId()}</samlp:SessionIndex></samlp:LogoutRequest>`;
}
const relayState = (sp) =>
  pick([
    `https://${sp[1]}/${pick(['dashboard', 'd/abc123/overview?orgId=1', 'browse/PLAT-' + int(10, 999), 'projects', ''])}`,
    pick(['/', '/admin/users', '/secure/Dashboard.jspa']),
    b64url(bytes(16)),
    `ss:mem:${hex(64)}`,
    '',
  ]);

function genSaml(n) {
  begin('saml');
  for (let i = 0; i < n; i++) {
    const sp = pick(SAML_SPS);
    const idp = pick(SAML_IDPS);
    const kind = i % 6;
    if (kind === 0 || kind === 1) {
      // HTTP-Redirect binding to the IdP: deflated, base64, URL-encoded; signed in half of them.
      const pairs = [['SAMLRequest', b64(deflateRaw(authnRequest(sp, idp)))]];
      const rs = relayState(sp);
      if (rs) pairs.push(['RelayState', rs]);
      if (chance(0.5))
        pairs.push(
          ['SigAlg', 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'],
          ['Signature', b64(bytes(256))],
        );
      add(
        'GET',
        `${idp[2]}?${qs(pairs)}`,
        browser(idp[1], { site: 'cross-site', referer: `https://${sp[1]}/` }),
      );
    } else if (kind === 2 || kind === 3) {
      // HTTP-POST binding back to the SP's ACS.
      const pairs = [['SAMLResponse', b64(samlResponse(sp, idp))]];
      const rs = relayState(sp);
      if (rs) pairs.push(['RelayState', rs]);
      add(
        'POST',
        sp[2],
        browser(sp[1], {
          contentType: 'application/x-www-form-urlencoded',
          origin: `https://${idp[1]}`,
          site: 'cross-site',
          referer: `https://${idp[1]}/`,
        }),
        form(pairs),
      );
    } else if (kind === 4) {
      // HTTP-POST binding of the request (no deflate), or a redirect-binding logout.
      if (chance(0.5)) {
        add(
          'POST',
          idp[2],
          browser(idp[1], {
            contentType: 'application/x-www-form-urlencoded',
            origin: `https://${sp[1]}`,
            site: 'cross-site',
          }),
          form([
            ['SAMLRequest', b64(authnRequest(sp, idp))],
            ['RelayState', relayState(sp) || '/'],
          ]),
        );
      } else {
        add(
          'GET',
          `${idp[2]}?${qs([
            ['SAMLRequest', b64(deflateRaw(logoutRequest(sp, idp)))],
            ['RelayState', relayState(sp) || '/'],
            ['SigAlg', 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'],
            ['Signature', b64(bytes(256))],
          ])}`,
          browser(idp[1], { site: 'cross-site' }),
        );
      }
    } else {
      const fromIdp = chance(0.5);
      const meta = fromIdp
        ? ({
            'adfs.corp.example': '/FederationMetadata/2007-06/FederationMetadata.xml',
            'keycloak.corp.example': '/realms/staff/protocol/saml/descriptor',
            'sso.acme.example': '/saml2/idp/metadata.php',
          }[idp[1]] ?? '/sso/saml/metadata?download=1')
        : new URL(sp[0].startsWith('http') ? sp[0] : `https://${sp[1]}/saml/metadata`).pathname.replace(
            /^\/$/,
            '/saml/metadata',
          );
      add(
        'GET',
        meta,
        apiClient(fromIdp ? idp[1] : sp[1], {
          auth: false,
          accept: 'application/samlmetadata+xml, application/xml, */*',
          ua: pick([
            'Shibboleth-SP/3.4.1',
            'python-requests/2.32.3',
            'Go-http-client/1.1',
            'Java-http-client/17.0.11',
            'curl/8.7.1',
          ]),
        }),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Code and markdown in issue trackers and pull-request comments

const SNIPPETS = {
  java: [
    () =>
      `@GetMapping("/orders/{id}")\npublic ResponseEntity<OrderDto> get(@PathVariable long id) {\n    return orderService.find(id)\n        .map(ResponseEntity::ok)\n        .orElse(ResponseEntity.notFound().build());\n}`,
    () =>
      `List<String> names = users.stream()\n    .filter(u -> u.isActive() && u.getRole() == Role.${pick(['ADMIN', 'EDITOR', 'VIEWER'])})\n    .map(User::getName)\n    .sorted()\n    .collect(Collectors.toList());`,
    () =>
      `try (Connection c = dataSource.getConnection();\n     PreparedStatement ps = c.prepareStatement("SELECT id, email FROM users WHERE org_id = ?")) {\n    ps.setLong(1, orgId);\n    try (ResultSet rs = ps.executeQuery()) {\n        while (rs.next()) { out.add(rs.getString("email")); }\n    }\n}`,
    () =>
      `@Scheduled(cron = "0 0 3 * * *")\npublic void purgeExpiredSessions() {\n    int n = sessionRepository.deleteByExpiresAtBefore(Instant.now());\n    log.info("purged {} sessions", n);\n}`,
    () =>
      `public record Money(BigDecimal amount, Currency currency) {\n    public Money {\n        Objects.requireNonNull(currency);\n        amount = amount.setScale(currency.getDefaultFractionDigits(), RoundingMode.HALF_EVEN);\n    }\n}`,
  ],
  python: [
    () =>
      `df = pd.read_csv("orders.csv", parse_dates=["created_at"])\nweekly = df.groupby(pd.Grouper(key="created_at", freq="W"))["total"].sum()\nprint(weekly.tail())`,
    () =>
      `async def fetch_all(urls):\n    async with aiohttp.ClientSession() as s:\n        return await asyncio.gather(*(s.get(u) for u in urls))`,
    () =>
      `resp = requests.get(f"{BASE}/api/v1/items", params={"page": page, "per_page": 100}, timeout=10)\nresp.raise_for_status()\nitems.extend(resp.json()["data"])`,
    () => `@app.route("/health")\ndef health():\n    return {"status": "ok", "version": __version__}`,
    () =>
      `for attempt in range(5):\n    try:\n        return client.send(msg)\n    except TimeoutError:\n        time.sleep(2 ** attempt)  # exponential back-off\nraise RuntimeError("gave up")`,
    () =>
      `cur.execute("SELECT name FROM products WHERE category = %s AND price < %s", (category, max_price))\nrows = cur.fetchall()`,
  ],
  bash: [
    () =>
      `#!/usr/bin/env bash\nset -euo pipefail\nfor f in logs/*.gz; do\n  zcat "$f" | grep -c ' 500 ' || true\ndone`,
    () =>
      `kubectl -n ${pick(ENVS)} rollout restart deploy/${pick(SERVICES)}\nkubectl -n ${pick(ENVS)} get pods -l app=${pick(SERVICES)} -w`,
    () => `docker compose up -d db\nnpm ci\nnpm run migrate && npm test`,
    () => `git fetch origin && git rebase origin/main\ngit push --force-with-lease`,
    () => `export AWS_PROFILE=staging\naws s3 ls s3://example-reports/2025/ --recursive | sort | tail -n 5`,
    () => `psql "$DATABASE_URL" -c "\\dt public.*"\npg_dump --schema-only "$DATABASE_URL" > schema.sql`,
    () => `du -sh ./* | sort -h | tail\nfind . -name '*.log' -mtime +7 -delete`,
  ],
  sql: [
    () =>
      `ALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nCREATE INDEX CONCURRENTLY idx_orders_shipped_at ON orders (shipped_at);`,
    () =>
      `SELECT o.id, o.total, c.email\nFROM orders o\nJOIN customers c ON c.id = o.customer_id\nWHERE o.created_at > now() - interval '1 day';`,
    () =>
      `-- migration 0042: split name\nUPDATE users SET first_name = split_part(name, ' ', 1), last_name = split_part(name, ' ', 2);`,
    () => `EXPLAIN ANALYZE\nSELECT count(*) FROM events WHERE user_id = 42 AND type = 'page_view';`,
    () => `SELECT id FROM a\nUNION\nSELECT id FROM b\nORDER BY id;`,
    () => `BEGIN;\nDELETE FROM sessions WHERE expires_at < now() - interval '30 days';\nCOMMIT;`,
  ],
  php: [
    () =>
      `public function store(Request $request)\n{\n    $validated = $request->validate([\n        'title' => 'required|max:255',\n        'body' => 'required',\n    ]);\n    $post = Post::create($validated);\n    return redirect()->route('posts.show', $post);\n}`,
    () =>
      `$stmt = $pdo->prepare('SELECT * FROM users WHERE email = :email');\n$stmt->execute(['email' => $email]);\n$user = $stmt->fetch();`,
    () =>
      `add_action('init', function () {\n    register_post_type('event', ['public' => true, 'label' => 'Events', 'supports' => ['title', 'editor']]);\n});`,
    () =>
      `$total = array_sum(array_map(fn($i) => $i['qty'] * $i['price'], $items));\necho number_format($total, 2);`,
  ],
  js: [
    () =>
      `const res = await fetch('/api/orders?status=open', { headers: { Accept: 'application/json' } });\nif (!res.ok) throw new Error(\`HTTP \${res.status}\`);\nconst { data } = await res.json();`,
    () =>
      `export function Button({ children, onClick }) {\n  return <button className="btn" onClick={onClick}>{children}</button>;\n}`,
    () =>
      `import { debounce } from '../utils/debounce';\nimport { api } from '../../lib/api';\n\nconst search = debounce((q) => api.get('/search', { params: { q } }), 300);`,
    () => `app.get('/healthz', (req, res) => res.json({ ok: true }));\napp.listen(process.env.PORT ?? 3000);`,
    () =>
      `useEffect(() => {\n  const id = setInterval(refresh, 30_000);\n  return () => clearInterval(id);\n}, [refresh]);`,
    () =>
      `document.querySelector('#save').addEventListener('click', () => {\n  alert('Saved!'); // TODO: replace with a toast\n});`,
    () =>
      `const total = items.reduce((sum, { price, qty }) => sum + price * qty, 0);\nconsole.log(total.toFixed(2));`,
  ],
  yaml: [
    () =>
      `name: CI\non:\n  push:\n    branches: [main]\n  pull_request:\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-node@v4\n        with:\n          node-version: 20\n      - run: npm ci && npm test`,
    () =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${pick(SERVICES)}\nspec:\n  replicas: ${int(2, 6)}\n  template:\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/${pick(SERVICES)}:${int(1, 9)}.${int(0, 30)}.${int(0, 9)}\n          resources:\n            limits: { cpu: "500m", memory: 512Mi }`,
    () =>
      `services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_DB: app\n    volumes:\n      - pgdata:/var/lib/postgresql/data\nvolumes:\n  pgdata: {}`,
    () =>
      `groups:\n  - name: api\n    rules:\n      - alert: HighErrorRate\n        expr: sum(rate(http_requests_total{code=~"5.."}[5m])) > 1\n        for: 10m\n        labels: { severity: page }`,
  ],
  dockerfile: [
    () =>
      `FROM node:20-alpine AS build\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\n\nFROM node:20-alpine\nWORKDIR /app\nCOPY --from=build /app/dist ./dist\nUSER node\nCMD ["node", "dist/server.js"]`,
    () =>
      `FROM python:3.12-slim\nENV PYTHONDONTWRITEBYTECODE=1\nRUN pip install --no-cache-dir poetry==1.8.3\nCOPY pyproject.toml poetry.lock ./\nRUN poetry install --no-root --only main\nCOPY . .\nEXPOSE 8000\nCMD ["gunicorn", "app:app", "-b", "0.0.0.0:8000"]`,
    () =>
      `FROM eclipse-temurin:21-jre\nCOPY target/app.jar /opt/app.jar\nHEALTHCHECK CMD curl -fs http://localhost:8080/actuator/health || exit 1\nENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-jar", "/opt/app.jar"]`,
  ],
  go: [
    () =>
      `func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {\n\tid := chi.URLParam(r, "id")\n\titem, err := s.store.Get(r.Context(), id)\n\tif errors.Is(err, ErrNotFound) {\n\t\thttp.NotFound(w, r)\n\t\treturn\n\t}\n\tjson.NewEncoder(w).Encode(item)\n}`,
    () =>
      `ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)\ndefer cancel()\nrows, err := db.QueryContext(ctx, "SELECT id FROM jobs WHERE state = $1", "queued")`,
  ],
  rust: [
    () =>
      `#[derive(Debug, Serialize, Deserialize)]\npub struct Order {\n    pub id: Uuid,\n    pub total: Decimal,\n    pub items: Vec<Item>,\n}`,
  ],
  terraform: [
    () =>
      `resource "aws_s3_bucket" "reports" {\n  bucket = "example-reports-\${var.env}"\n  tags = {\n    Team = "data"\n  }\n}`,
  ],
};
const TRACES = [
  () =>
    `Exception in thread "main" java.lang.NullPointerException: Cannot invoke "com.acme.${pick(['orders', 'billing', 'auth'])}.Customer.getEmail()" because "customer" is null\n\tat com.acme.orders.OrderService.notify(OrderService.java:${int(40, 400)})\n\tat com.acme.orders.OrderController.create(OrderController.java:${int(20, 200)})\n\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)`,
  () =>
    `java.lang.IllegalStateException: Failed to load ApplicationContext\n\tat org.springframework.test.context.cache.DefaultCacheAwareContextLoaderDelegate.loadContext(DefaultCacheAwareContextLoaderDelegate.java:180)\nCaused by: java.lang.ClassNotFoundException: com.acme.config.FeatureFlags\n\tat java.base/java.net.URLClassLoader.findClass(URLClassLoader.java:445)\n\tat java.base/java.lang.ClassLoader.loadClass(ClassLoader.java:593)`,
  () =>
    `java.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3541)\n\tat java.base/java.lang.AbstractStringBuilder.ensureCapacityInternal(AbstractStringBuilder.java:242)\n\tat java.base/java.lang.StringBuilder.append(StringBuilder.java:179)\n\tat com.acme.export.CsvWriter.write(CsvWriter.java:88)`,
  () =>
    `java.lang.ClassCastException: class java.lang.String cannot be cast to class java.lang.Integer (java.lang.String and java.lang.Integer are in module java.base of loader 'bootstrap')\n\tat com.acme.reports.Aggregator.sum(Aggregator.java:57)`,
  () =>
    `java.util.concurrent.TimeoutException: Did not observe any item or terminal signal within 5000ms in 'flatMap'\n\tat reactor.core.publisher.FluxTimeout$TimeoutMainSubscriber.handleTimeout(FluxTimeout.java:296)\n\tat java.base/java.lang.Thread.run(Thread.java:1583)`,
  () =>
    `Traceback (most recent call last):\n  File "/app/worker.py", line ${int(10, 300)}, in run\n    result = process(job)\n  File "/app/jobs/export.py", line ${int(10, 200)}, in process\n    rows = cursor.fetchall()\npsycopg2.errors.QueryCanceled: canceling statement due to statement timeout`,
  () =>
    `TypeError: Cannot read properties of undefined (reading 'map')\n    at OrderList (webpack-internal:///./src/components/OrderList.jsx:24:23)\n    at renderWithHooks (react-dom.development.js:16305:18)`,
  () =>
    `panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x${hex(6)}]\n\ngoroutine 42 [running]:\nmain.(*Handler).ServeHTTP(0x0, {0x${hex(6)}, 0xc000${hex(6)}})\n\t/src/handler.go:57 +0x3a`,
];
const LANG_TAG = {
  java: 'java',
  python: 'python',
  bash: 'bash',
  sql: 'sql',
  php: 'php',
  js: pick(['js', 'javascript', 'jsx', 'ts']),
  yaml: 'yaml',
  dockerfile: 'dockerfile',
  go: 'go',
  rust: 'rust',
  terraform: 'hcl',
};
function codeComment() {
  const lang = pick(Object.keys(SNIPPETS));
  const code = pick(SNIPPETS[lang])();
  const intro = pick([
    'I think the problem is here:',
    'Suggestion — something like this?',
    'Repro:',
    'This is what we ended up with:',
    'Nit: could we simplify to',
    'Works for me locally with:',
    'Can you try this instead?',
    'For reference, the old version did:',
    'LGTM once this is addressed 👇',
    `@${person().user} this is the snippet I mentioned:`,
    'Minimal example:',
    'Before merging, please double-check:',
  ]);
  let md = `${intro}\n\n\`\`\`${lang === 'js' ? pick(['js', 'javascript', 'jsx', 'ts']) : LANG_TAG[lang]}\n${code}\n\`\`\``;
  if (chance(0.35)) md += `\n\nStack trace:\n\n\`\`\`\n${pick(TRACES)()}\n\`\`\``;
  if (chance(0.4))
    md += `\n\n${pick(['Fixes #' + int(10, 9999), 'Related: #' + int(10, 9999), '- [x] tests\n- [ ] docs', '> Note: this only affects the `select` path, not `union`.', 'cc @' + person().user, '**Edit:** also happens on v' + int(1, 5) + '.' + int(0, 20), '_Tested on Node 20 and 22._'])}`;
  return { md, lang, code };
}

function genCode(n) {
  begin('code');
  const kinds = [
    'gh-issue-comment',
    'gh-review',
    'gh-issue',
    'gitlab-note',
    'gitlab-mr-discussion',
    'jira-comment',
    'jira-adf',
    'bitbucket',
    'gitea',
    'forum-answer',
    'gist',
    'linear',
  ];
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length];
    const [owner, repo] = pick(REPOS);
    const c = codeComment();
    switch (kind) {
      case 'gh-issue-comment': {
        const h = pick(['api.github.example', 'github.example.com']);
        add(
          'POST',
          `${h.startsWith('api') ? '' : '/api/v3'}/repos/${owner}/${repo}/issues/${int(1, 5000)}/comments`,
          apiClient(h, {
            contentType: 'application/json',
            accept: 'application/vnd.github+json',
            extra: [['X-GitHub-Api-Version', '2022-11-28']],
          }),
          json({ body: c.md }),
        );
        break;
      }
      case 'gh-review':
        add(
          'POST',
          `/repos/${owner}/${repo}/pulls/${int(1, 3000)}/reviews`,
          apiClient('api.github.example', {
            contentType: 'application/json',
            accept: 'application/vnd.github+json',
          }),
          json({
            commit_id: hex(40),
            event: pick(['COMMENT', 'REQUEST_CHANGES', 'APPROVE']),
            body: pick([
              'A few comments inline.',
              'Looks good overall!',
              'Please see the notes about the SQL migration.',
            ]),
            comments: [
              {
                path: pick([
                  'src/server.ts',
                  'app/models/order.rb',
                  'db/migrate/20250612_add_index.sql',
                  'Dockerfile',
                  '.github/workflows/ci.yml',
                  'src/main/java/com/acme/OrderService.java',
                ]),
                line: int(5, 300),
                side: 'RIGHT',
                body: c.md,
              },
            ],
          }),
        );
        break;
      case 'gh-issue': {
        const h = 'github.example.com';
        add(
          'POST',
          `/${owner}/${repo}/issues`,
          browser(h, { contentType: 'application/x-www-form-urlencoded', origin: `https://${h}` }),
          form([
            ['authenticity_token', b64(bytes(64))],
            [
              'issue[title]',
              pick([
                'NullPointerException when customer has no email',
                'Build fails on Alpine',
                'select() returns duplicates after union',
                'Docs: sleep() units unclear',
                'Migration drops index on orders.created_at',
                'alert() left in production bundle',
              ]),
            ],
            [
              'issue[body]',
              `### Describe the bug\n\n${c.md}\n\n### Environment\n\n- OS: ${pick(['macOS 14.5', 'Ubuntu 22.04', 'Windows 11'])}\n- Version: ${int(1, 4)}.${int(0, 20)}.${int(0, 9)}`,
            ],
          ]),
        );
        break;
      }
      case 'gitlab-note':
        add(
          'POST',
          `/api/v4/projects/${pick([String(int(1, 900)), encodeURIComponent(`${owner}/${repo}`)])}/issues/${int(1, 2000)}/notes`,
          apiClient('gitlab.example.com', {
            contentType: 'application/json',
            auth: false,
            extra: [['PRIVATE-TOKEN', alnum(20)]],
          }),
          json({ body: c.md }),
        );
        break;
      case 'gitlab-mr-discussion':
        add(
          'POST',
          `/api/v4/projects/${int(1, 900)}/merge_requests/${int(1, 1500)}/discussions`,
          browser('gitlab.example.com', {
            mode: 'cors',
            contentType: 'application/json',
            origin: 'https://gitlab.example.com',
            extra: [['X-CSRF-Token', b64(bytes(64))]],
          }),
          json({
            body: c.md,
            position: {
              position_type: 'text',
              base_sha: hex(40),
              start_sha: hex(40),
              head_sha: hex(40),
              new_path: pick(['app/services/billing.rb', 'src/App.tsx', 'Dockerfile']),
              new_line: int(1, 200),
            },
          }),
        );
        break;
      case 'jira-comment':
        add(
          'POST',
          `/rest/api/2/issue/${pick(JIRA_PROJECTS)}-${int(1, 9000)}/comment`,
          apiClient('jira.example.com', {
            contentType: 'application/json',
            auth: basicAuth(person().email, alnum(24)),
          }),
          json({
            body: `${pick(['Seeing this in prod:', 'Root cause below.', 'Workaround until the fix ships:'])}\n{code:${c.lang === 'js' ? 'javascript' : c.lang}}\n${c.code}\n{code}\n${chance(0.4) ? `{noformat}\n${pick(TRACES)()}\n{noformat}` : ''}`,
          }),
        );
        break;
      case 'jira-adf':
        add(
          'POST',
          `/rest/api/3/issue/${pick(JIRA_PROJECTS)}-${int(1, 9000)}/comment`,
          browser('acme.atlassian.example', {
            mode: 'cors',
            contentType: 'application/json',
            origin: 'https://acme.atlassian.example',
            extra: [['X-Atlassian-Token', 'no-check']],
          }),
          json({
            body: {
              version: 1,
              type: 'doc',
              content: [
                {
                  type: 'paragraph',
                  content: [
                    {
                      type: 'text',
                      text: pick(['Proposed fix:', 'Repro steps attached.', 'Stack trace from staging:']),
                    },
                  ],
                },
                { type: 'codeBlock', attrs: { language: c.lang }, content: [{ type: 'text', text: c.code }] },
              ],
            },
          }),
        );
        break;
      case 'bitbucket':
        add(
          'POST',
          `/2.0/repositories/${owner}/${repo}/pullrequests/${int(1, 900)}/comments`,
          apiClient('api.bitbucket.example', {
            contentType: 'application/json',
            auth: basicAuth(person().user, alnum(20)),
          }),
          json({
            content: { raw: c.md },
            ...(chance(0.5) ? { inline: { path: 'src/index.js', to: int(1, 300) } } : {}),
          }),
        );
        break;
      case 'gitea':
        add(
          'POST',
          `/api/v1/repos/${owner}/${repo}/issues/${int(1, 800)}/comments`,
          apiClient('git.corp.example', { contentType: 'application/json', auth: `token ${hex(40)}` }),
          json({ body: c.md }),
        );
        break;
      case 'forum-answer':
        add(
          'POST',
          `/questions/${int(10000, 79999999)}/answer/submit`,
          browser(pick(['stackoverflow.example.com', 'qa.example.org']), {
            contentType: 'application/x-www-form-urlencoded',
            origin: 'https://qa.example.org',
          }),
          form([
            ['fkey', hex(64)],
            ['post-text', c.md],
            ['author', ''],
            ['i1l', b64(bytes(12))],
          ]),
        );
        break;
      case 'gist':
        add(
          'POST',
          '/gists',
          apiClient('api.github.example', {
            contentType: 'application/json',
            accept: 'application/vnd.github+json',
          }),
          json({
            description: pick(['snippet for the team', 'repro for #' + int(10, 999), 'handy one-liner']),
            public: chance(0.3),
            files: {
              [`snippet.${{ java: 'java', python: 'py', bash: 'sh', sql: 'sql', php: 'php', js: 'js', yaml: 'yml', dockerfile: 'Dockerfile', go: 'go', rust: 'rs', terraform: 'tf' }[c.lang]}`]:
                { content: c.code },
            },
          }),
        );
        break;
      default:
        add(
          'POST',
          '/graphql',
          apiClient('api.linear.example', { contentType: 'application/json' }),
          json({
            query:
              'mutation CommentCreate($input: CommentCreateInput!) { commentCreate(input: $input) { success } }',
            variables: { input: { issueId: uuid(), body: c.md } },
          }),
        );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Non-English text

const I18N = {
  es: {
    addresses: [
      ['Calle de Alcalá 42, 3º izq.', 'Madrid', '28014', 'ES'],
      ['Avenida Insurgentes Sur 1602', 'Ciudad de México', '03940', 'MX'],
    ],
    lang: 'es-ES,es;q=0.9,en;q=0.6',
    names: ['María José Núñez', 'José Ángel Peña', 'Lucía Fernández', 'Íñigo Muñoz'],
    search: [
      'zapatillas de running mujer',
      'mesa plegable jardín',
      'cafetera italiana 6 tazas',
      'vuelos baratos a Cancún',
      'recetas sin gluten',
      '¿dónde está mi pedido?',
      'libros de ciencia ficción en español',
    ],
    text: [
      '¡Hola! Pedí la talla M y me llegó la L. ¿Puedo cambiarla sin coste?',
      'El producto llegó en perfecto estado y antes de lo previsto. ¡Muy recomendable!',
      'No consigo seleccionar la fecha de entrega en el móvil; el botón no responde.',
      'Buenas tardes, quisiera darme de baja del boletín. Gracias.',
      'La aplicación se cierra sola cuando intento subir una foto desde la galería.',
      '¿Tienen tienda física en Valencia o sólo venden online?',
    ],
  },
  de: {
    addresses: [
      ['Königstraße 14', 'Stuttgart', '70173', 'DE'],
      ['Mariahilfer Straße 77/3', 'Wien', '1060', 'AT'],
    ],
    lang: 'de-DE,de;q=0.9,en;q=0.7',
    names: ['Jürgen Müller', 'Änne Schäfer', 'Björn Weiß', 'Gisela Groß'],
    search: [
      'Größentabelle Herren',
      'Fahrradschloss mit Zahlencode',
      'Küchenwaage digital',
      'Öffnungszeiten Filiale München',
      'Rückgabe ohne Kassenbon',
      'Straßenschuhe wasserdicht',
    ],
    text: [
      'Guten Tag, meine Bestellung ist seit zwei Wochen unterwegs. Können Sie bitte nachsehen?',
      'Die Lieferung war schnell, aber die Verpackung war beschädigt. Der Inhalt ist zum Glück heil.',
      'Ich möchte mein Abonnement zum Monatsende kündigen. Vielen Dank im Voraus!',
      'Leider funktioniert der Gutscheincode „SOMMER25“ nicht im Warenkorb.',
      'Könnten Sie die Rechnung bitte auf meine Firma ausstellen? USt-IdNr. folgt.',
      'Super Qualität – würde ich jederzeit wieder kaufen. Fünf Sterne!',
    ],
  },
  fr: {
    addresses: [
      ['12 rue de Rivoli', 'Paris', '75004', 'FR'],
      ['4580 rue Saint-Denis', 'Montréal', 'H2J 2L3', 'CA'],
    ],
    lang: 'fr-FR,fr;q=0.9,en;q=0.6',
    names: ['Élodie Lefèvre', 'François Dupré', 'Anaïs Côté', 'Noël Bézier'],
    search: [
      'chaussures de randonnée femme',
      'crème brûlée recette facile',
      'horaires magasin Lyon Part-Dieu',
      'où est ma commande ?',
      'table à rallonges en chêne',
      'écouteurs sans fil',
    ],
    text: [
      "Bonjour, j'ai reçu un article abîmé. Pourriez-vous m'envoyer une étiquette de retour ?",
      'Très bon rapport qualité-prix, je recommande vivement !',
      "Impossible de sélectionner l'adresse de livraison sur l'application iOS.",
      "Est-ce que la garantie couvre aussi l'écran ? Merci d'avance.",
      "Je n'arrive pas à me connecter depuis la mise à jour ; le mot de passe est refusé.",
      'Livraison rapide, emballage soigné. Rien à redire.',
    ],
  },
  zh: {
    addresses: [
      ['南京东路 100号 5楼', '上海', '200001', 'CN'],
      ['中关村大街 27号', '北京', '100080', 'CN'],
    ],
    lang: 'zh-CN,zh;q=0.9,en;q=0.6',
    names: ['王伟', '李娜', '张敏', '陈静'],
    search: [
      '无线蓝牙耳机',
      '儿童自行车 16寸',
      '咖啡机 家用',
      '上海 酒店 预订',
      '退货 流程',
      '笔记本电脑 轻薄',
    ],
    text: [
      '你好，我的订单已经一周没有更新物流信息了，请帮忙查一下。',
      '质量很好，物流也很快，非常满意！',
      '请问这个型号支持国内保修吗？',
      '我想修改收货地址，应该怎么操作？',
      '手机端无法选择配送时间，点了没有反应。',
    ],
  },
  ja: {
    addresses: [
      ['千代田区丸の内1-9-1', '東京都', '100-0005', 'JP'],
      ['北区梅田3-1-3', '大阪市', '530-0001', 'JP'],
    ],
    lang: 'ja,en-US;q=0.8,en;q=0.6',
    names: ['佐藤 花子', '鈴木 一郎', '高橋 美咲', '田中 翔太'],
    search: [
      'ランニングシューズ メンズ',
      '電気ケトル おしゃれ',
      '東京 ホテル 安い',
      '返品 方法',
      'キャンプ用品 セット',
      'コーヒー豆 深煎り',
    ],
    text: [
      'お世話になっております。注文した商品がまだ届いていません。確認をお願いできますか？',
      'とても使いやすくて気に入っています。リピートします！',
      'スマホからだと配送日が選択できません。',
      '領収書の宛名を会社名に変更してください。よろしくお願いいたします。',
      'サイズが合わなかったので交換をお願いしたいです。',
    ],
  },
  ar: {
    addresses: [
      ['شارع الشيخ زايد، برج 3، مكتب 1204', 'دبي', '00000', 'AE'],
      ['شارع التحلية، حي السليمانية', 'الرياض', '12234', 'SA'],
    ],
    lang: 'ar,en-US;q=0.8,en;q=0.6',
    names: ['محمد عبد الله', 'فاطمة الزهراء', 'أحمد حسن', 'ليلى منصور'],
    search: ['هاتف ذكي سامسونج', 'عطور رجالية', 'حجز فندق في دبي', 'سياسة الإرجاع', 'ملابس أطفال'],
    text: [
      'مرحباً، لم يصل طلبي حتى الآن. هل يمكنكم التحقق من حالة الشحنة؟',
      'المنتج ممتاز والتوصيل كان سريعاً. شكراً لكم!',
      'أرغب في تغيير عنوان التوصيل قبل الشحن.',
      'هل يتوفر هذا المنتج بلون آخر؟',
    ],
  },
  ru: {
    addresses: [
      ['ул. Тверская, д. 7, кв. 15', 'Москва', '125009', 'RU'],
      ['Невский пр., д. 28', 'Санкт-Петербург', '191186', 'RU'],
    ],
    lang: 'ru-RU,ru;q=0.9,en;q=0.6',
    names: ['Анна Иванова', 'Дмитрий Смирнов', 'Ольга Кузнецова', 'Сергей Попов'],
    search: [
      'беспроводные наушники',
      'кроссовки для бега',
      'доставка в Санкт-Петербург',
      'как вернуть товар',
      'детская коляска',
    ],
    text: [
      'Здравствуйте! Заказ оплачен три дня назад, но статус не меняется. Подскажите, пожалуйста.',
      'Отличное качество, всё пришло вовремя. Спасибо!',
      'Не могу выбрать дату доставки в мобильном приложении.',
      'Можно ли оформить счёт на юридическое лицо?',
    ],
  },
  hi: {
    addresses: [
      ['221, एमजी रोड', 'बेंगलुरु', '560001', 'IN'],
      ['12, कनॉट प्लेस', 'नई दिल्ली', '110001', 'IN'],
    ],
    lang: 'hi-IN,hi;q=0.9,en-IN;q=0.8,en;q=0.7',
    names: ['अमित शर्मा', 'प्रिया पटेल', 'राहुल वर्मा', 'सुनीता गुप्ता'],
    search: ['साड़ी ऑनलाइन', 'मोबाइल कवर', 'दिल्ली से मुंबई ट्रेन', 'रिफंड कैसे मिलेगा', 'बच्चों के खिलौने'],
    text: [
      'नमस्ते, मेरा ऑर्डर अभी तक नहीं आया है। कृपया स्थिति बताएं।',
      'उत्पाद बहुत अच्छा है, डिलीवरी भी समय पर हुई। धन्यवाद!',
      'मैं अपना पता बदलना चाहता हूँ, कैसे करूँ?',
      'क्या यह उत्पाद कैश ऑन डिलीवरी में उपलब्ध है?',
    ],
  },
  pt: {
    addresses: [
      ['Rua Augusta 120, 2º Esq.', 'Lisboa', '1100-053', 'PT'],
      ['Avenida Paulista 1578', 'São Paulo', '01310-200', 'BR'],
    ],
    lang: 'pt-BR,pt;q=0.9,en;q=0.6',
    names: ['João Gonçalves', 'Conceição Araújo', 'Luís Magalhães', 'Inês Simões'],
    search: [
      'tênis de corrida',
      'cadeira de escritório ergonômica',
      'passagens para Lisboa',
      'como trocar um produto',
    ],
    text: [
      'Olá! Meu pedido chegou incompleto, faltou um item.',
      'Ótimo produto, chegou antes do prazo. Recomendo!',
      'Não consigo selecionar a forma de pagamento no app.',
    ],
  },
  ko: {
    addresses: [['세종대로 110', '서울특별시', '04524', 'KR']],
    lang: 'ko-KR,ko;q=0.9,en;q=0.6',
    names: ['김민준', '이서연', '박지훈'],
    search: ['무선 이어폰', '캠핑 의자', '서울 호텔 예약', '환불 방법'],
    text: [
      '안녕하세요, 주문한 상품이 아직 도착하지 않았어요. 확인 부탁드립니다.',
      '품질이 좋고 배송도 빨랐어요. 추천합니다!',
    ],
  },
  tr: {
    addresses: [['İstiklal Caddesi No: 45', 'İstanbul', '34433', 'TR']],
    lang: 'tr-TR,tr;q=0.9,en;q=0.6',
    names: ['Ayşe Yılmaz', 'Mehmet Öztürk', 'Çağla Şahin'],
    search: ['kadın koşu ayakkabısı', 'çay bardağı seti', 'İstanbul otel'],
    text: [
      'Merhaba, siparişim hâlâ kargoya verilmedi. Yardımcı olur musunuz?',
      'Ürün çok güzel, teşekkürler!',
    ],
  },
  pl: {
    addresses: [['ul. Floriańska 15/4', 'Kraków', '31-019', 'PL']],
    lang: 'pl-PL,pl;q=0.9,en;q=0.6',
    names: ['Małgorzata Wiśniewska', 'Łukasz Żółkowski', 'Zofia Kołodziej'],
    search: ['buty do biegania', 'czajnik elektryczny', 'zwrot towaru'],
    text: [
      'Dzień dobry, paczka dotarła uszkodzona. Co mam zrobić?',
      'Świetny produkt, szybka wysyłka. Polecam!',
    ],
  },
  he: {
    addresses: [['רחוב דיזנגוף 50', 'תל אביב', '6433222', 'IL']],
    lang: 'he-IL,he;q=0.9,en;q=0.6',
    names: ['נועה כהן', 'יוסי לוי'],
    search: ['אוזניות אלחוטיות', 'מדיניות החזרות'],
    text: ['שלום, ההזמנה שלי עדיין לא הגיעה. אפשר לבדוק?', 'מוצר מעולה, משלוח מהיר. תודה!'],
  },
  emoji: {
    lang: 'en-US,en;q=0.9',
    names: ['Sam 🌈', 'Jo ✨ Lee', 'Alex 🚀'],
    search: ['🎂 birthday cake topper', 'cute 🐶 bandana', '☕ mugs', 'gift for dad 👔'],
    text: [
      'Love it!!! 😍😍 Already ordered another one 🙌',
      'Arrived super fast 🚚💨 10/10 would buy again 👍',
      'Colour is a bit different from the photo 🤔 but still nice ☺️',
      '🎉🎉 Happy launch day team!! 🥳🚀',
      'Thanks 🙏 ❤️ from 🇧🇷',
    ],
  },
};
const I18N_KEYS = Object.keys(I18N);

function genI18n(n) {
  begin('i18n');
  for (let i = 0; i < n; i++) {
    const key = I18N_KEYS[i % I18N_KEYS.length];
    const L = I18N[key];
    const kind = pick([
      'search',
      'search',
      'review',
      'message',
      'profile',
      'path',
      'form',
      'address',
      'translation',
      'graphql',
    ]);
    const h = host(pick(['web', 'app']));
    const opts = { lang: L.lang };
    switch (kind) {
      case 'search':
        add(
          'GET',
          `/${pick(['search', 'buscar', 'suche', 'recherche', 's', 'products'])}?${qs([[pick(['q', 'query', 'k', 'keyword']), pick(L.search)], ...(chance(0.4) ? [['page', int(1, 5)]] : []), ...(chance(0.3) ? [['lang', key]] : [])], { plus: chance(0.5) })}`,
          browser(h, opts),
        );
        break;
      case 'review':
        add(
          'POST',
          `/api/products/${int(1000, 99999)}/reviews`,
          browser(h, { ...opts, mode: 'cors', contentType: 'application/json', origin: `https://${h}` }),
          json({ rating: int(3, 5), author: pick(L.names), body: pick(L.text), locale: key }),
        );
        break;
      case 'message':
        add(
          'POST',
          pick(['/api/v1/messages', '/api/support/messages', '/chat/send']),
          browser(h, {
            ...opts,
            mode: 'cors',
            contentType: 'application/json; charset=utf-8',
            origin: `https://${h}`,
          }),
          json({ text: pick(L.text), sender: { name: pick(L.names) }, sentAt: iso() }),
        );
        break;
      case 'profile':
        add(
          'PATCH',
          '/api/v1/me',
          browser(h, { ...opts, mode: 'cors', contentType: 'application/json', origin: `https://${h}` }),
          json({
            displayName: pick(L.names),
            bio: pick(L.text).slice(0, 80),
            locale: LOCALES.find((l) => l.startsWith(key)) ?? 'en-US',
          }),
        );
        break;
      case 'path':
        add(
          'GET',
          `/${key === 'emoji' ? 'en' : key}/${pick(['produkte', 'productos', 'produits', 'products', 'blog', 'wiki'])}/${encodeURIComponent(pick(L.search).replace(/ /g, '-'))}${chance(0.3) ? `?${qs({ ref: 'nav' })}` : ''}`,
          browser(h, opts),
        );
        break;
      case 'form':
        add(
          'POST',
          pick(['/contact', '/kontakt', '/contacto', '/contact-us']),
          browser(h, { ...opts, contentType: 'application/x-www-form-urlencoded', origin: `https://${h}` }),
          form([
            ['name', pick(L.names)],
            ['email', person().email],
            ['message', pick(L.text)],
          ]),
        );
        break;
      case 'address': {
        const [line1, city, zip, country] = L.addresses
          ? pick(L.addresses)
          : ((a) => [a.line1, a.city, a.zip, a.country])(address());
        add(
          'POST',
          '/api/v1/addresses',
          browser(h, { ...opts, mode: 'cors', contentType: 'application/json', origin: `https://${h}` }),
          json({
            name: pick(L.names),
            line1,
            city,
            postalCode: zip,
            country,
            phone: `+${int(1, 98)} ${digits(3)} ${digits(6)}`,
          }),
        );
        break;
      }
      case 'translation':
        add(
          'POST',
          pick(['/api/v2/translate', '/v2/translate', '/api/i18n/strings']),
          apiClient(host('api'), { contentType: 'application/json' }),
          json(
            pick([
              { text: [pick(L.text)], target_lang: pick(['EN', 'DE', 'FR', 'JA']) },
              {
                key: `checkout.${pick(['title', 'cta', 'error.card_declined'])}`,
                locale: key,
                value: pick(L.text),
              },
            ]),
          ),
        );
        break;
      default:
        add(
          'POST',
          '/graphql',
          browser(h, { ...opts, mode: 'cors', contentType: 'application/json', origin: `https://${h}` }),
          json({
            operationName: 'Search',
            query: 'query Search($q: String!) { search(q: $q) { id title } }',
            variables: { q: pick(L.search) },
          }),
        );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Large bodies (8 KB to 64 KB)

const PARAGRAPHS = [
  'When we first moved the reporting jobs off the primary database, the goal was simple: stop the nightly exports from slowing down checkout. What we did not expect was how much the change would teach us about our own data.',
  'The team started by listing every query the dashboards ran. Most were harmless, a few selected far more columns than they needed, and one joined the orders table to itself twice for no reason anyone could remember.',
  'We agreed on three rules. First, every report gets an owner. Second, nothing runs against production without a timeout. Third, if a table is no longer used, we drop it only after a month in read-only mode.',
  'Customers noticed the difference within a week. Pages that used to stall during the 2 a.m. batch now load in under a second, and the support queue lost its most common complaint.',
  'There were setbacks. A migration script assumed every customer had a postcode; several thousand did not, and the job stopped halfway. We added a dry-run flag and a report of skipped rows.',
  'Looking back, the biggest win was cultural. Engineers now ask "who reads this?" before adding a column, and the exec summary each Monday fits on one page again.',
  "The union of the two datasets was trickier than expected: the CRM stores names as a single field, while billing splits them, and names like O'Brien or de la Cruz broke the naive split.",
  'For readers who want to try this at home: start small, measure before and after, and write down what you changed. Future you will be grateful.',
  'Our next step is to let analysts write their own SQL against the replica through the BI tool, with row limits and a query timeout, so that the engineering team is no longer a bottleneck for every new chart.',
  'Finally, a note on sleep: the on-call rotation got noticeably quieter. Fewer alerts at night meant fewer mistakes during the day, which is its own kind of performance improvement.',
  "Section 4.2 — Termination. Either party may terminate this Agreement upon thirty (30) days' written notice. Sections 5 (Confidentiality), 7 (Limitation of Liability) and 9 (Governing Law) survive termination.",
  "Dans la deuxième partie, nous présentons les résultats de l'enquête menée auprès de 1 200 clients ; la satisfaction globale progresse de 8 points par rapport à l'an dernier.",
  'Im dritten Quartal stieg der Umsatz um 12 %, vor allem dank der Erweiterung in Österreich und der Schweiz. Die Kosten für Logistik blieben stabil.',
];
function longArticle(target) {
  const title = pick([
    'How we moved reporting off the primary database',
    'Annual report 2024',
    'Master services agreement',
    'Handbook: engineering on-call',
    'Rapport trimestriel',
    'Migration retrospective',
  ]);
  let out = `# ${title}\n\n`;
  let k = 1;
  while (Buffer.byteLength(out) < target) {
    if (k % 4 === 1) out += `## ${k}. ${cap(sentenceWords(2, 5))}\n\n`;
    out += `${pick(PARAGRAPHS)} ${pick(PARAGRAPHS)}\n\n`;
    if (k % 7 === 0)
      out += `| Metric | Before | After |\n|---|---|---|\n| p95 latency | ${int(800, 3000)} ms | ${int(100, 700)} ms |\n| Nightly job | ${int(60, 240)} min | ${int(5, 40)} min |\n\n`;
    k++;
  }
  return { title, text: out };
}
function bulkProducts(target) {
  const items = [];
  while (Buffer.byteLength(json(items)) < target) {
    const [name, cat] = pick(PRODUCTS);
    items.push({
      sku: `${pick(['HX', 'GT', 'AC', 'ZK'])}-${int(1000, 99999)}`,
      name,
      category: cat,
      description: `${name}. ${sentenceWords(6, 14)}.`,
      price: money(2, 800),
      currency: pick(CURRENCIES),
      stock: int(0, 900),
      attributes: { color: pick(COLORS), weightKg: money(0.1, 20) },
      tags: some(TAGS, 0, 3),
    });
  }
  return items;
}
function bulkContacts(target) {
  const items = [];
  while (Buffer.byteLength(json(items)) < target) {
    const p = person();
    const a = address();
    items.push({
      firstName: p.first,
      lastName: p.last,
      email: p.email,
      company: pick(COMPANIES),
      address: { street: a.line1, city: a.city, postcode: a.zip, country: a.country },
      consent: { email: chance(0.6), sms: chance(0.2) },
      createdAt: iso(),
    });
  }
  return items;
}

function genLarge(n) {
  begin('large');
  for (let i = 0; i < n; i++) {
    const target = int(8800, 60000);
    const h = host(pick(['api', 'app']));
    const kind = i % 10;
    if (kind === 0) {
      add(
        'POST',
        pick(['/api/v1/products/import', '/admin/api/products/bulk', '/api/catalog/batch']),
        apiClient(h, { contentType: 'application/json' }),
        json({ mode: pick(['upsert', 'create']), products: bulkProducts(target) }),
      );
    } else if (kind === 1) {
      add(
        'POST',
        pick(['/api/v1/contacts/batch', '/crm/v3/objects/contacts/batch/create', '/api/audiences/members']),
        apiClient(h, { contentType: 'application/json' }),
        json({ inputs: bulkContacts(target) }),
      );
    } else if (kind === 2) {
      const a = longArticle(target);
      add(
        'POST',
        pick(['/api/v1/documents', '/api/posts', '/api/pages']),
        browser(h, { mode: 'cors', contentType: 'application/json', origin: `https://${h}` }),
        json({ title: a.title, format: 'markdown', body: a.text, status: 'draft', tags: some(TAGS, 1, 3) }),
      );
    } else if (kind === 3) {
      const a = longArticle(target);
      const html = a.text
        .split('\n\n')
        .map((p) =>
          p.startsWith('## ')
            ? `<h2>${p.slice(3)}</h2>`
            : p.startsWith('# ')
              ? `<h1>${p.slice(2)}</h1>`
              : p.startsWith('|')
                ? `<pre>${p}</pre>`
                : `<p>${p}</p>`,
        )
        .join('\n');
      add(
        'PUT',
        `/wp-json/wp/v2/posts/${int(10, 9000)}`,
        browser(pick(HOSTS.web), {
          mode: 'cors',
          contentType: 'application/json',
          extra: [['X-WP-Nonce', hex(10)]],
        }),
        json({ title: a.title, content: html, status: 'draft' }),
      );
    } else if (kind === 4) {
      const f = csvFile(Math.floor(target / 70));
      const boundary = boundaryFor('chrome');
      add(
        'POST',
        '/api/v1/imports',
        browser(h, {
          mode: 'cors',
          contentType: `multipart/form-data; boundary=${boundary}`,
          origin: `https://${h}`,
        }),
        multipart(boundary, [{ name: 'file', filename: f.name, type: 'text/csv', data: f.text }]),
      );
    } else if (kind === 5) {
      let nd = '';
      while (Buffer.byteLength(nd) < target) {
        nd += `${json({ index: { _index: pick(['logs-app', 'products', 'articles']), _id: uuid() } })}\n${json({ '@timestamp': iso(), service: pick(SERVICES), level: pick(['info', 'info', 'warn', 'error']), message: pick(['request completed', 'cache miss for key product:' + int(1, 9999), 'slow query: select from orders took ' + int(200, 3000) + 'ms', 'user logged in', 'retrying upstream call', 'job finished']), http: { method: pick(['GET', 'POST']), status: pick([200, 200, 201, 304, 404, 500]), path: pick(['/api/orders', '/api/cart', '/healthz', '/search']) }, duration_ms: int(1, 2000) })}\n`;
      }
      add(
        'POST',
        '/_bulk',
        apiClient(pick(['es.internal.example.net', 'opensearch.example.io']), {
          contentType: 'application/x-ndjson',
          ua: pick(['Filebeat/8.14.1', 'fluent-bit/3.0.7', 'Logstash/8.14.0', 'elasticsearch-py/8.14.0']),
        }),
        nd,
      );
    } else if (kind === 6) {
      const batch = [];
      while (Buffer.byteLength(json(batch)) < target) {
        batch.push({
          type: pick(['track', 'page', 'identify']),
          event: pick([
            'Product Viewed',
            'Checkout Started',
            'Order Completed',
            'Signed Up',
            'Search Performed',
          ]),
          anonymousId: uuid(),
          userId: chance(0.5) ? String(int(1, 99999)) : undefined,
          properties: {
            product_id: int(1, 99999),
            query: chance(0.3) ? pick(['union jack', 'select plan', 'drop table']) : undefined,
            path: pick(['/', '/products', '/cart']),
            referrer: pick(['https://www.example.org/', '', 'https://news.example.net/article']),
          },
          context: { locale: pick(LOCALES), userAgent: browserProfile().ua },
          timestamp: iso(),
          messageId: uuid(),
        });
      }
      add(
        'POST',
        '/v1/batch',
        apiClient(pick(['events.example.com', 'api.segment.example', 'collect.example.net']), {
          contentType: 'application/json',
          auth: basicAuth(alnum(32), ''),
          ua: 'analytics-node/2.1.0',
        }),
        json({ batch, sentAt: iso() }),
      );
    } else if (kind === 7) {
      const spans = [];
      while (Buffer.byteLength(json(spans)) < target) {
        spans.push({
          traceId: hex(32),
          spanId: hex(16),
          parentSpanId: chance(0.7) ? hex(16) : '',
          name: pick(['GET /api/orders', 'SELECT orders', 'redis GET', 'POST /checkout', 'render page']),
          kind: pick([1, 2, 3]),
          startTimeUnixNano: String(BigInt(unix()) * 1000000000n),
          endTimeUnixNano: String(BigInt(unix()) * 1000000000n + BigInt(int(1, 900)) * 1000000n),
          attributes: [
            { key: 'http.route', value: { stringValue: pick(['/api/orders/:id', '/checkout', '/search']) } },
            { key: 'db.system', value: { stringValue: pick(['postgresql', 'redis', 'mysql']) } },
          ],
          status: { code: pick([0, 1, 2]) },
        });
      }
      add(
        'POST',
        '/v1/traces',
        apiClient(pick(['otel-collector.internal.example.net:4318', 'otlp.example.com']), {
          contentType: 'application/json',
          auth: false,
          ua: 'OTel-OTLP-Exporter-JavaScript/0.52.1',
        }),
        json({
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: pick(SERVICES) } }] },
              scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-http' }, spans }],
            },
          ],
        }),
      );
    } else if (kind === 8) {
      const ops = [];
      while (Buffer.byteLength(json(ops)) < target)
        ops.push({
          sku: `${pick(['HX', 'GT'])}-${int(1000, 99999)}`,
          quantity: int(0, 500),
          location: pick(['LHR1', 'FRA2', 'MAD1']),
          updatedAt: iso(),
        });
      add(
        'POST',
        '/graphql',
        apiClient(h, { contentType: 'application/json' }),
        json({
          operationName: 'BulkInventory',
          query:
            'mutation BulkInventory($items: [InventoryInput!]!) { inventoryBulkSet(items: $items) { updated errors { sku message } } }',
          variables: { items: ops },
        }),
      );
    } else {
      const streams = [];
      while (Buffer.byteLength(json(streams)) < target)
        streams.push([
          String(BigInt(unix()) * 1000000000n),
          `level=${pick(['info', 'warn', 'error'])} msg="${pick(['request done', 'select took too long', 'user signed in', 'sleeping 5s before retry', 'cache warmed'])}" path=${pick(['/api/orders', '/login', '/search'])} status=${pick([200, 201, 404, 500])} duration=${int(1, 900)}ms`,
        ]);
      add(
        'POST',
        '/loki/api/v1/push',
        apiClient(pick(['loki.example.net', 'logs.monitoring.example']), {
          contentType: 'application/json',
          auth: false,
          ua: pick(['promtail/2.9.8', 'GrafanaAgent/v0.40.2', 'Alloy/v1.2.0']),
        }),
        json({ streams: [{ stream: { app: pick(SERVICES), env: pick(ENVS) }, values: streams }] }),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Webhooks

const WEBHOOK_SECRET = 'wafgen-benign-webhook-secret';
function ghRepo() {
  const [owner, name] = pick(REPOS);
  return {
    id: int(1e6, 9e8),
    node_id: `R_${alnum(16)}`,
    name,
    full_name: `${owner}/${name}`,
    private: chance(0.6),
    owner: { login: owner, id: int(1e5, 9e7), type: 'Organization' },
    html_url: `https://github.example.com/${owner}/${name}`,
    default_branch: 'main',
  };
}
const ghUser = () => {
  const p = person();
  return { login: p.user.replace('.', '-'), id: int(1e5, 9e7), type: 'User', site_admin: false };
};
function githubEvent() {
  const repo = ghRepo();
  const sender = ghUser();
  return pick([
    () => [
      'push',
      {
        ref: `refs/heads/${pick(['main', 'develop', 'feature/checkout-v2', 'fix/select-all'])}`,
        before: hex(40),
        after: hex(40),
        repository: repo,
        pusher: { name: sender.login, email: person().email },
        sender,
        commits: Array.from({ length: int(1, 4) }, () => ({
          id: hex(40),
          message: pick([
            'Fix null check in OrderService',
            "Merge branch 'main' into feature/x",
            'Bump axios from 1.6.8 to 1.7.2',
            'Drop unused union type; select only needed columns',
            'docs: explain sleep() units',
            'chore(ci): cache npm',
          ]),
          timestamp: iso(),
          author: { name: person().name, email: person().email },
          added: [],
          removed: [],
          modified: [pick(['src/index.ts', 'README.md', 'package.json'])],
        })),
      },
    ],
    () => [
      'pull_request',
      {
        action: pick(['opened', 'synchronize', 'closed', 'reopened', 'ready_for_review']),
        number: int(1, 4000),
        pull_request: {
          title: pick([
            'Add retry to webhook sender',
            'Refactor SQL builder (no more string concat)',
            'Upgrade to Node 20',
            'Fix alert() in settings page',
          ]),
          body: pick(['Closes #' + int(1, 999), '## Summary\n- adds tests\n- removes dead code', '']),
          state: 'open',
          draft: chance(0.2),
          head: { ref: 'feature/' + lowerAlnum(6), sha: hex(40) },
          base: { ref: 'main', sha: hex(40) },
          user: sender,
        },
        repository: repo,
        sender,
      },
    ],
    () => [
      'issues',
      {
        action: pick(['opened', 'labeled', 'closed', 'assigned']),
        issue: {
          number: int(1, 4000),
          title: pick([
            'Crash on startup',
            'Typo in README',
            'Select dropdown misaligned on Safari',
            'Exec dashboard slow',
          ]),
          body: cap(pick(PROSE_CORE)()),
          labels: [{ name: pick(TAGS) }],
          user: sender,
        },
        repository: repo,
        sender,
      },
    ],
    () => [
      'issue_comment',
      {
        action: 'created',
        issue: { number: int(1, 4000), title: 'Flaky test in CI' },
        comment: { id: int(1e6, 9e9), body: codeComment().md, user: sender },
        repository: repo,
        sender,
      },
    ],
    () => [
      'workflow_run',
      {
        action: pick(['completed', 'requested', 'in_progress']),
        workflow_run: {
          id: int(1e8, 9e9),
          name: pick(['CI', 'Deploy', 'Nightly']),
          head_branch: 'main',
          head_sha: hex(40),
          status: 'completed',
          conclusion: pick(['success', 'failure', 'cancelled']),
          run_number: int(1, 9000),
        },
        repository: repo,
        sender,
      },
    ],
    () => [
      'release',
      {
        action: 'published',
        release: {
          tag_name: `v${int(1, 5)}.${int(0, 30)}.${int(0, 9)}`,
          name: `Release ${int(1, 5)}.${int(0, 30)}`,
          body: "## What's changed\n* Faster exports\n* Fixed O'Brien name parsing\n* Dropped Node 16",
          draft: false,
          prerelease: chance(0.2),
        },
        repository: repo,
        sender,
      },
    ],
    () => [
      'ping',
      {
        zen: pick([
          'Keep it logically awesome.',
          'Design for failure.',
          'Approachable is better than simple.',
          'Mind your words, they are important.',
        ]),
        hook_id: int(1e6, 9e8),
        hook: { type: 'Repository', events: ['push', 'pull_request'], active: true },
        repository: repo,
        sender,
      },
    ],
    () => [
      'check_suite',
      {
        action: 'completed',
        check_suite: {
          id: int(1e8, 9e9),
          head_branch: 'main',
          head_sha: hex(40),
          status: 'completed',
          conclusion: pick(['success', 'failure']),
        },
        repository: repo,
        sender,
      },
    ],
  ])();
}
function stripeEvent() {
  const type = pick([
    'payment_intent.succeeded',
    'invoice.paid',
    'customer.subscription.updated',
    'charge.refunded',
    'checkout.session.completed',
    'invoice.payment_failed',
    'customer.created',
    'payout.paid',
  ]);
  const cust = `cus_${alnum(14)}`;
  const amount = int(100, 200000);
  const objects = {
    'payment_intent.succeeded': {
      id: `pi_${alnum(24)}`,
      object: 'payment_intent',
      amount,
      currency: pick(['usd', 'eur', 'gbp']),
      customer: cust,
      status: 'succeeded',
      description: pick(['Order #' + int(1000, 99999), 'Team plan — annual', null]),
      metadata: { order_id: String(int(1000, 99999)) },
    },
    'invoice.paid': {
      id: `in_${alnum(24)}`,
      object: 'invoice',
      customer: cust,
      amount_paid: amount,
      currency: 'eur',
      status: 'paid',
      lines: { data: [{ description: '5 × Pro seat (at €12.00 / month)', amount }] },
    },
    'customer.subscription.updated': {
      id: `sub_${alnum(24)}`,
      object: 'subscription',
      customer: cust,
      status: pick(['active', 'past_due', 'trialing']),
      items: {
        data: [
          {
            price: { id: `price_${alnum(24)}`, nickname: pick(['Pro monthly', 'Team annual']) },
            quantity: int(1, 50),
          },
        ],
      },
      cancel_at_period_end: chance(0.2),
    },
    'charge.refunded': {
      id: `ch_${alnum(24)}`,
      object: 'charge',
      amount,
      amount_refunded: amount,
      currency: 'gbp',
      refunded: true,
      receipt_email: person().email,
    },
    'checkout.session.completed': {
      id: `cs_test_${alnum(40)}`,
      object: 'checkout.session',
      amount_total: amount,
      currency: 'usd',
      customer_details: { email: person().email, name: person().name, address: { country: pick(CITIES)[1] } },
      payment_status: 'paid',
      success_url: `https://${host('web')}/thanks?session_id={CHECKOUT_SESSION_ID}`,
    },
    'invoice.payment_failed': {
      id: `in_${alnum(24)}`,
      object: 'invoice',
      customer: cust,
      attempt_count: int(1, 4),
      next_payment_attempt: unix(),
    },
    'customer.created': {
      id: cust,
      object: 'customer',
      email: person().email,
      name: person().name,
      preferred_locales: [pick(['en', 'de', 'fr'])],
    },
    'payout.paid': {
      id: `po_${alnum(24)}`,
      object: 'payout',
      amount,
      currency: 'eur',
      arrival_date: unix(),
      statement_descriptor: 'EXAMPLE PAYOUT',
    },
  };
  return {
    id: `evt_${alnum(24)}`,
    object: 'event',
    api_version: pick(['2024-06-20', '2024-10-28.acacia', '2025-03-31.basil']),
    created: unix(),
    data: { object: objects[type] },
    livemode: false,
    pending_webhooks: 1,
    request: { id: `req_${alnum(14)}`, idempotency_key: uuid() },
    type,
  };
}
function slackPayload() {
  return pick([
    () => [
      'json',
      {
        token: alnum(24),
        team_id: `T${alnum(8).toUpperCase()}`,
        api_app_id: `A${alnum(10).toUpperCase()}`,
        event: {
          type: 'message',
          channel: `C${alnum(8).toUpperCase()}`,
          user: `U${alnum(8).toUpperCase()}`,
          text: pick([
            'deploy finished ✅',
            'can someone review <https://github.example.com/acme/web-frontend/pull/42|#42>?',
            "who's on call tonight?",
            'alert: disk 90% on db-2 (resolved)',
            'select * from lunch where place = "ramen" :ramen:',
          ]),
          ts: `${unix()}.${digits(6)}`,
          channel_type: 'channel',
        },
        type: 'event_callback',
        event_id: `Ev${alnum(10).toUpperCase()}`,
        event_time: unix(),
      },
    ],
    () => ['json', { token: alnum(24), challenge: alnum(48), type: 'url_verification' }],
    () => [
      'form',
      [
        ['token', alnum(24)],
        ['team_id', `T${alnum(8).toUpperCase()}`],
        ['team_domain', pick(['acme', 'globex-eng', 'example'])],
        ['channel_id', `C${alnum(8).toUpperCase()}`],
        ['channel_name', pick(['deploys', 'general', 'ops'])],
        ['user_id', `U${alnum(8).toUpperCase()}`],
        ['user_name', person().user],
        ['command', pick(['/deploy', '/oncall', '/poll', '/remind', '/standup'])],
        [
          'text',
          pick([
            'api staging',
            'who',
            '"Lunch?" "Pizza" "Sushi" "Tacos"',
            'me to drink water in 1 hour',
            'yesterday: fixed select bug; today: union report',
          ]),
        ],
        ['api_app_id', `A${alnum(10).toUpperCase()}`],
        ['response_url', `https://hooks.slack.example/commands/T${alnum(8)}/${digits(13)}/${alnum(24)}`],
        ['trigger_id', `${digits(13)}.${digits(12)}.${hex(32)}`],
      ],
    ],
    () => [
      'form',
      [
        [
          'payload',
          json({
            type: 'block_actions',
            user: { id: `U${alnum(8).toUpperCase()}`, username: person().user },
            actions: [
              {
                action_id: pick(['approve', 'deny', 'snooze']),
                block_id: alnum(5),
                value: pick(['deploy-' + int(100, 999), 'incident-' + int(1, 99)]),
                type: 'button',
              },
            ],
            response_url: `https://hooks.slack.example/actions/T${alnum(8)}/${digits(13)}/${alnum(24)}`,
          }),
        ],
      ],
    ],
  ])();
}

function genWebhook(n) {
  begin('webhook');
  for (let i = 0; i < n; i++) {
    const kind = pick([
      'github',
      'github',
      'github',
      'stripe',
      'stripe',
      'stripe',
      'slack',
      'slack',
      'gitlab',
      'shopify',
      'twilio',
      'sendgrid',
      'pagerduty',
      'jira',
      'bitbucket',
      'docker',
      'sentry',
      'mailgun',
      'typeform',
    ]);
    const h = host(pick(['api', 'app']));
    const path = (def) =>
      pick([
        def,
        `/webhooks/${kind}`,
        `/api/webhooks/${kind}`,
        `/hooks/${kind}/${alnum(12)}`,
        `/integrations/${kind}/events`,
      ]);
    switch (kind) {
      case 'github': {
        const [event, payload] = githubEvent();
        const body = json(payload);
        add(
          'POST',
          path('/github/webhook'),
          [
            ['Host', h],
            ['User-Agent', `GitHub-Hookshot/${hex(7)}`],
            ['Accept', '*/*'],
            ['X-GitHub-Delivery', uuid()],
            ['X-GitHub-Event', event],
            ['X-GitHub-Hook-ID', String(int(1e8, 9e8))],
            ['X-GitHub-Hook-Installation-Target-ID', String(int(1e6, 9e8))],
            ['X-GitHub-Hook-Installation-Target-Type', 'repository'],
            ['X-Hub-Signature', `sha1=${createHmac('sha1', WEBHOOK_SECRET).update(body).digest('hex')}`],
            ['X-Hub-Signature-256', `sha256=${hmacHex(WEBHOOK_SECRET, body)}`],
            ['Content-Type', 'application/json'],
          ],
          body,
        );
        break;
      }
      case 'stripe': {
        const body = pretty(stripeEvent());
        const t = unix();
        add(
          'POST',
          path('/stripe/webhook'),
          [
            ['Host', h],
            ['User-Agent', 'Stripe/1.0 (+https://stripe.com/docs/webhooks)'],
            ['Content-Type', 'application/json; charset=utf-8'],
            ['Cache-Control', 'no-cache'],
            ['Accept', '*/*; q=0.5, application/xml'],
            ['Stripe-Signature', `t=${t},v1=${hmacHex(WEBHOOK_SECRET, `${t}.${body}`)}`],
          ],
          body,
        );
        break;
      }
      case 'slack': {
        const [type, payload] = slackPayload();
        const body = type === 'json' ? json(payload) : form(payload);
        const t = unix();
        add(
          'POST',
          path('/slack/events'),
          [
            ['Host', h],
            ['User-Agent', 'Slackbot 1.0 (+https://api.slack.com/robots)'],
            ['Accept', '*/*'],
            ['Accept-Encoding', 'gzip,deflate'],
            ['Content-Type', type === 'json' ? 'application/json' : 'application/x-www-form-urlencoded'],
            ['X-Slack-Request-Timestamp', String(t)],
            ['X-Slack-Signature', `v0=${hmacHex(WEBHOOK_SECRET, `v0:${t}:${body}`)}`],
          ],
          body,
        );
        break;
      }
      case 'gitlab': {
        const ev = pick([
          [
            'Push Hook',
            {
              object_kind: 'push',
              ref: 'refs/heads/main',
              checkout_sha: hex(40),
              user_username: person().user,
              project: { path_with_namespace: pick(REPOS).join('/') },
              commits: [
                {
                  id: hex(40),
                  message: 'Fix select-all checkbox\n\nCloses #' + int(1, 999),
                  author: { name: person().name, email: person().email },
                },
              ],
              total_commits_count: 1,
            },
          ],
          [
            'Merge Request Hook',
            {
              object_kind: 'merge_request',
              user: { username: person().user },
              object_attributes: {
                iid: int(1, 900),
                title: pick([
                  'Draft: new exec dashboard',
                  'Resolve "drop table in migration"',
                  'Update Dockerfile',
                ]),
                state: 'opened',
                action: pick(['open', 'update', 'merge']),
                source_branch: 'feature/' + lowerAlnum(5),
                target_branch: 'main',
              },
            },
          ],
          [
            'Pipeline Hook',
            {
              object_kind: 'pipeline',
              object_attributes: {
                id: int(1e5, 9e6),
                ref: 'main',
                status: pick(['success', 'failed', 'running']),
                duration: int(30, 3000),
              },
            },
          ],
        ]);
        add(
          'POST',
          path('/gitlab/webhook'),
          [
            ['Host', h],
            ['User-Agent', `GitLab/${int(16, 18)}.${int(0, 11)}.${int(0, 5)}`],
            ['Content-Type', 'application/json'],
            ['X-Gitlab-Event', ev[0]],
            ['X-Gitlab-Token', alnum(32)],
            ['X-Gitlab-Instance', 'https://gitlab.example.com'],
            ['X-Gitlab-Event-UUID', uuid()],
          ],
          json(ev[1]),
        );
        break;
      }
      case 'shopify': {
        const body = json({
          id: int(1e12, 9e12),
          email: person().email,
          created_at: iso(),
          currency: pick(CURRENCIES),
          total_price: String(money(5, 900)),
          line_items: [{ title: pick(PRODUCTS)[0], quantity: int(1, 3), price: String(money(5, 300)) }],
          shipping_address: address(),
          note: pick(NOTES),
        });
        add(
          'POST',
          path('/shopify/webhooks/orders-create'),
          [
            ['Host', h],
            ['User-Agent', 'Shopify-Captain-Hook'],
            ['Accept', '*/*'],
            ['Content-Type', 'application/json'],
            [
              'X-Shopify-Topic',
              pick(['orders/create', 'orders/paid', 'products/update', 'customers/create']),
            ],
            ['X-Shopify-Shop-Domain', `${pick(['acme', 'lumiere-store', 'nordwind'])}.myshopify.example`],
            ['X-Shopify-Hmac-Sha256', hmacB64(WEBHOOK_SECRET, body)],
            ['X-Shopify-API-Version', '2025-04'],
            ['X-Shopify-Webhook-Id', uuid()],
          ],
          body,
        );
        break;
      }
      case 'twilio': {
        const body = form([
          ['ToCountry', 'GB'],
          ['SmsMessageSid', `SM${hex(32)}`],
          ['NumMedia', '0'],
          ['SmsSid', `SM${hex(32)}`],
          [
            'Body',
            pick([
              'YES',
              'STOP',
              'Running 10 mins late, sorry!',
              'Can I move my appointment to Thursday?',
              "What's my order status?",
              'Gracias 👍',
            ]),
          ],
          ['From', `+44${digits(10)}`],
          ['To', `+44${digits(10)}`],
          ['MessageSid', `SM${hex(32)}`],
          ['AccountSid', `AC${hex(32)}`],
          ['ApiVersion', '2010-04-01'],
        ]);
        add(
          'POST',
          path('/twilio/sms'),
          [
            ['Host', h],
            ['User-Agent', 'TwilioProxy/1.1'],
            ['Content-Type', 'application/x-www-form-urlencoded'],
            ['Accept', '*/*'],
            ['X-Twilio-Signature', hmacB64(WEBHOOK_SECRET, body)],
            ['I-Twilio-Idempotency-Token', uuid()],
          ],
          body,
        );
        break;
      }
      case 'sendgrid':
        add(
          'POST',
          path('/sendgrid/events'),
          [
            ['Host', h],
            ['User-Agent', 'SendGrid Event API'],
            ['Content-Type', 'application/json'],
            ['X-Twilio-Email-Event-Webhook-Signature', b64(bytes(70))],
            ['X-Twilio-Email-Event-Webhook-Timestamp', String(unix())],
          ],
          json(
            Array.from({ length: int(1, 6) }, () => ({
              email: person().email,
              timestamp: unix(),
              event: pick(['delivered', 'open', 'click', 'bounce', 'unsubscribe']),
              sg_event_id: b64url(bytes(16)),
              sg_message_id: `${alnum(22)}.filter${digits(4)}`,
              category: [pick(['newsletter', 'receipt', 'password-reset'])],
              ...(chance(0.3)
                ? { url: `https://${host('web')}/blog/${lowerAlnum(6)}?utm_source=newsletter` }
                : {}),
            })),
          ),
        );
        break;
      case 'pagerduty':
        add(
          'POST',
          path('/pagerduty'),
          [
            ['Host', h],
            ['User-Agent', 'PagerDuty-Webhook/V3.0'],
            ['Content-Type', 'application/json'],
            ['X-PagerDuty-Signature', `v1=${hex(64)}`],
            ['X-Webhook-Id', uuid()],
          ],
          json({
            event: {
              id: alnum(14),
              event_type: pick(['incident.triggered', 'incident.acknowledged', 'incident.resolved']),
              resource_type: 'incident',
              occurred_at: iso(),
              data: {
                id: alnum(14).toUpperCase(),
                type: 'incident',
                title: pick([
                  'High error rate on checkout',
                  'Disk almost full on db-2',
                  'SSL certificate expires in 7 days',
                  'Sleep job stuck for 2h',
                ]),
                service: { summary: pick(SERVICES) },
                urgency: pick(['high', 'low']),
              },
            },
          }),
        );
        break;
      case 'jira':
        add(
          'POST',
          path('/jira/webhook'),
          [
            ['Host', h],
            ['User-Agent', 'Atlassian Webhook HTTP Client'],
            ['Content-Type', 'application/json; charset=UTF-8'],
            ['X-Atlassian-Webhook-Identifier', String(int(1e5, 9e6))],
          ],
          json({
            timestamp: unix() * 1000,
            webhookEvent: pick(['jira:issue_created', 'jira:issue_updated', 'comment_created']),
            issue: {
              key: `${pick(JIRA_PROJECTS)}-${int(1, 9000)}`,
              fields: {
                summary: pick([
                  'Select box resets after save',
                  'Drop legacy union report',
                  'Exec dashboard shows NaN',
                  "Name with apostrophe (O'Neil) not saved",
                ]),
                status: { name: pick(['To Do', 'In Progress', 'Done']) },
                priority: { name: pick(['High', 'Medium']) },
              },
            },
            user: { displayName: person().name },
          }),
        );
        break;
      case 'bitbucket':
        add(
          'POST',
          path('/bitbucket'),
          [
            ['Host', h],
            ['User-Agent', 'Bitbucket-Webhooks/2.0'],
            ['Content-Type', 'application/json'],
            ['X-Event-Key', pick(['repo:push', 'pullrequest:created', 'pullrequest:fulfilled'])],
            ['X-Request-UUID', uuid()],
            ['X-Hook-UUID', uuid()],
          ],
          json({
            repository: { full_name: pick(REPOS).join('/') },
            actor: { display_name: person().name },
            push: {
              changes: [
                {
                  new: {
                    name: 'main',
                    type: 'branch',
                    target: {
                      hash: hex(40),
                      message: 'Merged in feature/select-fix (pull request #' + int(1, 900) + ')',
                    },
                  },
                },
              ],
            },
          }),
        );
        break;
      case 'docker':
        add(
          'POST',
          path('/dockerhub'),
          [
            ['Host', h],
            ['User-Agent', 'Go-http-client/1.1'],
            ['Content-Type', 'application/json'],
          ],
          json({
            callback_url: `https://registry.hub.example/u/acme/${pick(SERVICES)}/hook/${hex(20)}/`,
            push_data: {
              pushed_at: unix(),
              pusher: person().user,
              tag: pick(['latest', `v${int(1, 4)}.${int(0, 20)}.${int(0, 9)}`, 'main-' + hex(7)]),
            },
            repository: { repo_name: `acme/${pick(SERVICES)}`, namespace: 'acme', status: 'Active' },
          }),
        );
        break;
      case 'sentry':
        add(
          'POST',
          path('/sentry'),
          [
            ['Host', h],
            ['User-Agent', 'sentry'],
            ['Content-Type', 'application/json'],
            ['Sentry-Hook-Resource', pick(['issue', 'event_alert', 'error'])],
            ['Sentry-Hook-Timestamp', String(unix())],
            ['Sentry-Hook-Signature', hex(64)],
          ],
          json({
            action: pick(['created', 'resolved', 'triggered']),
            data: {
              issue: {
                id: String(int(1e6, 9e9)),
                title: pick([
                  "TypeError: Cannot read properties of undefined (reading 'map')",
                  'java.lang.NullPointerException',
                  'OperationalError: canceling statement due to statement timeout',
                ]),
                culprit: pick([
                  'OrderList in src/components/OrderList.jsx',
                  'com.acme.orders.OrderService in notify',
                  'jobs.export in process',
                ]),
                level: 'error',
                count: String(int(1, 9000)),
              },
            },
            actor: { type: 'application', name: 'Sentry' },
          }),
        );
        break;
      case 'mailgun':
        add(
          'POST',
          path('/mailgun/inbound'),
          [
            ['Host', h],
            ['User-Agent', 'mailgun/treq-22.2.0'],
            ['Content-Type', 'application/x-www-form-urlencoded'],
          ],
          form([
            ['recipient', `support@${pick(MAIL_DOMAINS)}`],
            ['sender', person().email],
            ['from', `${person().name} <${person().email}>`],
            [
              'subject',
              pick([
                'Re: Your order',
                'Question about union pricing',
                'Drop-off location?',
                'Invoice #' + int(1000, 9999),
              ]),
            ],
            ['body-plain', prose()],
            ['stripped-text', cap(pick(PROSE_CORE)())],
            ['timestamp', String(unix())],
            ['token', hex(50)],
            ['signature', hex(64)],
          ]),
        );
        break;
      default:
        add(
          'POST',
          path('/typeform'),
          [
            ['Host', h],
            ['User-Agent', 'Typeform Webhooks'],
            ['Content-Type', 'application/json'],
            ['Typeform-Signature', `sha256=${b64(bytes(32))}`],
          ],
          json({
            event_id: alnum(26),
            event_type: 'form_response',
            form_response: {
              form_id: alnum(8),
              submitted_at: iso(),
              answers: [
                {
                  type: 'text',
                  text: pick([
                    'Select menus are confusing on mobile',
                    'Loved the onboarding!',
                    "O'Brien — please call me back",
                  ]),
                  field: { id: alnum(12), type: 'long_text' },
                },
                {
                  type: 'choice',
                  choice: { label: pick(['Very satisfied', 'Neutral', 'Unsatisfied']) },
                  field: { id: alnum(12), type: 'multiple_choice' },
                },
                { type: 'email', email: person().email, field: { id: alnum(12), type: 'email' } },
              ],
            },
          }),
        );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// URLs in parameters

const SAFE_URLS = () =>
  pick([
    `https://${host('web')}/${pick(['', 'blog/' + slugify(sentenceWords(2, 5)), 'products/' + slug(pick(PRODUCTS)[0]), 'account/orders?page=2', 'checkout/success?order=' + int(10000, 99999)])}`,
    `https://${host('app')}/${pick(['dashboard', 'projects/' + int(1, 999) + '/board', 'settings/billing#invoices', 'reports?range=30d&tz=Europe%2FBerlin'])}`,
    `https://${host('cdn')}/${pick(['images', 'media', 'uploads/2025/06'])}/${pick(['hero', 'product', 'avatar', 'banner'])}-${lowerAlnum(6)}.${pick(['jpg', 'png', 'webp', 'avif'])}`,
    `https://www.youtube.example/watch?v=${b64url(bytes(8)).slice(0, 11)}`,
    `https://en.wikipedia.example/wiki/${pick(['Union_Station_(Toronto)', "O'Hare_International_Airport", 'SQL', 'Sleep', 'Drop_(liquid)', 'Script_(Unicode)'])}`,
    `https://docs.example.com/${pick(['guides/getting-started', 'api/v2/orders#create', 'faq?topic=billing'])}`,
    `https://news.example.net/${day().replace(/-/g, '/')}/${slugify(sentenceWords(3, 6))}`,
  ]);

function genUrlparam(n) {
  begin('urlparam');
  for (let i = 0; i < n; i++) {
    const kind = pick([
      'return',
      'return',
      'next-image',
      'img-proxy',
      'oembed',
      'unfurl',
      'share',
      'ga4',
      'click-track',
      'feed',
      'webhook-config',
      'logout',
      'cdn-cgi',
      'payment-urls',
      'login-continue',
    ]);
    const h = host(pick(['web', 'app']));
    switch (kind) {
      case 'return':
        add(
          'GET',
          `/${pick(['login', 'signin', 'auth/login', 'account/login', 'sso/start', 'session/new'])}?${qs([[pick(['returnUrl', 'return_to', 'redirect', 'next', 'continue', 'redirect_uri', 'ReturnUrl', 'callback', 'goto', 'dest']), chance(0.5) ? pick(['/dashboard', '/account/settings?tab=security', '/orders/' + int(1000, 99999), '/cart', '/projects/' + int(1, 99) + '/issues?state=open']) : `https://${h}${pick(['/dashboard', '/account', '/checkout/payment'])}`]])}`,
          browser(h),
        );
        break;
      case 'next-image':
        add(
          'GET',
          `/_next/image?${qs([
            [
              'url',
              pick([
                `/images/${pick(['hero', 'team', 'product'])}-${lowerAlnum(4)}.${pick(['jpg', 'png'])}`,
                `https://${host('cdn')}/uploads/${lowerAlnum(8)}.jpg`,
              ]),
            ],
            ['w', pick([64, 128, 256, 384, 640, 750, 828, 1080, 1200, 1920])],
            ['q', pick([75, 80, 90])],
          ])}`,
          browser(h, { mode: 'no-cors', dest: 'image' }),
        );
        break;
      case 'img-proxy':
        add(
          'GET',
          pick([
            `/proxy/image?${qs([
              ['url', SAFE_URLS()],
              ['w', pick([200, 400, 800])],
              ['fit', pick(['cover', 'contain'])],
            ])}`,
            `/camo/${hex(40)}?${qs({ url: `https://${host('cdn')}/badges/${pick(['build', 'coverage', 'license'])}.svg` })}`,
            `/img?${qs([
              ['src', SAFE_URLS()],
              ['width', pick([320, 640])],
              ['format', 'webp'],
            ])}`,
            `/api/image-proxy?${qs({ url: SAFE_URLS() })}`,
          ]),
          browser(h, { mode: 'no-cors', dest: 'image' }),
        );
        break;
      case 'oembed':
        add(
          'GET',
          `/${pick(['oembed', 'api/oembed', 'wp-json/oembed/1.0/embed'])}?${qs([['url', SAFE_URLS()], ['format', 'json'], ...(chance(0.5) ? [['maxwidth', pick([480, 640, 800])]] : [])])}`,
          apiClient(h, {
            auth: false,
            ua: pick([
              'Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)',
              'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
              'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)',
              browserProfile().ua,
            ]),
          }),
        );
        break;
      case 'unfurl':
        add(
          'POST',
          pick(['/api/link-preview', '/api/unfurl', '/api/v1/embeds']),
          browser(host('app'), {
            mode: 'cors',
            contentType: 'application/json',
            origin: `https://${host('app')}`,
          }),
          json({ url: SAFE_URLS(), ...(chance(0.4) ? { maxWidth: 600 } : {}) }),
        );
        break;
      case 'share':
        add(
          'GET',
          `/${pick(['share', 'intent/tweet', 'sharer/sharer.php', 'shareArticle'])}?${qs([['url', SAFE_URLS()], ...(chance(0.6) ? [['text', pick(['Worth a read:', 'Check this out! <3', 'Great article on SQL & "select" performance', '¡Mira esto!'])]] : []), ...(chance(0.3) ? [['via', pick(['example', 'acme'])]] : [])])}`,
          browser(pick(['social.example.com', 'share.example.net', 'www.example.com']), {
            site: 'cross-site',
          }),
        );
        break;
      case 'ga4':
        add(
          'POST',
          `/g/collect?${qs([
            ['v', '2'],
            ['tid', `G-${alnum(10).toUpperCase()}`],
            ['gtm', `45je${alnum(5)}`],
            ['_p', String(int(1e9, 9e9))],
            ['cid', `${int(1e8, 2e9)}.${unix()}`],
            ['ul', pick(LOCALES).toLowerCase()],
            ['sr', pick(['1920x1080', '390x844', '1440x900'])],
            ['_s', String(int(1, 20))],
            ['dl', SAFE_URLS()],
            ['dr', pick(['https://www.example.org/', 'https://news.example.net/', ''])],
            [
              'dt',
              pick(['Home', 'Checkout – Step 2', 'Blog | Union Station history', "O'Brien & Sons — About"]),
            ],
            ['en', pick(['page_view', 'scroll', 'click', 'view_item'])],
          ])}`,
          browser(pick(['region1.analytics.example.com', 'www.analytics.example.com']), {
            mode: 'no-cors',
            contentType: 'text/plain;charset=UTF-8',
            site: 'cross-site',
            origin: `https://${h}`,
          }),
          '',
        );
        break;
      case 'click-track':
        add(
          'GET',
          pick([
            `/ls/click?${qs({ upn: b64url(bytes(int(60, 160))) })}`,
            `/c/${alnum(12)}?${qs([
              ['u', SAFE_URLS()],
              ['e', b64url(person().email)],
              ['utm_source', 'newsletter'],
              ['utm_medium', 'email'],
              ['utm_campaign', pick(['june_digest', 'spring-sale', 'product_update_42'])],
            ])}`,
            `/r?${qs([
              ['url', SAFE_URLS()],
              ['sig', hex(32)],
            ])}`,
          ]),
          browser(pick(['links.example.com', 'click.mail.example.net', 'email.example.org']), {
            site: 'none',
          }),
        );
        break;
      case 'feed':
        add(
          'POST',
          pick(['/api/feeds', '/subscriptions', '/reader/api/0/subscription/quickadd']),
          browser(host('app'), {
            mode: 'cors',
            contentType: 'application/x-www-form-urlencoded',
            origin: `https://${host('app')}`,
          }),
          form([
            [
              'quickadd',
              pick([
                `https://${host('web')}/feed/`,
                `https://blog.example.org/rss.xml`,
                `https://news.example.net/atom.xml`,
                `https://podcasts.example.com/show/${lowerAlnum(6)}/feed.xml`,
              ]),
            ],
          ]),
        );
        break;
      case 'webhook-config':
        add(
          pick(['POST', 'PUT']),
          pick(['/api/v1/webhooks', '/api/v1/integrations/endpoint', '/api/hooks']),
          apiClient(host('api'), { contentType: 'application/json' }),
          json({
            url: `https://${pick(['hooks.example.org', 'api.acme.example', 'automation.example.net'])}/${pick(['incoming', 'webhooks', 'events'])}/${alnum(16)}`,
            events: some(
              ['order.created', 'order.updated', 'invoice.paid', 'customer.deleted', 'ticket.closed'],
              1,
              3,
            ),
            secret: alnum(32),
            active: true,
          }),
        );
        break;
      case 'logout':
        add(
          'GET',
          `/${pick(['logout', 'signout', 'auth/logout', 'account/logout'])}?${qs([[pick(['returnTo', 'redirect_uri', 'post_logout_redirect_uri', 'next']), `https://${h}/${pick(['', 'goodbye', 'login?loggedOut=true'])}`]])}`,
          browser(h),
        );
        break;
      case 'cdn-cgi':
        add(
          'GET',
          `/cdn-cgi/image/${pick(['width=400,quality=80', 'fit=cover,width=1200,height=630', 'format=auto,width=256'])}/${pick(['https://' + host('cdn') + '/img/' + lowerAlnum(8) + '.jpg', 'uploads/' + lowerAlnum(8) + '.png'])}`,
          browser(h, { mode: 'no-cors', dest: 'image' }),
        );
        break;
      case 'payment-urls':
        add(
          'POST',
          '/api/checkout/sessions',
          apiClient(host('api'), { contentType: 'application/x-www-form-urlencoded' }),
          form([
            ['mode', pick(['payment', 'subscription'])],
            ['success_url', `https://${h}/checkout/success?session_id={CHECKOUT_SESSION_ID}`],
            ['cancel_url', `https://${h}/cart`],
            ['line_items[0][price]', `price_${alnum(24)}`],
            ['line_items[0][quantity]', String(int(1, 5))],
            ['customer_email', person().email],
          ]),
        );
        break;
      default:
        add(
          'GET',
          `/${pick(['accounts/continue', 'ServiceLogin', 'cas/login'])}?${qs([[pick(['continue', 'service', 'followup']), SAFE_URLS()], ...(chance(0.5) ? [['hl', pick(['en', 'de', 'fr'])]] : [])])}`,
          browser(pick(HOSTS.idp)),
        );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Dotted paths and static assets

function genStatic(n) {
  begin('static');
  const assets = [
    () => [
      `/_next/static/chunks/${pick(['pages/_app', 'framework', 'main', 'webpack', 'pages/index', 'app/layout', 'app/(shop)/products/[slug]/page'])}-${hex(16)}.js`,
      'script',
    ],
    () => [`/_next/static/css/${hex(16)}.css`, 'style'],
    () => [`/_next/static/${alnum(21)}/_buildManifest.js`, 'script'],
    () => [`/static/js/main.${hex(8)}.js`, 'script'],
    () => [`/static/js/${int(100, 999)}.${hex(8)}.chunk.js`, 'script'],
    () => [`/static/css/main.${hex(8)}.css`, 'style'],
    () => [`/assets/index-${b64url(bytes(6))}.js`, 'script'],
    () => [`/assets/${pick(['vendor', 'index', 'Dashboard', 'Settings'])}-${b64url(bytes(6))}.css`, 'style'],
    () => [`/build/app.css?v=${unix()}`, 'style'],
    () => [
      `/wp-content/themes/${pick(['twentytwentyfour', 'astra', 'generatepress', 'kadence'])}/style.css?ver=${int(1, 4)}.${int(0, 9)}`,
      'style',
    ],
    () => [`/wp-includes/js/jquery/jquery.min.js?ver=3.7.1`, 'script'],
    () => [
      `/wp-content/plugins/${pick(['woocommerce', 'contact-form-7', 'elementor', 'wordpress-seo'])}/assets/${pick(['js/frontend.min.js', 'css/frontend.min.css', 'js/index.js'])}?ver=${int(5, 9)}.${int(0, 9)}.${int(0, 9)}`,
      'script',
    ],
    () => [
      `/wp-content/uploads/${int(2019, 2025)}/${String(int(1, 12)).padStart(2, '0')}/${pick(['IMG_', 'DSC_', 'photo-'])}${digits(4)}-${pick(['300x200', '1024x683', '768x512', 'scaled'])}.${pick(['jpg', 'jpeg', 'webp'])}`,
      'image',
    ],
    () => [
      `/sites/default/files/styles/${pick(['large', 'medium', 'thumbnail'])}/public/${int(2020, 2025)}-${String(int(1, 12)).padStart(2, '0')}/${lowerAlnum(8)}.jpg?itok=${b64url(bytes(6))}`,
      'image',
    ],
    () => [
      `/media/${pick(['templates/site/cassiopeia', 'system'])}/css/${pick(['template.min.css', 'joomla-fontawesome.min.css'])}?${hex(32)}`,
      'style',
    ],
    () => [
      `/fonts/${pick(['Inter', 'Roboto', 'SourceSans3', 'NotoSansJP', 'IBMPlexMono'])}-${pick(['Regular', 'Bold', 'Medium', 'Variable'])}.${pick(['woff2', 'woff'])}`,
      'font',
    ],
    () => [
      `/img/${pick(['logo.v2.final', 'brand.2025', 'icon.maskable', 'og.default'])}.${pick(['svg', 'png'])}`,
      'image',
    ],
    () => [
      `/products/${slug(pick(PRODUCTS)[0])}.${pick(['front', 'back', 'detail'])}.${pick(['800x800', '1600x1600'])}.${pick(['webp', 'jpg', 'avif'])}`,
      'image',
    ],
    () => [`/js/${pick(['app', 'vendor', 'runtime'])}.${hex(8)}.min.js.map`, 'empty'],
    () => [pick(['/manifest.webmanifest', '/site.webmanifest', '/manifest.json']), 'manifest'],
    () => [
      pick([
        '/apple-touch-icon.png',
        '/apple-touch-icon-precomposed.png',
        '/apple-touch-icon-180x180.png',
        '/favicon-32x32.png',
        '/favicon.svg',
        '/android-chrome-192x192.png',
        '/safari-pinned-tab.svg',
        '/mstile-150x150.png',
      ]),
      'image',
    ],
    () => [
      pick([
        '/browserconfig.xml',
        '/ads.txt',
        '/app-ads.txt',
        '/humans.txt',
        '/sitemap_index.xml',
        '/sitemap-posts.xml',
        '/feed.xml',
        '/rss.xml',
        '/opensearch.xml',
      ]),
      'document',
    ],
    () => [
      pick([
        '/.well-known/apple-app-site-association',
        '/.well-known/assetlinks.json',
        '/.well-known/change-password',
        '/.well-known/openid-configuration',
        '/.well-known/webfinger?resource=acct%3A' + ascii(pick(FIRST)) + '%40example.com',
        '/.well-known/nodeinfo',
        '/.well-known/mta-sts.txt',
        '/.well-known/traffic-advice',
      ]),
      'empty',
    ],
    () => [
      pick(['/sw.js', '/service-worker.js', `/workbox-${hex(8)}.js`, '/firebase-messaging-sw.js']),
      'serviceworker',
    ],
    () => [`/locales/${pick(LOCALES)}/${pick(['translation', 'common', 'checkout'])}.json`, 'empty'],
    () => [
      `/docs/v${int(1, 5)}.${int(0, 20)}.${int(0, 9)}/${pick(['api.html', 'getting-started.html', 'changelog.html', 'reference/config.html'])}`,
      'document',
    ],
    () => [
      `/docs/${pick(['3.11', '3.12', '3.13'])}/library/${pick(['os.path', 'urllib.parse', 'json', 'sqlite3', 'asyncio-task'])}.html`,
      'document',
    ],
    () => [
      `/releases/download/v${int(1, 5)}.${int(0, 20)}.${int(0, 9)}/${pick(['app', 'cli', 'agent'])}-${int(1, 5)}.${int(0, 20)}.${int(0, 9)}.${pick(['tar.gz', 'zip', 'dmg', 'msi', 'AppImage', 'deb'])}`,
      'document',
    ],
    () => [
      `/npm/${pick(['lodash@4.17.21/lodash.min.js', 'bootstrap@5.3.3/dist/css/bootstrap.min.css', 'chart.js@4.4.3/dist/chart.umd.min.js', 'dayjs@1.11.11/dayjs.min.js', '@fontsource/inter@5.0.18/index.css'])}`,
      'script',
    ],
    () => [
      `/ajax/libs/${pick(['font-awesome/6.5.2/css/all.min.css', 'jquery/3.7.1/jquery.min.js', 'highlight.js/11.9.0/highlight.min.js', 'leaflet/1.9.4/leaflet.css'])}`,
      'style',
    ],
    () => [
      `/maven2/org/apache/commons/commons-lang3/3.14.0/commons-lang3-3.14.0.${pick(['pom', 'jar', 'jar.sha1'])}`,
      'empty',
    ],
    () => [`/simple/${pick(['requests', 'numpy', 'django', 'fastapi'])}/`, 'empty'],
    () => [`/${pick(['@babel%2fcore', 'react', '@types%2fnode', 'typescript'])}`, 'empty'],
    () => [
      `/vod/${hex(12)}/${pick(['720p', '1080p', '480p'])}/segment_${String(int(0, 400)).padStart(5, '0')}.${pick(['ts', 'm4s'])}`,
      'video',
    ],
    () => [`/vod/${hex(12)}/${pick(['master.m3u8', 'index.m3u8', 'manifest.mpd'])}`, 'video'],
    () => [`/tiles/${int(2, 18)}/${int(0, 9000)}/${int(0, 9000)}.${pick(['png', 'pbf', 'webp'])}`, 'image'],
    () => [
      `/static/${pick(['admin', 'rest_framework', 'debug_toolbar'])}/${pick(['css/base.css', 'js/core.js', 'img/icon-yes.svg'])}`,
      'style',
    ],
    () => [`/public/build/${pick(['app', 'runtime', 'vendors'])}.${hex(20)}.js`, 'script'],
    () => [`/bundles/${pick(['jquery', 'bootstrap', 'modernizr'])}?v=${b64url(bytes(32))}`, 'script'],
    () => [`/WebResource.axd?d=${b64url(bytes(int(40, 90)))}&t=${int(6e17, 7e17)}`, 'script'],
    () => [`/ScriptResource.axd?d=${b64url(bytes(int(60, 120)))}&t=${hex(8)}`, 'script'],
  ];
  for (let i = 0; i < n; i++) {
    const [path, dest] = pick(assets)();
    const h = chance(0.5) ? host('cdn') : host('web');
    const extra = [];
    if (chance(0.25)) extra.push(['If-None-Match', `"${hex(int(8, 32))}"`]);
    if (chance(0.15)) extra.push(['If-Modified-Since', new Date((unix() - 86400 * 30) * 1000).toUTCString()]);
    if (dest === 'video' && chance(0.5)) extra.push(['Range', `bytes=${int(0, 9) * 1048576}-`]);
    if (dest === 'font') extra.push(['Origin', `https://${host('web')}`]);
    const method = chance(0.06) ? 'HEAD' : 'GET';
    if (['empty', 'document', 'serviceworker'].includes(dest) && chance(0.4)) {
      add(
        method,
        path,
        apiClient(h, {
          auth: false,
          accept: '*/*',
          ua: pick([
            'curl/8.7.1',
            'Wget/1.21.4',
            'pip/24.0 {"ci":null,"cpu":"x86_64","implementation":{"name":"CPython","version":"3.12.3"}}',
            'npm/10.8.1 node/v20.14.0 linux x64 workspaces/false',
            'Apache-Maven/3.9.7 (Java 21.0.3; Linux 6.5.0)',
            'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
            'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
            'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
            'AppleNewsBot',
            'Feedly/1.0 (+http://www.feedly.com/fetcher.html; 42 subscribers)',
          ]),
          extra,
        }),
      );
    } else {
      add(
        method,
        path,
        browser(h, {
          mode:
            dest === 'document' ? 'navigate' : dest === 'empty' || dest === 'manifest' ? 'cors' : 'no-cors',
          dest,
          extra,
          referer: `https://${host('web')}/`,
          cookie: h.startsWith('static') || h.startsWith('cdn') ? false : undefined,
        }),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// CORS preflights

function genCors(n) {
  begin('cors');
  const reqHeaders = [
    'authorization',
    'content-type',
    'x-request-id',
    'x-csrf-token',
    'x-requested-with',
    'traceparent',
    'baggage',
    'sentry-trace',
    'x-api-key',
    'x-amz-date',
    'x-amz-security-token',
    'x-amz-user-agent',
    'apollographql-client-name',
    'x-client-version',
    'idempotency-key',
    'accept-language',
    'x-tenant-id',
    'if-match',
  ];
  for (let i = 0; i < n; i++) {
    const origin =
      `https://${pick([...HOSTS.app, ...HOSTS.web, 'localhost:3000', 'localhost:5173', '127.0.0.1:8080', 'preview-' + lowerAlnum(6) + '.vercel.example'])}`
        .replace('https://localhost', 'http://localhost')
        .replace('https://127.', 'http://127.');
    const h = host(pick(['api', 'api', 'cdn']));
    const p = browserProfile();
    const path = pick([
      '/api/v1/orders',
      '/graphql',
      `/api/v1/users/${int(1, 9999)}`,
      '/v1/events',
      '/api/upload',
      `/api/v2/projects/${int(1, 99)}/tasks`,
      '/oauth/token',
      '/api/search',
      '/v1/batch',
      `/fonts/Inter-Variable.woff2`,
      '/api/v1/carts/current',
      '/collect',
    ]);
    if (i % 8 === 7) {
      // The actual cross-origin request that follows a preflight.
      add(
        'GET',
        `${path}${chance(0.5) ? `?${qs({ page: int(1, 9) })}` : ''}`,
        browser(h, {
          mode: 'cors',
          origin,
          site: 'cross-site',
          profile: p,
          referer: `${origin}/`,
          extra: [['Authorization', bearer()]],
        }),
      );
      continue;
    }
    const headers = [
      ['Host', h],
      ['Accept', '*/*'],
      ['Access-Control-Request-Method', pick(['POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'GET'])],
    ];
    headers.push(['Access-Control-Request-Headers', some(reqHeaders, 1, 5).sort().join(',')]);
    headers.push(['Origin', origin], ['User-Agent', p.ua]);
    if (p.ch || p.firefox)
      headers.push(['Sec-Fetch-Mode', 'cors'], ['Sec-Fetch-Site', 'cross-site'], ['Sec-Fetch-Dest', 'empty']);
    if (chance(0.1)) headers.push(['Access-Control-Request-Private-Network', 'true']);
    headers.push(
      ['Referer', `${origin}/${pick(['', 'app', 'checkout', 'settings'])}`],
      ['Accept-Encoding', 'gzip, deflate, br'],
      ['Accept-Language', pick(ACCEPT_LANGUAGE)],
    );
    add('OPTIONS', path, headers);
  }
}

// ---------------------------------------------------------------------------------------------------
// Health checks and probes

function genHealth(n) {
  begin('health');
  const probes = [
    [
      'kube-probe/1.29',
      [
        '/healthz',
        '/readyz',
        '/livez',
        '/health/live',
        '/health/ready',
        '/actuator/health/liveness',
        '/actuator/health/readiness',
        '/ready',
        '/-/ready',
        '/-/healthy',
      ],
    ],
    ['kube-probe/1.30', ['/healthz', '/health', '/status', '/ping']],
    ['ELB-HealthChecker/2.0', ['/', '/health', '/healthcheck', '/api/health', '/elb-status', '/hc']],
    [
      'Amazon-Route53-Health-Check-Service (ref 3f2b1c7a-9e0d-4c51-8a2f-6d1e0b9c4a7e; report http://amzn.to/1vsZADi)',
      ['/health', '/status', '/'],
    ],
    ['GoogleHC/1.0', ['/', '/healthz', '/_ah/health']],
    ['Blackbox Exporter/0.25.0', ['/', '/health', '/api/health', '/login']],
    ['Prometheus/2.53.0', ['/metrics', '/actuator/prometheus', '/-/metrics', '/api/metrics']],
    ['Datadog Agent/7.54.0', ['/health', '/metrics', '/status']],
    ['Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)', ['/', '/status', '/health']],
    ['Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)', ['/', '/ping', '/healthcheck']],
    ['Consul Health Check', ['/health', '/v1/health', '/_health']],
    ['Envoy/HC', ['/healthz', '/ready']],
    ['StatusCake', ['/', '/status']],
    [
      'Go-http-client/1.1',
      [
        '/v1/sys/health?standbyok=true',
        '/_cluster/health?wait_for_status=yellow&timeout=5s',
        '/api/health',
        '/ping',
        '/ready',
        '/up',
        '/__lbheartbeat__',
        '/__heartbeat__',
        '/health?full=false',
      ],
    ],
    ['curl/8.7.1', ['/healthz', '/actuator/health', '/actuator/info', '/version', '/api/v1/status']],
    ['Datadog/Synthetics', ['/', '/login', '/api/health']],
  ];
  for (let i = 0; i < n; i++) {
    const [ua, paths] = pick(probes);
    const h = pick([
      ...HOSTS.api,
      ...HOSTS.app,
      `10.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}:${pick(['8080', '3000', '9090', '8000'])}`,
      `${pick(SERVICES)}.${pick(ENVS)}.svc.cluster.local:${pick(['8080', '80'])}`,
    ]);
    const headers = [
      ['Host', h],
      ['User-Agent', ua],
      [
        'Accept',
        pick([
          '*/*',
          'application/json',
          'text/plain',
          'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
        ]),
      ],
    ];
    if (ua.startsWith('kube-probe') || ua.startsWith('ELB')) headers.push(['Connection', 'close']);
    if (ua.startsWith('Prometheus'))
      headers.push(['X-Prometheus-Scrape-Timeout-Seconds', pick(['10', '15'])]);
    if (ua.startsWith('Datadog/Synthetics'))
      headers.push(['x-datadog-origin', 'synthetics'], ['x-datadog-trace-id', digits(19)]);
    add(chance(0.12) ? 'HEAD' : 'GET', pick(paths), headers);
  }
}

// ---------------------------------------------------------------------------------------------------
// WebSocket upgrades

function genWebsocket(n) {
  begin('websocket');
  const endpoints = [
    () => [`/socket.io/?EIO=4&transport=websocket${chance(0.6) ? `&sid=${b64url(bytes(15))}` : ''}`, null],
    () => ['/ws', null],
    () => [`/ws/v2/notifications?${qs({ token: jwt() })}`, null],
    () => ['/cable', 'actioncable-v1-json, actioncable-unsupported'],
    () => ['/graphql', pick(['graphql-transport-ws', 'graphql-ws'])],
    () => ['/api/live/ws', null],
    () => ['/_next/webpack-hmr', null],
    () => [
      `/signalr/connect?${qs([
        ['transport', 'webSockets'],
        ['clientProtocol', '2.1'],
        ['connectionToken', b64(bytes(48))],
        ['connectionData', '[{"name":"chathub"}]'],
        ['tid', String(int(0, 10))],
      ])}`,
      null,
    ],
    () => [`/hubs/${pick(['chat', 'notifications', 'presence'])}?id=${b64url(bytes(16))}`, null],
    () => ['/mqtt', 'mqtt'],
    () => [`/realtime/v1/websocket?${qs({ apikey: jwt({ role: 'anon' }, 'HS256'), vsn: '1.0.0' })}`, null],
    () => [
      `/live/websocket?${qs([
        ['_csrf_token', b64url(bytes(24))],
        ['_track_static[0]', `https://${host('web')}/assets/app.css`],
        ['_mounts', '0'],
        ['vsn', '2.0.0'],
      ])}`,
      null,
    ],
    () => [`/api/kernels/${uuid()}/channels?session_id=${uuid()}`, null],
    () => ['/stomp', 'v12.stomp, v11.stomp, v10.stomp'],
    () => [`/ws/chat/${pick(['general', 'support', 'room-' + int(1, 999)])}/`, null],
    () => ['/wamp', 'wamp.2.json'],
    () => [
      `/v1/stream?${qs({ symbols: some(['AAPL', 'MSFT', 'EURUSD', 'BTC-EUR', 'SAP.DE'], 1, 3).join(',') })}`,
      null,
    ],
    () => ['/terminals/websocket/1', null],
  ];
  for (let i = 0; i < n; i++) {
    const [path, proto] = pick(endpoints)();
    const h = host(pick(['app', 'api', 'web']));
    const p = browserProfile();
    const headers = [
      ['Host', h],
      ['Connection', 'Upgrade'],
      ['Pragma', 'no-cache'],
      ['Cache-Control', 'no-cache'],
      ['User-Agent', p.ua],
      ['Upgrade', 'websocket'],
      ['Origin', `https://${h}`],
      ['Sec-WebSocket-Version', '13'],
      ['Accept-Encoding', 'gzip, deflate, br'],
      ['Accept-Language', pick(ACCEPT_LANGUAGE)],
    ];
    if (chance(0.6)) headers.push(['Cookie', basicCookie()]);
    headers.push(['Sec-WebSocket-Key', b64(bytes(16))]);
    headers.push([
      'Sec-WebSocket-Extensions',
      pick(['permessage-deflate; client_max_window_bits', 'permessage-deflate']),
    ]);
    if (proto) headers.push(['Sec-WebSocket-Protocol', proto]);
    add('GET', path, headers);
  }
}

// ---------------------------------------------------------------------------------------------------
// SOAP and XML-RPC

const xmlEsc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const SOAP_CALLS = [
  () => [
    'http://www.example.com/OrderService/GetOrderStatus',
    'GetOrderStatus',
    `<ord:GetOrderStatus xmlns:ord="http://www.example.com/OrderService"><ord:OrderId>${int(100000, 999999)}</ord:OrderId></ord:GetOrderStatus>`,
    '/soap/OrderService',
  ],
  () => [
    'http://tempuri.org/IWeatherService/GetForecast',
    'GetForecast',
    `<tem:GetForecast xmlns:tem="http://tempuri.org/"><tem:city>${xmlEsc(pick(CITIES)[0])}</tem:city><tem:days>${int(1, 7)}</tem:days></tem:GetForecast>`,
    '/WeatherService.svc',
  ],
  () => [
    'http://www.example.org/currency/Convert',
    'Convert',
    `<cur:Convert xmlns:cur="http://www.example.org/currency"><cur:From>${pick(CURRENCIES)}</cur:From><cur:To>${pick(CURRENCIES)}</cur:To><cur:Amount>${money(1, 5000)}</cur:Amount></cur:Convert>`,
    '/CurrencyService.asmx',
  ],
  () => [
    'urn:CreateInvoice',
    'CreateInvoice',
    `<inv:CreateInvoice xmlns:inv="urn:example:billing:v2"><inv:Customer><inv:Name>${xmlEsc(pick(COMPANIES))}</inv:Name><inv:VatId>DE${digits(9)}</inv:VatId></inv:Customer><inv:Line><inv:Description>${xmlEsc(pick(['Consulting – May', 'Licences (5 seats)', 'Support & maintenance']))}</inv:Description><inv:Amount currency="EUR">${money(100, 9000)}</inv:Amount></inv:Line></inv:CreateInvoice>`,
    '/services/BillingService',
  ],
  () => [
    'http://www.example.com/shipping/GetRates',
    'GetRates',
    `<ship:RateRequest xmlns:ship="http://www.example.com/shipping"><ship:Origin><ship:PostalCode>${pick(CITIES)[2]}</ship:PostalCode></ship:Origin><ship:Destination><ship:PostalCode>${pick(CITIES)[2]}</ship:PostalCode><ship:Country>${pick(CITIES)[1]}</ship:Country></ship:Destination><ship:Weight unit="KG">${money(0.2, 30)}</ship:Weight></ship:RateRequest>`,
    '/ws/ShippingRates',
  ],
  () => [
    '',
    'login',
    `<urn:login xmlns:urn="urn:partner.soap.example.com"><urn:username>${person().email}</urn:username><urn:password>${xmlEsc(pick(PASSWORDS))}</urn:password></urn:login>`,
    '/services/Soap/u/60.0',
  ],
  () => [
    'http://sap.example.com/xi/SalesOrder/Create',
    'SalesOrderCreate',
    `<n0:SalesOrderCreateRequest xmlns:n0="http://sap.example.com/xi/SAPGlobal20/Global"><SalesOrder><BuyerID>${digits(10)}</BuyerID><Item><ProductID>MAT-${digits(6)}</ProductID><Quantity unitCode="EA">${int(1, 100)}</Quantity></Item></SalesOrder></n0:SalesOrderCreateRequest>`,
    '/sap/bc/srt/rfc/sap/zsalesorder/100/zsalesorder/binding',
  ],
  () => [
    'http://www.example.com/hr/GetEmployee',
    'GetEmployee',
    `<hr:GetEmployee xmlns:hr="http://www.example.com/hr"><hr:EmployeeNumber>${digits(6)}</hr:EmployeeNumber><hr:Fields>name,department,manager</hr:Fields></hr:GetEmployee>`,
    '/HRService/EmployeeService.svc',
  ],
];
function soapEnvelope(inner, v12, wsse) {
  const ns = v12 ? 'http://www.w3.org/2003/05/soap-envelope' : 'http://schemas.xmlsoap.org/soap/envelope/';
  const header = wsse
    ? `<soapenv:Header><wsse:Security soapenv:mustUnderstand="1" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken wsu:Id="UsernameToken-${int(1, 99)}"><wsse:Username>${person().user}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">${b64(bytes(20))}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${b64(bytes(16))}</wsse:Nonce><wsu:Created>${iso()}</wsu:Created></wsse:UsernameToken></wsse:Security></soapenv:Header>`
    : '<soapenv:Header/>';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="${ns}">${header}<soapenv:Body>${inner}</soapenv:Body></soapenv:Envelope>`;
}
const xv = (v) =>
  typeof v === 'number'
    ? Number.isInteger(v)
      ? `<int>${v}</int>`
      : `<double>${v}</double>`
    : typeof v === 'boolean'
      ? `<boolean>${v ? 1 : 0}</boolean>`
      : Array.isArray(v)
        ? `<array><data>${v.map((x) => `<value>${xv(x)}</value>`).join('')}</data></array>`
        : typeof v === 'object'
          ? `<struct>${Object.entries(v)
              .map(([k, x]) => `<member><name>${k}</name><value>${xv(x)}</value></member>`)
              .join('')}</struct>`
          : `<string>${xmlEsc(v)}</string>`;
function xmlRpc(method, params) {
  return `<?xml version="1.0"?>\n<methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param><value>${xv(p)}</value></param>`).join('')}</params></methodCall>`;
}
const XMLRPC_CALLS = [
  () => [
    '/xmlrpc.php',
    'wp.getPosts',
    [1, person().user, alnum(16), { post_type: 'post', post_status: 'publish', number: int(5, 50) }],
  ],
  () => [
    '/xmlrpc.php',
    'wp.newPost',
    [
      1,
      person().user,
      alnum(16),
      {
        post_title: pick([
          'Weekend update',
          'Our new union contract, explained',
          'Recipe: drop scones',
          'Select your seat — new booking flow',
        ]),
        post_content: `<p>${sentenceWords(10, 25)}.</p>`,
        post_status: 'draft',
        terms_names: { category: [pick(['News', 'Recipes', 'Updates'])] },
      },
    ],
  ],
  () => ['/xmlrpc.php', 'wp.getUsersBlogs', [person().user, alnum(16)]],
  () => [
    '/xmlrpc.php',
    'metaWeblog.newPost',
    [
      '1',
      person().user,
      alnum(16),
      { title: cap(sentenceWords(3, 6)), description: sentenceWords(20, 40), categories: ['General'] },
      true,
    ],
  ],
  () => ['/xmlrpc.php', 'system.listMethods', []],
  () => [
    '/xmlrpc/2/object',
    'execute_kw',
    [
      pick(['prod', 'acme']),
      int(2, 40),
      alnum(20),
      pick(['res.partner', 'sale.order', 'product.product']),
      'search_read',
      [[['is_company', '=', true]]],
      { fields: ['name', 'country_id'], limit: int(5, 80) },
    ],
  ],
  () => ['/xmlrpc/2/common', 'version', []],
  () => ['/RPC2', 'supervisor.getAllProcessInfo', []],
  () => ['/RPC2', 'supervisor.startProcess', [pick(['worker', 'scheduler', 'web']), true]],
  () => [
    '/xmlrpc.cgi',
    'Bug.get',
    [{ ids: [int(1000, 99999)], include_fields: ['summary', 'status', 'assigned_to'] }],
  ],
  () => ['/login/xmlrpc', 'ticket.query', [`status!=closed&owner=${person().user}&order=priority`]],
  () => ['/pypi', 'package_releases', [pick(['requests', 'django', 'flask']), false]],
];

function genSoap(n) {
  begin('soap');
  for (let i = 0; i < n; i++) {
    const h = host(pick(['api', 'app']));
    const kind = i % 5;
    if (kind <= 1) {
      const [action, , inner, path] = pick(SOAP_CALLS)();
      const v12 = chance(0.35);
      const body = soapEnvelope(inner, v12, chance(0.3));
      const headers = [
        ['Host', h],
        [
          'User-Agent',
          pick([
            'Apache-CXF/4.0.4',
            'Axis2',
            'gSOAP/2.8',
            'Zeep/4.2.1 (www.python-zeep.org)',
            'Jakarta Commons-HttpClient/3.1',
            'Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 4.0.30319.42000)',
            'SOAPUI/5.7.2',
            'PHP-SOAP/8.2.20',
          ]),
        ],
        ['Accept', 'text/xml, multipart/related'],
        [
          'Content-Type',
          v12 ? `application/soap+xml; charset=utf-8; action="${action}"` : 'text/xml; charset=utf-8',
        ],
      ];
      if (!v12) headers.push(['SOAPAction', `"${action}"`]);
      add('POST', path, headers, body);
    } else if (kind === 2) {
      const [path, method, params] = pick(XMLRPC_CALLS)();
      add(
        'POST',
        path,
        [
          ['Host', path === '/xmlrpc.php' ? host('web') : h],
          [
            'User-Agent',
            pick([
              'WordPress/6.5.4; https://www.example.com',
              'Python-xmlrpc/3.12',
              'XML-RPC.NET',
              'Apache XML RPC 3.1.3 (Jakarta Commons httpclient Transport)',
              'wp-iphone/24.9',
              'org.wordpress.android/25.0',
            ]),
          ],
          ['Accept', '*/*'],
          ['Content-Type', 'text/xml'],
        ],
        xmlRpc(method, params),
      );
    } else if (kind === 3) {
      add(
        'GET',
        `${pick(['/soap/OrderService', '/WeatherService.svc', '/CurrencyService.asmx', '/services/BillingService', '/ws/ShippingRates'])}${pick(['?wsdl', '?WSDL', '?singleWsdl', '?xsd=1', '?disco'])}`,
        apiClient(h, {
          auth: false,
          accept: '*/*',
          ua: pick([
            'Apache-CXF/4.0.4',
            'Zeep/4.2.1 (www.python-zeep.org)',
            'SOAPUI/5.7.2',
            'Java/17.0.11',
            'Microsoft-WCF-Svcutil',
          ]),
        }),
      );
    } else {
      add(
        'GET',
        `${pick(['/CurrencyService.asmx', '/Legacy/Orders.asmx'])}/${pick(['Convert', 'GetOrder', 'ListOrders'])}?${qs(pick([{ From: 'EUR', To: 'USD', Amount: money(1, 500) }, { orderId: int(1000, 99999) }, { page: int(1, 9), status: 'open' }]))}`,
        browser(h),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// XML configuration uploads

const XML_CONFIGS = [
  () => [
    'pom.xml',
    `<?xml version="1.0" encoding="UTF-8"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">\n  <modelVersion>4.0.0</modelVersion>\n  <groupId>com.acme</groupId>\n  <artifactId>${pick(SERVICES)}-service</artifactId>\n  <version>${int(1, 5)}.${int(0, 20)}.${int(0, 9)}${pick(['', '-SNAPSHOT'])}</version>\n  <properties>\n    <java.version>21</java.version>\n    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>\n  </properties>\n  <dependencies>\n    <dependency>\n      <groupId>org.springframework.boot</groupId>\n      <artifactId>spring-boot-starter-web</artifactId>\n      <version>3.3.1</version>\n    </dependency>\n    <dependency>\n      <groupId>org.postgresql</groupId>\n      <artifactId>postgresql</artifactId>\n      <version>42.7.3</version>\n      <scope>runtime</scope>\n    </dependency>\n  </dependencies>\n</project>\n`,
  ],
  () => [
    'logback.xml',
    `<configuration>\n  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">\n    <encoder>\n      <pattern>%d{HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n</pattern>\n    </encoder>\n  </appender>\n  <logger name="com.acme.${pick(SERVICES)}" level="${pick(['DEBUG', 'INFO'])}"/>\n  <root level="INFO">\n    <appender-ref ref="STDOUT"/>\n  </root>\n</configuration>\n`,
  ],
  () => [
    'log4j2.xml',
    `<?xml version="1.0" encoding="UTF-8"?>\n<Configuration status="WARN">\n  <Properties>\n    <Property name="logDir">\${sys:app.home}/logs</Property>\n  </Properties>\n  <Appenders>\n    <Console name="Console" target="SYSTEM_OUT">\n      <PatternLayout pattern="%d{ISO8601} %-5p [%t] %c{1.} - %m%n"/>\n    </Console>\n    <RollingFile name="File" fileName="\${logDir}/app.log" filePattern="\${logDir}/app-%d{yyyy-MM-dd}.log.gz">\n      <PatternLayout pattern="%d %p %c{1.} [%t] %m%n"/>\n      <Policies><TimeBasedTriggeringPolicy/></Policies>\n    </RollingFile>\n  </Appenders>\n  <Loggers>\n    <Root level="info"><AppenderRef ref="Console"/><AppenderRef ref="File"/></Root>\n  </Loggers>\n</Configuration>\n`,
  ],
  () => [
    'config.xml',
    `<?xml version='1.1' encoding='UTF-8'?>\n<flow-definition plugin="workflow-job@1400.v7fd111b_ec82f">\n  <description>${xmlEsc(pick(['Builds and deploys the API', 'Nightly report export', 'Release pipeline for the web app']))}</description>\n  <keepDependencies>false</keepDependencies>\n  <properties>\n    <hudson.model.ParametersDefinitionProperty>\n      <parameterDefinitions>\n        <hudson.model.StringParameterDefinition><name>BRANCH</name><defaultValue>main</defaultValue></hudson.model.StringParameterDefinition>\n        <hudson.model.ChoiceParameterDefinition><name>ENV</name><choices class="java.util.Arrays$ArrayList"><a class="string-array"><string>staging</string><string>production</string></a></choices></hudson.model.ChoiceParameterDefinition>\n      </parameterDefinitions>\n    </hudson.model.ParametersDefinitionProperty>\n  </properties>\n  <definition class="org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition" plugin="workflow-cps@3903.v48a_8836749e9">\n    <scriptPath>Jenkinsfile</scriptPath>\n    <lightweight>true</lightweight>\n  </definition>\n  <disabled>false</disabled>\n</flow-definition>\n`,
  ],
  () => [
    'AndroidManifest.xml',
    `<?xml version="1.0" encoding="utf-8"?>\n<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="com.acme.${pick(['shop', 'notes', 'fitness'])}">\n  <uses-permission android:name="android.permission.INTERNET"/>\n  <application android:label="@string/app_name" android:icon="@mipmap/ic_launcher" android:allowBackup="false">\n    <activity android:name=".MainActivity" android:exported="true">\n      <intent-filter>\n        <action android:name="android.intent.action.MAIN"/>\n        <category android:name="android.intent.category.LAUNCHER"/>\n      </intent-filter>\n    </activity>\n  </application>\n</manifest>\n`,
  ],
  () => [
    `${pick(['Api', 'Web', 'Worker'])}.csproj`,
    `<Project Sdk="Microsoft.NET.Sdk.Web">\n  <PropertyGroup>\n    <TargetFramework>net8.0</TargetFramework>\n    <Nullable>enable</Nullable>\n    <ImplicitUsings>enable</ImplicitUsings>\n  </PropertyGroup>\n  <ItemGroup>\n    <PackageReference Include="Serilog.AspNetCore" Version="8.0.1" />\n    <PackageReference Include="Npgsql.EntityFrameworkCore.PostgreSQL" Version="8.0.4" />\n  </ItemGroup>\n</Project>\n`,
  ],
  () => [
    'NuGet.config',
    `<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <packageSources>\n    <clear />\n    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />\n    <add key="internal" value="https://nuget.corp.example/v3/index.json" />\n  </packageSources>\n</configuration>\n`,
  ],
  () => [
    'opml.xml',
    `<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n  <head><title>My subscriptions</title></head>\n  <body>\n${Array.from({ length: int(3, 10) }, () => `    <outline type="rss" text="${xmlEsc(pick(['Example Blog', 'Union News', 'SQL Weekly', 'Le Monde Tech', 'Golem']))}" xmlUrl="https://${pick(['blog.example.org', 'news.example.net', 'feeds.example.com'])}/${lowerAlnum(5)}.xml"/>`).join('\n')}\n  </body>\n</opml>\n`,
  ],
  () => [
    'sitemap.xml',
    `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${Array.from({ length: int(3, 12) }, () => `  <url><loc>https://${host('web')}/${slugify(sentenceWords(2, 4))}</loc><lastmod>${day()}</lastmod><changefreq>${pick(['weekly', 'monthly'])}</changefreq></url>`).join('\n')}\n</urlset>\n`,
  ],
  () => [
    'track.gpx',
    `<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="Example Tracker" xmlns="http://www.topografix.com/GPX/1/1">\n  <trk><name>${xmlEsc(pick(['Morning run', 'Sunday ride', 'Hike – Sierra de Guadarrama']))}</name><trkseg>\n${Array.from({ length: int(4, 12) }, () => `    <trkpt lat="${money(40, 52)}" lon="${money(-4, 14)}"><ele>${int(10, 900)}</ele><time>${isoSec()}</time></trkpt>`).join('\n')}\n  </trkseg></trk>\n</gpx>\n`,
  ],
  () => [
    'messages.xlf',
    `<?xml version="1.0" encoding="UTF-8"?>\n<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">\n  <file source-language="en" target-language="${pick(['de', 'fr', 'es', 'ja'])}" datatype="plaintext" original="messages">\n    <body>\n      <trans-unit id="checkout.title"><source>Checkout</source><target>${pick(['Kasse', 'Paiement', 'Pagar', 'お会計'])}</target></trans-unit>\n      <trans-unit id="greeting"><source>Hello, {name}!</source><target>${pick(['Hallo, {name}!', 'Bonjour, {name} !', '¡Hola, {name}!', 'こんにちは、{name}さん！'])}</target></trans-unit>\n    </body>\n  </file>\n</xliff>\n`,
  ],
  () => [
    'process.bpmn',
    `<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_${alnum(7)}" targetNamespace="http://bpmn.io/schema/bpmn">\n  <bpmn:process id="${pick(['invoice-approval', 'leave-request', 'onboarding'])}" isExecutable="true">\n    <bpmn:startEvent id="start"/>\n    <bpmn:userTask id="approve" name="Approve"/>\n    <bpmn:endEvent id="end"/>\n    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>\n    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>\n  </bpmn:process>\n</bpmn:definitions>\n`,
  ],
  () => [
    'junit.xml',
    `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${int(10, 400)}" failures="${int(0, 3)}" time="${money(1, 300)}">\n  <testsuite name="${pick(['OrderServiceTest', 'api.test.ts', 'test_export.py'])}" tests="3" failures="1">\n    <testcase classname="OrderServiceTest" name="createsOrder" time="0.12"/>\n    <testcase classname="OrderServiceTest" name="rejectsEmptyCart" time="0.03"/>\n    <testcase classname="OrderServiceTest" name="notifiesCustomer" time="0.41">\n      <failure message="expected email to be sent" type="java.lang.AssertionError">java.lang.AssertionError: expected email to be sent\n\tat com.acme.orders.OrderServiceTest.notifiesCustomer(OrderServiceTest.java:88)</failure>\n    </testcase>\n  </testsuite>\n</testsuites>\n`,
  ],
  () => [
    'coverage.xml',
    `<?xml version="1.0" ?>\n<coverage version="7.5.3" line-rate="${money(0.5, 0.99)}" branch-rate="${money(0.4, 0.95)}" timestamp="${unix()}000">\n  <packages>\n    <package name="app" line-rate="0.87">\n      <classes><class name="orders.py" filename="app/orders.py" line-rate="0.9"><lines><line number="1" hits="1"/><line number="2" hits="0"/></lines></class></classes>\n    </package>\n  </packages>\n</coverage>\n`,
  ],
  () => [
    'hibernate.cfg.xml',
    `<?xml version="1.0" encoding="utf-8"?>\n<hibernate-configuration>\n  <session-factory>\n    <property name="hibernate.connection.url">jdbc:postgresql://db.internal.example.net:5432/app</property>\n    <property name="hibernate.dialect">org.hibernate.dialect.PostgreSQLDialect</property>\n    <property name="hibernate.hbm2ddl.auto">validate</property>\n    <mapping class="com.acme.orders.Order"/>\n  </session-factory>\n</hibernate-configuration>\n`,
  ],
  () => [
    'feed.xml',
    `<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>${xmlEsc(pick(COMPANIES))} news</title><link>https://${host('web')}/</link><description>Updates</description>\n${Array.from({ length: int(2, 6) }, () => `<item><title>${xmlEsc(cap(sentenceWords(3, 7)))}</title><link>https://${host('web')}/news/${lowerAlnum(6)}</link><pubDate>${new Date(unix() * 1000).toUTCString()}</pubDate></item>`).join('\n')}\n</channel></rss>\n`,
  ],
];

function genXmlconfig(n) {
  begin('xmlconfig');
  for (let i = 0; i < n; i++) {
    const [name, xml] = pick(XML_CONFIGS)();
    const kind = pick(['multipart', 'multipart', 'put', 'jenkins', 'nexus', 'camunda']);
    const h = host(pick(['app', 'api']));
    if (kind === 'jenkins' || name === 'config.xml') {
      const job = pick(['api-service', 'web-frontend', 'nightly-report', 'release']);
      add(
        'POST',
        chance(0.5) ? `/createItem?name=${job}-${lowerAlnum(4)}` : `/job/${job}/config.xml`,
        apiClient('jenkins.example.com', {
          contentType: 'application/xml',
          auth: basicAuth(person().user, hex(34)),
          extra: [['Jenkins-Crumb', hex(64)]],
        }),
        name === 'config.xml' ? xml : XML_CONFIGS[3]()[1],
      );
    } else if (kind === 'nexus' && name === 'pom.xml') {
      add(
        'PUT',
        `/repository/maven-${pick(['releases', 'snapshots'])}/com/acme/${pick(SERVICES)}-service/${int(1, 5)}.${int(0, 20)}.${int(0, 9)}/${pick(SERVICES)}-service-${int(1, 5)}.${int(0, 20)}.${int(0, 9)}.pom`,
        apiClient('nexus.corp.example', {
          contentType: 'application/xml',
          auth: basicAuth('deployer', alnum(20)),
          ua: 'Apache-Maven/3.9.7 (Java 21.0.3; Linux 6.5.0)',
        }),
        xml,
      );
    } else if (kind === 'camunda' || name === 'process.bpmn') {
      const boundary = boundaryFor('python');
      add(
        'POST',
        '/engine-rest/deployment/create',
        apiClient(pick(['camunda.example.com', 'workflow.corp.example']), {
          contentType: `multipart/form-data; boundary=${boundary}`,
        }),
        multipart(boundary, [
          { name: 'deployment-name', data: pick(['invoice-approval', 'leave-request']) },
          { name: 'deploy-changed-only', data: 'true' },
          {
            name: 'data',
            filename: name === 'process.bpmn' ? name : 'process.bpmn',
            type: 'application/octet-stream',
            data: name === 'process.bpmn' ? xml : XML_CONFIGS[11]()[1],
          },
        ]),
      );
    } else if (kind === 'put') {
      add(
        'PUT',
        pick([
          `/api/v1/configs/${encodeURIComponent(name)}`,
          `/remote.php/dav/files/${person().user}/config/${name}`,
          `/api/v4/projects/${int(1, 900)}/repository/files/${encodeURIComponent(`config/${name}`)}`,
        ]),
        apiClient(h, { contentType: pick(['application/xml', 'text/xml; charset=utf-8']) }),
        xml,
      );
    } else {
      const client = pick(['chrome', 'curl', 'python']);
      const boundary = boundaryFor(client);
      const path =
        name === 'junit.xml' || name === 'coverage.xml'
          ? pick(['/api/v1/test-results', '/upload/v4', `/api/v4/projects/${int(1, 900)}/test_reports`])
          : pick([
              '/api/v1/files',
              '/api/import/xml',
              '/settings/import',
              `/api/v1/projects/${int(1, 99)}/attachments`,
            ]);
      add(
        'POST',
        path,
        client === 'chrome'
          ? browser(h, {
              mode: 'cors',
              contentType: `multipart/form-data; boundary=${boundary}`,
              origin: `https://${h}`,
            })
          : apiClient(h, {
              contentType: `multipart/form-data; boundary=${boundary}`,
              ua: client === 'curl' ? 'curl/8.7.1' : 'python-requests/2.32.3',
            }),
        multipart(boundary, [
          { name: 'file', filename: name, type: pick(['application/xml', 'text/xml']), data: xml },
        ]),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Templates with ${VAR} and {{name}} (CI, email, infrastructure, i18n)

const TEMPLATES = [
  () => [
    'github-actions',
    'yaml',
    `name: Deploy\non:\n  workflow_dispatch:\n    inputs:\n      environment:\n        type: choice\n        options: [staging, production]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    environment: \${{ inputs.environment }}\n    steps:\n      - uses: actions/checkout@v4\n      - run: echo "Deploying \${{ github.sha }} to \${{ inputs.environment }}"\n      - run: ./scripts/deploy.sh\n        env:\n          IMAGE_TAG: \${{ github.sha }}\n          API_TOKEN: \${{ secrets.DEPLOY_TOKEN }}\n`,
  ],
  () => [
    'gitlab-ci',
    'yaml',
    `stages: [build, test, deploy]\nvariables:\n  IMAGE: \${CI_REGISTRY_IMAGE}:\${CI_COMMIT_SHORT_SHA}\nbuild:\n  stage: build\n  script:\n    - docker build -t "$IMAGE" .\n    - docker push "$IMAGE"\ndeploy:\n  stage: deploy\n  script:\n    - helm upgrade --install app ./chart --set image.tag=\${CI_COMMIT_SHORT_SHA} --namespace \${KUBE_NAMESPACE}\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n`,
  ],
  () => [
    'jenkinsfile',
    'groovy',
    `pipeline {\n  agent any\n  environment { IMAGE = "registry.example.com/app:\${env.BUILD_NUMBER}" }\n  stages {\n    stage('Build') { steps { sh 'npm ci && npm run build' } }\n    stage('Deploy') {\n      when { branch 'main' }\n      steps { sh "kubectl set image deploy/app app=\${IMAGE}" }\n    }\n  }\n  post { failure { slackSend channel: '#deploys', message: "Build \${env.BUILD_NUMBER} failed: \${env.BUILD_URL}" } }\n}\n`,
  ],
  () => [
    'helm',
    'yaml',
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include "app.fullname" . }}\n  labels:\n    {{- include "app.labels" . | nindent 4 }}\ndata:\n  LOG_LEVEL: {{ .Values.logLevel | default "info" | quote }}\n  DATABASE_HOST: {{ .Values.db.host }}\n{{- if .Values.featureFlags.newCheckout }}\n  NEW_CHECKOUT: "true"\n{{- end }}\n`,
  ],
  () => [
    'terraform',
    'hcl',
    `variable "env" {\n  type = string\n}\n\nresource "aws_cloudwatch_log_group" "app" {\n  name              = "/ecs/\${var.env}/${pick(SERVICES)}"\n  retention_in_days = ${pick([7, 14, 30, 90])}\n}\n\noutput "log_group" {\n  value = aws_cloudwatch_log_group.app.name\n}\n`,
  ],
  () => [
    'docker-compose',
    'yaml',
    `services:\n  app:\n    image: registry.example.com/app:\${TAG:-latest}\n    environment:\n      DATABASE_URL: postgres://app:\${POSTGRES_PASSWORD:?set it}@db:5432/app\n      PORT: \${PORT:-3000}\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: \${POSTGRES_PASSWORD}\n`,
  ],
  () => [
    'ansible',
    'yaml',
    `- hosts: web\n  become: true\n  vars:\n    app_port: 8080\n  tasks:\n    - name: Render nginx site\n      template:\n        src: site.conf.j2\n        dest: /etc/nginx/sites-enabled/{{ inventory_hostname }}.conf\n    - name: Ensure app is listening on {{ app_port }}\n      wait_for:\n        port: "{{ app_port }}"\n        host: "{{ ansible_host }}"\n`,
  ],
  () => [
    'spring',
    'properties',
    `server.port=\${PORT:8080}\nspring.datasource.url=jdbc:postgresql://\${DB_HOST:localhost}:5432/\${DB_NAME:app}\nspring.datasource.username=\${DB_USER}\nmanagement.endpoints.web.exposure.include=health,info,prometheus\napp.greeting=Hello, \${user.name:friend}!\n`,
  ],
  () => [
    'argo',
    'yaml',
    `apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: hello-\nspec:\n  entrypoint: say\n  arguments:\n    parameters: [{ name: message, value: "${pick(['hello world', 'nightly export', 'hola'])}" }]\n  templates:\n    - name: say\n      inputs:\n        parameters: [{ name: message }]\n      container:\n        image: alpine:3.20\n        command: [echo, "{{inputs.parameters.message}}"]\n`,
  ],
  () => [
    'circleci',
    'yaml',
    `version: 2.1\nparameters:\n  run_e2e:\n    type: boolean\n    default: false\njobs:\n  test:\n    docker: [{ image: cimg/node:20.14 }]\n    steps:\n      - checkout\n      - run: npm ci && npm test\n      - when:\n          condition: << pipeline.parameters.run_e2e >>\n          steps: [{ run: npm run e2e }]\n`,
  ],
  () => [
    'handlebars',
    'html',
    `<h1>Hi {{first_name}},</h1>\n<p>Thanks for your order <strong>#{{order.number}}</strong>.</p>\n<table>\n{{#each order.items}}\n  <tr><td>{{this.name}}</td><td>{{this.qty}} × {{formatPrice this.price}}</td></tr>\n{{/each}}\n</table>\n{{#if order.giftMessage}}<p>Gift message: “{{order.giftMessage}}”</p>{{/if}}\n<p>— The {{company_name}} team</p>\n`,
  ],
  () => [
    'liquid',
    'liquid',
    `{% if customer %}\n  <p>Welcome back, {{ customer.first_name | capitalize }}!</p>\n{% else %}\n  <p>Welcome, guest.</p>\n{% endif %}\n{% for product in collections.frontpage.products limit: 4 %}\n  <a href="{{ product.url }}">{{ product.title | escape }} — {{ product.price | money }}</a>\n{% endfor %}\n`,
  ],
  () => [
    'mailchimp',
    'html',
    `<p>Hello *|FNAME|*,</p>\n<p>Your *|LIST:COMPANY|* digest for *|DATE:F j, Y|* is ready.</p>\n<p><a href="*|UNSUB|*">Unsubscribe</a> · <a href="*|UPDATE_PROFILE|*">Update preferences</a></p>\n`,
  ],
  () => [
    'braze',
    'liquid',
    `Hi {{\${first_name} | default: 'there'}}! Your {{custom_attribute.\${plan_name}}} plan renews on {{custom_attribute.\${renewal_date} | date: '%B %d'}}.`,
  ],
  () => [
    'jinja',
    'html',
    `{% extends "base.html" %}\n{% block content %}\n  <h2>{{ _("Invoices") }}</h2>\n  <ul>\n  {% for inv in invoices %}\n    <li>{{ inv.number }} — {{ inv.total|currency(inv.currency) }} ({{ inv.status|title }})</li>\n  {% else %}\n    <li>{{ _("No invoices yet.") }}</li>\n  {% endfor %}\n  </ul>\n{% endblock %}\n`,
  ],
  () => [
    'twig',
    'html',
    `<p>{{ 'greeting'|trans({'%name%': user.firstName}) }}</p>\n{% for item in cart.items %}{{ item.name|e }} x{{ item.qty }}{% if not loop.last %}, {% endif %}{% endfor %}\n`,
  ],
  () => [
    'go-template',
    'text',
    `Alert: {{ .CommonLabels.alertname }} ({{ .Status | toUpper }})\n{{ range .Alerts }}- {{ .Annotations.summary }} on {{ .Labels.instance }}\n{{ end }}Runbook: {{ .CommonAnnotations.runbook_url }}\n`,
  ],
  () => [
    'icu',
    'json',
    json({
      'cart.items':
        '{count, plural, =0 {Your cart is empty} one {# item in your cart} other {# items in your cart}}',
      greeting: 'Hello {name}, you have {unread, number} new messages',
      'order.shipped': 'Order {orderId} shipped on {date, date, medium}',
    }),
  ],
  () => [
    'n8n',
    'json',
    json({
      nodes: [
        {
          name: 'Set',
          type: 'n8n-nodes-base.set',
          parameters: {
            values: {
              string: [
                { name: 'fullName', value: '={{ $json["first_name"] }} {{ $json["last_name"] }}' },
                { name: 'greeting', value: '=Hello {{ $json.first_name }}!' },
              ],
            },
          },
        },
      ],
    }),
  ],
  () => [
    'postman',
    'json',
    json({
      info: { name: 'Orders API' },
      item: [
        {
          name: 'List orders',
          request: {
            method: 'GET',
            url: '{{baseUrl}}/v1/orders?status={{status}}',
            header: [{ key: 'Authorization', value: 'Bearer {{accessToken}}' }],
          },
        },
      ],
      variable: [{ key: 'baseUrl', value: 'https://api.example.com' }],
    }),
  ],
  () => [
    'grafana',
    'json',
    json({
      title: `${cap(pick(SERVICES))} overview`,
      templating: {
        list: [
          { name: 'env', type: 'custom', query: 'staging,production' },
          { name: 'instance', type: 'query', query: 'label_values(up{env="$env"}, instance)' },
        ],
      },
      panels: [
        {
          title: 'Requests',
          targets: [
            { expr: 'sum(rate(http_requests_total{env="$env", instance=~"$instance"}[$__rate_interval]))' },
          ],
        },
        { title: 'Link', links: [{ url: '/d/abc/logs?var-env=${env}&from=${__from}&to=${__to}' }] },
      ],
    }),
  ],
  () => [
    'sendgrid',
    'json',
    json({
      name: pick(['Welcome email', 'Password reset', 'Order shipped']),
      generation: 'dynamic',
      versions: [
        {
          subject: pick([
            'Welcome, {{first_name}}!',
            'Your order {{order_id}} is on its way',
            'Reset your password',
          ]),
          html_content:
            '<p>Hi {{first_name}},</p><p>{{#if tracking_url}}Track it <a href="{{tracking_url}}">here</a>.{{else}}We will email you when it ships.{{/if}}</p>',
          plain_content: 'Hi {{first_name}}, ...',
        },
      ],
    }),
  ],
  () => [
    'slack-template',
    'json',
    json({
      text: ':rocket: Deployed *${SERVICE}* `${VERSION}` to ${ENVIRONMENT} by ${GITHUB_ACTOR}',
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: '<${RUN_URL}|View run> · commit `${GITHUB_SHA:0:7}`' },
        },
      ],
    }),
  ],
  () => [
    'env-example',
    'text',
    `# Copy to .env and fill in\nAPP_URL=http://localhost:\${PORT}\nDATABASE_URL=postgres://\${DB_USER}:\${DB_PASS}@localhost:5432/app\nMAIL_FROM="{{company_name}} <no-reply@example.com>"\n`,
  ],
];

function genTemplate(n) {
  begin('template');
  for (let i = 0; i < n; i++) {
    const [kind, syntax, text] = TEMPLATES[i % TEMPLATES.length]();
    const h = host(pick(['app', 'api']));
    const family = ['github-actions', 'gitlab-ci', 'jenkinsfile', 'circleci', 'argo'].includes(kind)
      ? 'ci'
      : ['helm', 'terraform', 'docker-compose', 'ansible', 'spring', 'env-example'].includes(kind)
        ? 'infra'
        : ['icu', 'n8n', 'postman', 'grafana'].includes(kind)
          ? 'config'
          : 'email';
    const route = pick(
      {
        ci: ['raw', 'gitlab-file', 'ci-lint', 'json-api'],
        infra: ['raw', 'gitlab-file', 'json-api'],
        config: ['json-api', 'raw'],
        email: ['json-api', 'json-api', 'form', 'email-api'],
      }[family],
    );
    switch (route) {
      case 'json-api':
        add(
          pick(['POST', 'PUT']),
          pick(
            {
              ci: [`/api/v1/pipelines/${int(1, 999)}/config`, '/api/snippets'],
              infra: ['/api/snippets', `/api/v1/stacks/${lowerAlnum(8)}/files`],
              config: [
                `/api/v1/templates/${lowerAlnum(8)}`,
                '/api/snippets',
                `/api/v1/workflows/${int(1, 999)}`,
              ],
              email: [
                `/api/v1/templates/${lowerAlnum(8)}`,
                '/api/v1/templates',
                `/api/v2/campaigns/${int(1, 9999)}/content`,
              ],
            }[family],
          ),
          browser(h, { mode: 'cors', contentType: 'application/json', origin: `https://${h}` }),
          json({
            name: `${kind}-${lowerAlnum(4)}`,
            syntax,
            content: text,
            description: pick([
              'Updated copy for Q3',
              'Fix typo',
              'Add gift message',
              'New pipeline for staging',
              '',
            ]),
          }),
        );
        break;
      case 'form':
        add(
          'POST',
          pick(['/admin/templates/save', '/settings/notifications/templates', '/campaigns/edit']),
          browser(h, { contentType: 'application/x-www-form-urlencoded', origin: `https://${h}` }),
          form([csrf(), ['template[name]', kind], ['template[body]', text], ['commit', 'Save']]),
        );
        break;
      case 'raw':
        add(
          'PUT',
          `/api/v1/files/${encodeURIComponent({ 'github-actions': '.github/workflows/deploy.yml', 'gitlab-ci': '.gitlab-ci.yml', jenkinsfile: 'Jenkinsfile', circleci: '.circleci/config.yml', helm: 'chart/templates/configmap.yaml', terraform: 'infra/logs.tf', 'docker-compose': 'compose.yaml', ansible: 'playbooks/web.yml', spring: 'src/main/resources/application.properties', 'env-example': '.env.example', argo: 'workflows/hello.yaml' }[kind] ?? `templates/${kind}.${syntax}`)}`,
          apiClient(h, {
            contentType:
              syntax === 'json'
                ? 'application/json'
                : pick(['text/plain; charset=utf-8', 'application/octet-stream']),
          }),
          text,
        );
        break;
      case 'email-api':
        add(
          'POST',
          pick(['/v3/templates', '/email/templates', '/api/v1/messages/send']),
          apiClient(pick(['api.mail.example.com', 'email.example.net']), { contentType: 'application/json' }),
          json({
            template: text,
            to: [{ email: person().email, name: person().name }],
            variables: {
              first_name: pick(FIRST),
              order_id: String(int(1000, 99999)),
              company_name: pick(COMPANIES),
            },
          }),
        );
        break;
      case 'gitlab-file':
        add(
          'PUT',
          `/api/v4/projects/${int(1, 900)}/repository/files/${encodeURIComponent(family === 'ci' ? pick(['.gitlab-ci.yml', 'ci/deploy.yml']) : pick(['deploy/values.yaml', 'infra/main.tf', 'docker/compose.yaml']))}`,
          apiClient('gitlab.example.com', {
            contentType: 'application/json',
            auth: false,
            extra: [['PRIVATE-TOKEN', alnum(20)]],
          }),
          json({
            branch: pick(['main', 'update-ci', 'feature/emails']),
            commit_message: pick([
              'Update CI template',
              'Tweak welcome email',
              'Use ${CI_COMMIT_SHORT_SHA} for tags',
            ]),
            content: text,
          }),
        );
        break;
      default:
        add(
          'POST',
          pick(['/api/v4/ci/lint', `/api/v4/projects/${int(1, 900)}/ci/lint`, '/api/v1/lint']),
          apiClient(pick(['gitlab.example.com', h]), { contentType: 'application/json' }),
          json({ content: text, dry_run: true }),
        );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Cookies: consent, analytics, JSON and base64 values

const pct = (s) => encodeURIComponent(s);
/** "Thu Jun 12 2025 10:14:03 GMT+0000 (Coordinated Universal Time)", from UTC fields only. */
const oneTrustDate = () => {
  const [wd, dd, mon, yyyy, time] = new Date(unix() * 1000).toUTCString().replace(',', '').split(' ');
  return `${wd} ${mon} ${dd} ${yyyy} ${time} GMT+0000 (Coordinated Universal Time)`;
};
/** Consent and analytics cookies: any site may carry several. */
const COOKIE_MAKERS = [
  () =>
    `OptanonConsent=${form([
      ['isGpcEnabled', '0'],
      ['datestamp', oneTrustDate()],
      ['version', '202405.1.0'],
      ['browserGpcFlag', '0'],
      ['isIABGlobal', 'false'],
      ['hosts', ''],
      ['consentId', uuid()],
      ['interactionCount', String(int(1, 5))],
      ['isAnonUser', '1'],
      ['landingPath', 'NotLandingPage'],
      ['groups', `C0001:1,C0002:${int(0, 1)},C0003:${int(0, 1)},C0004:${int(0, 1)}`],
      ['AwaitingReconsent', 'false'],
    ])}; OptanonAlertBoxClosed=${iso()}`,
  () =>
    `CookieConsent=${pct(`{stamp:'${b64(bytes(36)).replace(/[+/=]/g, '')}',necessary:true,preferences:${chance(0.5)},statistics:${chance(0.5)},marketing:${chance(0.3)},method:'explicit',ver:${int(1, 4)},utc:${unix()}000,region:'${pick(['de', 'fr', 'gb', 'es', 'us-06'])}'}`)}`,
  () =>
    `cookieyes-consent=consentid:${b64(bytes(24))},consent:yes,action:yes,necessary:yes,functional:${pick(['yes', 'no'])},analytics:${pick(['yes', 'no'])},performance:no,advertisement:no`,
  () =>
    `cc_cookie=${pct(json({ categories: ['necessary', ...some(['analytics', 'marketing', 'functionality'], 0, 2)], revision: 0, data: null, consentTimestamp: iso(), consentId: uuid(), lastConsentTimestamp: iso() }))}`,
  () =>
    `euconsent-v2=CQ${b64url(bytes(int(40, 90)))}; usprivacy=1Y${pick(['N', 'Y'])}N; addtl_consent=1~${some(['39', '43', '46', '55', '61', '70', '83', '89', '93'], 2, 6).join('.')}`,
  () =>
    `didomi_token=${b64(json({ user_id: uuid(), created: iso(), updated: iso(), vendors: { enabled: ['google', 'c:hotjar'] }, purposes: { enabled: ['analytics', 'cookies'] }, version: 2 }))}`,
  () =>
    `${gaCookie()}; _ga_${alnum(10).toUpperCase()}=GS1.1.${unix()}.${int(1, 40)}.1.${unix()}.0.0.0; _gcl_au=1.1.${int(1e8, 2e9)}.${unix()}`,
  () => `_fbp=fb.1.${unix()}${digits(3)}.${int(1e8, 2e9)}; _fbc=fb.1.${unix()}${digits(3)}.${alnum(40)}`,
  () =>
    `_hjSessionUser_${int(1e6, 4e6)}=${b64(json({ id: hex(16), created: unix() * 1000, existing: chance(0.5) }))}; _hjSession_${int(1e6, 4e6)}=${b64(json({ id: uuid(), c: unix() * 1000, s: 0, r: 0, sb: 0, sr: 0, se: 0, fs: 1, sp: 0 }))}`,
  () => `ajs_anonymous_id=%22${uuid()}%22; ajs_user_id=%22${int(1, 99999)}%22`,
  () =>
    `mp_${hex(32)}_mixpanel=${pct(json({ distinct_id: uuid(), $device_id: hex(14), $initial_referrer: pick(['$direct', 'https://www.example.org/']), $initial_referring_domain: pick(['$direct', 'www.example.org']), __mps: {}, __mpso: {}, __mpus: {}, __mpa: {}, __mpu: {}, __mpr: [], __mpap: [] }))}`,
  () =>
    `amp_${hex(6)}=${b64url(bytes(24))}...1${alnum(5)}.1${alnum(5)}.${int(1, 30)}.${int(0, 9)}.${int(1, 40)}; AMP_MKTG_${hex(10)}=${b64(json({ referrer: 'https://www.example.org/', referring_domain: 'www.example.org' }))}`,
  () =>
    `__hstc=${int(1e7, 9e7)}.${hex(32)}.${unix()}${digits(3)}.${unix()}${digits(3)}.${unix()}${digits(3)}.${int(1, 30)}; hubspotutk=${hex(32)}; __hssrc=1; __hssc=${int(1e7, 9e7)}.${int(1, 9)}.${unix()}${digits(3)}`,
  () =>
    `_clck=${lowerAlnum(6)}%7C2%7Cfm${lowerAlnum(1)}%7C0%7C${int(1000, 1999)}; _clsk=${lowerAlnum(7)}%7C${unix()}${digits(3)}%7C${int(1, 9)}%7C1%7C${pick(['l', 'r', 'v'])}.clarity.ms%2Fcollect`,
  () =>
    `AMCV_${hex(24).toUpperCase()}%40AdobeOrg=${pct(`179643557|MCIDTS|${int(19000, 20000)}|MCMID|${digits(38)}|MCAAMLH-${unix()}|6|MCAAMB-${unix()}|${b64(bytes(30))}|MCOPTOUT-${unix()}s|NONE|vVersion|5.5.0`)}; s_cc=true`,
  () =>
    `_uetsid=${hex(32)}; _uetvid=${hex(32)}; _pin_unauth=${b64(json({ test: uuid() }))}; _tt_enable_cookie=1; _ttp=${alnum(27)}`,
  () =>
    `intercom-id-${alnum(8).toLowerCase()}=${uuid()}; intercom-session-${alnum(8).toLowerCase()}=${b64(bytes(int(80, 140)))}--${hex(40)}; intercom-device-id-${alnum(8).toLowerCase()}=${uuid()}`,
];
/** Cookies of one kind of site (framework sessions, a CMS, an admin tool): one per request at most. */
const SITE_COOKIE_MAKERS = [
  () =>
    `laravel_session=${b64(json({ iv: b64(bytes(16)), value: b64(bytes(int(120, 240))), mac: hex(64), tag: '' }))}; XSRF-TOKEN=${pct(b64(json({ iv: b64(bytes(16)), value: b64(bytes(int(100, 180))), mac: hex(64), tag: '' })))}`,
  () =>
    `_${pick(['shop', 'app', 'myapp'])}_session=${pct(b64(bytes(int(120, 300))))}--${pct(b64(bytes(24)))}--${pct(b64(bytes(16)))}`,
  () =>
    `next-auth.session-token=${b64url(json({ alg: 'dir', enc: 'A256GCM' }))}..${b64url(bytes(12))}.${b64url(bytes(int(200, 400)))}.${b64url(bytes(16))}; next-auth.csrf-token=${hex(64)}%7C${hex(64)}; next-auth.callback-url=${pct(`https://${host('app')}/dashboard`)}`,
  () =>
    `__Secure-next-auth.session-token=${b64url(json({ alg: 'dir', enc: 'A256GCM' }))}..${b64url(bytes(12))}.${b64url(bytes(int(200, 400)))}.${b64url(bytes(16))}; __Host-next-auth.csrf-token=${hex(64)}%7C${hex(64)}`,
  () => `AWSALB=${b64(bytes(int(90, 130)))}; AWSALBCORS=${b64(bytes(int(90, 130)))}`,
  () =>
    `cart=${b64(json({ items: [{ id: int(1000, 99999), qty: int(1, 3) }], currency: pick(CURRENCIES), updated: unix() }))}; recently_viewed=${pct(json(Array.from({ length: int(2, 6) }, () => int(1000, 99999))))}`,
  () =>
    `prefs=${pct(json({ theme: pick(['dark', 'light']), lang: pick(LOCALES), sidebar: pick(['collapsed', 'expanded']), tz: pick(TIMEZONES) }))}`,
  () =>
    `prefs=j%3A${pct(json({ currency: pick(CURRENCIES), units: pick(['metric', 'imperial']) }))}; connect.sid=s%3A${alnum(32)}.${pct(b64(bytes(32)).replace(/=+$/, ''))}`,
  () =>
    `wp-settings-${int(1, 40)}=${pct(`libraryContent=browse&editor=${pick(['tinymce', 'html'])}&posts_list_mode=list&hidetb=1`)}; wp-settings-time-${int(1, 40)}=${unix()}; wordpress_test_cookie=WP%20Cookie%20check; wordpress_logged_in_${hex(32)}=${person().user}%7C${unix()}%7C${alnum(43)}%7C${hex(64)}`,
  () =>
    `SSESS${hex(32)}=${b64url(bytes(32))}; Drupal.visitor.${pick(['name', 'mail'])}=${pct(person().name)}`,
  () => `${hex(32)}=${lowerAlnum(26)}; joomla_user_state=logged_in`,
  () =>
    `grafana_session=${hex(32)}; grafana_session_expiry=${unix()}; redirect_to=${pct('/d/abc123/overview?orgId=1')}`,
  () =>
    `_gitlab_session=${hex(32)}; known_sign_in=${pct(b64(bytes(60)))}; event_filter=all; diff_view=${pick(['inline', 'parallel'])}; sidebar_collapsed=false`,
  () =>
    `JSESSIONID=${hex(32).toUpperCase()}; atlassian.xsrf.token=${alnum(4)}-${alnum(4)}-${alnum(4)}-${alnum(4)}_${hex(40)}_lin; seraph.confluence=${digits(9)}%3A${hex(40)}`,
  () =>
    `JSESSIONID.${hex(8)}=node0${lowerAlnum(24)}${int(1, 999)}.node0; screenResolution=${pick(['1920x1080', '2560x1440', '1440x900'])}; jenkins-timestamper-offset=-${int(0, 12) * 3600000}`,
  () =>
    `ab_test=${pct(json({ checkout_v2: pick(['control', 'variant_a', 'variant_b']), pricing_page: pick(['A', 'B']) }))}; _vwo_uuid_v2=${hex(32).toUpperCase()}%7C${hex(32)}; optimizelyEndUserId=oeu${unix()}${digits(3)}r0.${digits(16)}`,
  () =>
    `locale=${pick(LOCALES)}; currency=${pick(CURRENCIES)}; country=${pick(CITIES)[1]}; tz=${pct(pick(TIMEZONES))}; cookie_notice_accepted=true; dismissed_banner=${pick(['summer-sale', 'app-download', 'new-ui'])}`,
];

function genCookie(n) {
  begin('cookie');
  for (let i = 0; i < n; i++) {
    const h = host(pick(['web', 'app', 'web']));
    const all = [...COOKIE_MAKERS, ...SITE_COOKIE_MAKERS];
    const first = all[i % all.length];
    const parts = [first()];
    for (const extra of some(
      COOKIE_MAKERS.filter((m) => m !== first),
      0,
      3,
    ))
      parts.push(extra());
    if (COOKIE_MAKERS.includes(first) && chance(0.5)) parts.push(pick(SITE_COOKIE_MAKERS)());
    const cookie = parts.join('; ');
    const kind = pick(['page', 'page', 'xhr', 'asset', 'post']);
    const path = pick([
      '/',
      '/products',
      `/products/${slug(pick(PRODUCTS)[0])}`,
      '/cart',
      '/account',
      '/blog/',
      `/blog/${slugify(sentenceWords(2, 5))}`,
      '/pricing',
      '/dashboard',
      '/search?q=' + pct(pick(PRODUCTS)[0]).replace(/%20/g, '+'),
      '/wp-admin/',
      '/d/abc123/overview?orgId=1',
      '/browse/PLAT-' + int(1, 999),
    ]);
    if (kind === 'page') add('GET', path, browser(h, { cookie }));
    else if (kind === 'xhr')
      add(
        'GET',
        pick([
          '/api/v1/cart',
          '/api/me',
          '/api/notifications?unread=1',
          '/wp-json/wc/store/v1/cart',
          '/api/user/preferences',
        ]),
        browser(h, { mode: 'cors', cookie }),
      );
    else if (kind === 'asset')
      add(
        'GET',
        `/assets/${pick(['app', 'vendor'])}-${b64url(bytes(6))}.js`,
        browser(h, { mode: 'no-cors', dest: 'script', cookie }),
      );
    else
      add(
        'POST',
        pick(['/api/v1/cart/items', '/api/events', '/api/preferences']),
        browser(h, { mode: 'cors', contentType: 'application/json', origin: `https://${h}`, cookie }),
        json(
          pick([
            { productId: int(1000, 99999), qty: int(1, 3) },
            { event: 'consent_updated', categories: some(['analytics', 'marketing'], 0, 2) },
            { theme: pick(['dark', 'light']) },
          ]),
        ),
      );
  }
}

// ---------------------------------------------------------------------------------------------------
// CMS and admin tools in ordinary use

function wordpress() {
  const h = pick(HOSTS.web);
  const admin = (opts = {}) =>
    browser(h, {
      referer: `https://${h}/wp-admin/${pick(['post.php?post=' + int(1, 9000) + '&action=edit', 'edit.php', 'upload.php', 'index.php'])}`,
      cookie: `wordpress_logged_in_${hex(32)}=${person().user}%7C${unix()}%7C${alnum(43)}%7C${hex(64)}; wp-settings-1=libraryContent%3Dbrowse; wp-settings-time-1=${unix()}`,
      ...opts,
    });
  const ajax = (pairs) =>
    add(
      'POST',
      '/wp-admin/admin-ajax.php',
      admin({
        mode: 'cors',
        contentType: 'application/x-www-form-urlencoded; charset=UTF-8',
        origin: `https://${h}`,
        accept: 'application/json, text/javascript, */*; q=0.01',
        extra: [['X-Requested-With', 'XMLHttpRequest']],
      }),
      form(pairs),
    );
  pick([
    () =>
      ajax([
        ['data[wp-refresh-post-lock][lock]', `${unix()}:1`],
        ['data[wp-refresh-post-lock][post_id]', String(int(1, 9000))],
        ['data[wp-check-locked-posts][]', `post-${int(1, 9000)}`],
        ['interval', pick(['15', '60', '120'])],
        ['_nonce', hex(10)],
        ['action', 'heartbeat'],
        ['screen_id', pick(['post', 'edit-post', 'dashboard', 'page'])],
        ['has_focus', pick(['true', 'false'])],
      ]),
    () =>
      ajax([
        ['action', 'query-attachments'],
        ['post_id', String(int(0, 9000))],
        ['query[orderby]', 'date'],
        ['query[order]', 'DESC'],
        ['query[posts_per_page]', '80'],
        ['query[paged]', String(int(1, 5))],
        ...(chance(0.4) ? [['query[s]', pick(['logo', 'team', 'hero', 'union'])]] : []),
      ]),
    () =>
      ajax([
        ['action', 'closed-postboxes'],
        ['closed[]', pick(['postcustom', 'commentsdiv', 'slugdiv'])],
        ['hidden[]', 'authordiv'],
        ['closedpostboxesnonce', hex(10)],
        ['page', pick(['post', 'page', 'dashboard'])],
      ]),
    () =>
      ajax([
        ['action', 'meta-box-order'],
        ['_ajax_nonce', hex(10)],
        ['order[normal]', 'dashboard_site_health,dashboard_activity'],
        ['order[side]', 'dashboard_quick_press,dashboard_primary'],
        ['page_columns', '0'],
        ['page', 'dashboard'],
      ]),
    () =>
      ajax([
        ['action', 'sample-permalink'],
        ['post_id', String(int(1, 9000))],
        ['new_slug', slugify(sentenceWords(2, 5))],
        ['new_title', cap(sentenceWords(3, 7))],
        ['samplepermalinknonce', hex(10)],
      ]),
    () =>
      ajax([
        [
          'post_title',
          pick([
            'Summer sale: select items 30% off',
            'Union Street store reopening',
            'Our new exec team',
            'How we sleep-test our mattresses',
          ]),
        ],
        ['post_name', slugify(sentenceWords(2, 5))],
        ['mm', '06'],
        ['jj', '12'],
        ['aa', '2025'],
        ['hh', '10'],
        ['mn', '30'],
        ['ss', '00'],
        ['screen', 'edit-post'],
        ['post_author', String(int(1, 9))],
        ['comment_status', 'open'],
        ['_status', pick(['publish', 'draft', 'pending'])],
        ['post_category[]', String(int(1, 20))],
        ['tax_input[post_tag]', some(TAGS, 1, 3).join(', ')],
        ['action', 'inline-save'],
        ['post_type', 'post'],
        ['post_ID', String(int(1, 9000))],
        ['edit_date', 'true'],
        ['post_status', 'all'],
        ['_inline_edit', hex(10)],
      ]),
    () =>
      ajax([
        ['action', 'add-tag'],
        ['screen', 'edit-category'],
        ['taxonomy', 'category'],
        ['post_type', 'post'],
        ['_wpnonce_add-tag', hex(10)],
        ['tag-name', pick(['Recipes', 'Événements', 'Union news', 'SQL tips', "Editor's picks"])],
        ['slug', ''],
        ['parent', '-1'],
        ['description', pick(['Posts about cooking', '', 'All the news that fits'])],
      ]),
    () =>
      ajax([
        [
          'action',
          pick([
            'dashboard-widgets',
            'get-community-events',
            'health-check-site-status-result',
            'wp-privacy-export-personal-data',
            'fetch-list',
          ]),
        ],
        ['_ajax_nonce', hex(10)],
        ['pagenow', 'dashboard'],
      ]),
    () =>
      add(
        'POST',
        '/?wc-ajax=get_refreshed_fragments',
        browser(h, {
          mode: 'cors',
          contentType: 'application/x-www-form-urlencoded; charset=UTF-8',
          origin: `https://${h}`,
          extra: [['X-Requested-With', 'XMLHttpRequest']],
        }),
        form([['time', `${unix()}${digits(3)}`]]),
      ),
    () =>
      add(
        'POST',
        '/?wc-ajax=update_order_review',
        browser(h, {
          mode: 'cors',
          contentType: 'application/x-www-form-urlencoded; charset=UTF-8',
          origin: `https://${h}`,
        }),
        form([
          ['security', hex(10)],
          ['payment_method', pick(['stripe', 'paypal', 'bacs'])],
          ['country', pick(CITIES)[1]],
          ['postcode', pick(CITIES)[2]],
          ['city', pick(CITIES)[0]],
          ['has_full_address', 'true'],
          [
            'post_data',
            form([
              ['billing_first_name', pick(FIRST)],
              ['billing_email', person().email],
              ['shipping_method[0]', 'flat_rate:1'],
            ]),
          ],
        ]),
      ),
    () =>
      add(
        'GET',
        `/wp-json/wp/v2/${pick(['posts', 'pages', 'media', 'categories', 'tags', 'users/me'])}?${qs([['per_page', pick([10, 20, 100])], ['_embed', '1'], ...(chance(0.4) ? [['search', pick(['union', 'select', 'recipe', 'café'])]] : []), ...(chance(0.3) ? [['_locale', 'user']] : [])])}`,
        admin({ mode: 'cors', extra: [['X-WP-Nonce', hex(10)]] }),
      ),
    () =>
      add(
        'POST',
        `/wp-json/wp/v2/posts/${int(1, 9000)}?_locale=user`,
        admin({
          mode: 'cors',
          contentType: 'application/json',
          origin: `https://${h}`,
          extra: [
            ['X-WP-Nonce', hex(10)],
            ['X-HTTP-Method-Override', 'PUT'],
          ],
        }),
        json({
          id: int(1, 9000),
          title: cap(sentenceWords(3, 7)),
          content: `<!-- wp:paragraph -->\n<p>${sentenceWords(10, 25)}.</p>\n<!-- /wp:paragraph -->\n\n<!-- wp:heading -->\n<h2 class="wp-block-heading">${cap(sentenceWords(2, 4))}</h2>\n<!-- /wp:heading -->\n\n<!-- wp:code -->\n<pre class="wp-block-code"><code>SELECT name FROM plants WHERE sunlight = 'full';</code></pre>\n<!-- /wp:code -->`,
          status: pick(['draft', 'publish']),
        }),
      ),
    () =>
      add(
        'POST',
        '/wp-json/wc/store/v1/cart/add-item',
        browser(h, {
          mode: 'cors',
          contentType: 'application/json',
          origin: `https://${h}`,
          extra: [['Nonce', hex(10)]],
        }),
        json({
          id: int(10, 9000),
          quantity: int(1, 3),
          variation: chance(0.4) ? [{ attribute: 'pa_size', value: pick(['s', 'm', 'l']) }] : [],
        }),
      ),
    () =>
      add(
        'POST',
        '/wp-login.php',
        browser(h, {
          contentType: 'application/x-www-form-urlencoded',
          origin: `https://${h}`,
          cookie: 'wordpress_test_cookie=WP%20Cookie%20check',
        }),
        form([
          ['log', person().user],
          ['pwd', pick(PASSWORDS)],
          ['rememberme', 'forever'],
          ['wp-submit', 'Log In'],
          ['redirect_to', `https://${h}/wp-admin/`],
          ['testcookie', '1'],
        ]),
      ),
    () =>
      add(
        'GET',
        pick([
          `/wp-admin/post.php?post=${int(1, 9000)}&action=edit`,
          '/wp-admin/edit.php?post_type=page',
          '/wp-admin/upload.php?mode=grid',
          '/wp-admin/options-general.php',
          '/wp-admin/edit-comments.php?comment_status=moderated',
          `/wp-admin/edit.php?s=${pct(pick(['union', 'drop', 'select']))}&post_status=all&post_type=post`,
          '/wp-admin/plugins.php?plugin_status=active',
          '/wp-admin/profile.php',
        ]),
        admin(),
      ),
    () =>
      add('GET', `/wp-cron.php?doing_wp_cron=${unix()}.${digits(22)}`, [
        ['Host', h],
        ['User-Agent', `WordPress/6.${int(4, 8)}.${int(0, 3)}; https://${h}`],
        ['Accept', '*/*'],
        ['Accept-Encoding', 'deflate, gzip, br'],
        ['Referer', `https://${h}/wp-cron.php?doing_wp_cron=${unix()}.${digits(22)}`],
        ['Connection', 'close'],
      ]),
    () =>
      add(
        'GET',
        `/wp-admin/load-styles.php?c=1&dir=ltr&${qs([
          [
            'load[chunk_0]',
            'dashicons,admin-bar,common,forms,admin-menu,dashboard,list-tables,edit,revisions,media,themes,about,nav-menus,wp-pointer,widgets',
          ],
          ['load[chunk_1]', ',site-icon,l10n,buttons,wp-auth-check'],
          ['ver', `6.${int(4, 8)}.${int(0, 3)}`],
        ])}`,
        admin({ mode: 'no-cors', dest: 'style' }),
      ),
  ])();
}
function drupal() {
  const h = pick(['www.example.org', 'news.example.net', 'portal.acme.example', 'learn.example.edu']);
  const buildId = `form-${b64url(bytes(32))}`;
  pick([
    () =>
      add(
        'GET',
        pick([
          `/node/${int(1, 9000)}`,
          `/node/${int(1, 9000)}/edit`,
          '/admin/content?title=&type=article&status=1&langcode=All',
          '/admin/content?title=union&type=All&status=All',
          '/admin/people',
          '/admin/structure/types',
          '/admin/config/development/performance',
          '/admin/reports/dblog',
          `/taxonomy/term/${int(1, 300)}`,
          '/user/login?destination=/node/add/article',
        ]),
        browser(h),
      ),
    () =>
      add(
        'POST',
        '/node/add/article',
        browser(h, { contentType: `application/x-www-form-urlencoded`, origin: `https://${h}` }),
        form([
          ['changed', String(unix())],
          ['title[0][value]', cap(sentenceWords(3, 8))],
          ['body[0][summary]', ''],
          ['body[0][value]', `<p>${sentenceWords(12, 30)}.</p><p>${pick(COMMENTS)}</p>`],
          ['body[0][format]', pick(['basic_html', 'full_html'])],
          ['field_tags[target_id]', some(TAGS, 1, 3).join(', ')],
          ['form_build_id', buildId],
          ['form_token', b64url(bytes(32))],
          ['form_id', 'node_article_form'],
          ['status[value]', '1'],
          ['op', 'Save'],
        ]),
      ),
    () =>
      add(
        'POST',
        '/user/login',
        browser(h, { contentType: 'application/x-www-form-urlencoded', origin: `https://${h}` }),
        form([
          ['name', person().user],
          ['pass', pick(PASSWORDS)],
          ['form_build_id', buildId],
          ['form_id', 'user_login_form'],
          ['op', 'Log in'],
        ]),
      ),
    () =>
      add(
        'GET',
        `/jsonapi/node/${pick(['article', 'page', 'event'])}?${qs([
          ['filter[status]', '1'],
          ['sort', '-created'],
          ['page[limit]', pick([5, 10, 50])],
          ['include', pick(['field_image', 'uid', 'field_tags'])],
          ['fields[node--article]', 'title,created,body'],
        ])}`,
        apiClient(h, { accept: 'application/vnd.api+json', auth: false }),
      ),
    () =>
      add(
        'POST',
        '/views/ajax?_wrapper_format=drupal_ajax',
        browser(h, {
          mode: 'cors',
          contentType: 'application/x-www-form-urlencoded; charset=UTF-8',
          origin: `https://${h}`,
          extra: [['X-Requested-With', 'XMLHttpRequest']],
        }),
        form([
          ['view_name', pick(['frontpage', 'content', 'events', 'search_content'])],
          ['view_display_id', pick(['page_1', 'block_1'])],
          ['view_args', ''],
          ['view_path', '/node'],
          ['pager_element', '0'],
          ['page', String(int(1, 9))],
          ['_drupal_ajax', '1'],
          ['ajax_page_state[theme]', pick(['olivero', 'claro', 'bartik'])],
          ['ajax_page_state[libraries]', 'core/drupal.ajax,olivero/global-styling,views/views.ajax'],
        ]),
      ),
    () =>
      add(
        'GET',
        `/batch?id=${int(1, 999)}&op=${pick(['do_nojs', 'start', 'finished'])}&_format=json`,
        browser(h, { mode: 'cors' }),
      ),
    () => add('GET', '/session/token', browser(h, { mode: 'cors', accept: 'text/plain' })),
    () =>
      add(
        'POST',
        '/history/get_node_read_timestamps',
        browser(h, {
          mode: 'cors',
          contentType: 'application/x-www-form-urlencoded; charset=UTF-8',
          origin: `https://${h}`,
        }),
        form(Array.from({ length: int(2, 6) }, () => ['node_ids[]', String(int(1, 9000))])),
      ),
  ])();
}
function joomla() {
  const h = pick(['www.example.com', 'club.example.org', 'gemeinde.example.de']);
  pick([
    () =>
      add(
        'GET',
        `/index.php?${qs([
          ['option', 'com_content'],
          ['view', pick(['article', 'category', 'featured'])],
          ['id', int(1, 900)],
          ['catid', int(1, 40)],
          ['Itemid', int(100, 600)],
        ])}`,
        browser(h),
      ),
    () =>
      add(
        'GET',
        `/administrator/index.php?${qs([
          ...pick([
            [
              ['option', 'com_content'],
              ['view', 'articles'],
            ],
            [
              ['option', 'com_users'],
              ['view', 'users'],
            ],
            [
              ['option', 'com_media'],
              ['path', 'local-images:/'],
            ],
            [
              ['option', 'com_menus'],
              ['view', 'items'],
              ['menutype', 'mainmenu'],
            ],
          ]),
          ...(chance(0.4) ? [['filter[search]', pick(['union', 'event', 'news'])]] : []),
        ])}`,
        browser(h),
      ),
    () =>
      add(
        'POST',
        `/administrator/index.php?option=com_content&layout=edit&id=${int(1, 900)}`,
        browser(h, { contentType: 'application/x-www-form-urlencoded', origin: `https://${h}` }),
        form([
          ['jform[title]', cap(sentenceWords(3, 7))],
          ['jform[alias]', slugify(sentenceWords(2, 4))],
          ['jform[articletext]', `<p>${sentenceWords(10, 25)}.</p>`],
          ['jform[state]', '1'],
          ['jform[catid]', String(int(1, 40))],
          ['jform[language]', '*'],
          ['task', pick(['article.apply', 'article.save', 'article.save2new'])],
          ['return', b64('index.php?option=com_content&view=articles')],
          [hex(32), '1'],
        ]),
      ),
    () =>
      add(
        'GET',
        `/api/index.php/v1/content/articles?${qs([
          ['page[limit]', pick([5, 20])],
          ['filter[state]', '1'],
          ['list[ordering]', 'a.created'],
        ])}`,
        apiClient(h, {
          auth: `Bearer ${b64(`sha256:${int(1, 99)}:${hex(64)}`)}`,
          accept: 'application/vnd.api+json',
          extra: [['X-Joomla-Token', b64(`sha256:${int(1, 99)}:${hex(64)}`)]],
        }),
      ),
    () =>
      add(
        'GET',
        `/component/search/?${qs([
          ['searchword', pick(['vereinsfest', 'union', 'Öffnungszeiten', 'drop-in hours'])],
          ['searchphrase', 'all'],
          ['Itemid', int(100, 600)],
        ])}`,
        browser(h),
      ),
    () =>
      add(
        'POST',
        '/index.php?option=com_users&task=user.login',
        browser(h, { contentType: 'application/x-www-form-urlencoded', origin: `https://${h}` }),
        form([
          ['username', person().user],
          ['password', pick(PASSWORDS)],
          ['remember', 'yes'],
          ['return', b64(`https://${h}/`)],
          [hex(32), '1'],
        ]),
      ),
  ])();
}
function confluence() {
  const h = pick(['confluence.example.com', 'wiki.corp.example']);
  const space = pick(['ENG', 'OPS', 'HR', 'DOCS', 'SALES']);
  pick([
    () =>
      add(
        'GET',
        `/rest/api/content?${qs([
          ['spaceKey', space],
          ['title', pick(['Runbook: payments', 'Onboarding', 'Release 4.2 notes', 'Union agreement FAQ'])],
          ['expand', 'body.storage,version,ancestors'],
        ])}`,
        browser(h, { mode: 'cors' }),
      ),
    () =>
      add(
        'GET',
        pick([
          `/pages/viewpage.action?pageId=${int(100000, 99999999)}`,
          `/display/${space}/${pct(cap(sentenceWords(2, 4))).replace(/%20/g, '+')}`,
          `/spaces/${space}/pages/${int(100000, 99999999)}/${slugify(sentenceWords(2, 4))}`,
          `/dosearchsite.action?${qs([
            [
              'cql',
              `siteSearch ~ "${pick(['select query', 'drop table', 'sleep timeout', 'union'])}" and space = "${space}"`,
            ],
            ['queryString', pick(['select query', 'drop table', 'union'])],
          ])}`,
          `/plugins/pagetree/naturalchildren.action?${qs([
            ['decorator', 'none'],
            ['expandCurrent', 'true'],
            ['mode', 'heading'],
            ['pageId', int(100000, 99999999)],
            ['treeId', '0'],
            ['startDepth', '0'],
          ])}`,
        ]),
        browser(h),
      ),
    () =>
      add(
        'POST',
        '/rest/api/content',
        browser(h, {
          mode: 'cors',
          contentType: 'application/json',
          origin: `https://${h}`,
          extra: [['X-Atlassian-Token', 'no-check']],
        }),
        json({
          type: 'page',
          title: `${pick(['Runbook', 'Postmortem', 'Meeting notes', 'RFC'])}: ${cap(sentenceWords(2, 4))}`,
          space: { key: space },
          ancestors: [{ id: String(int(100000, 99999999)) }],
          body: {
            storage: {
              representation: 'storage',
              value: `<p>${sentenceWords(8, 20)}.</p><ac:structured-macro ac:name="code"><ac:parameter ac:name="language">${pick(['sql', 'bash', 'java'])}</ac:parameter><ac:plain-text-body><![CDATA[${pick(SNIPPETS[pick(['sql', 'bash', 'java'])])()}]]></ac:plain-text-body></ac:structured-macro><ac:structured-macro ac:name="info"><ac:rich-text-body><p>${pick(COMMENTS)}</p></ac:rich-text-body></ac:structured-macro>`,
            },
          },
        }),
      ),
    () =>
      add(
        'PUT',
        `/rest/api/content/${int(100000, 99999999)}`,
        apiClient(h, { contentType: 'application/json', auth: `Bearer ${alnum(44)}` }),
        json({
          version: { number: int(2, 90), message: pick(['typo', 'updated owner', 'added rollback step']) },
          title: `Runbook: ${pick(SERVICES)}`,
          type: 'page',
          body: {
            storage: {
              representation: 'storage',
              value: `<h2>Rollback</h2><ol><li>Select the previous release in the deploy tool</li><li>Run <code>kubectl rollout undo deploy/${pick(SERVICES)}</code></li></ol>`,
            },
          },
        }),
      ),
    () =>
      add(
        'GET',
        `/rest/quickreload/latest/${int(100000, 99999999)}?since=${unix()}${digits(3)}&_=${unix()}${digits(3)}`,
        browser(h, { mode: 'cors' }),
      ),
    () =>
      add(
        'POST',
        `/rest/inlinecomments/1.0/comments`,
        browser(h, { mode: 'cors', contentType: 'application/json', origin: `https://${h}` }),
        json({
          originalSelection: pick(['drop the old table', 'select the union branch', 'sleep for 30s']),
          body: `<p>${pick(COMMENTS)}</p>`,
          matchIndex: 0,
          numMatches: 1,
          serializedHighlights: json([[pick(['drop the old table', 'select the union branch']), hex(8), 0]]),
          containerId: String(int(100000, 99999999)),
          parentCommentId: '0',
          lastFetchTime: String(unix() * 1000),
        }),
      ),
  ])();
}
function jenkins() {
  const h = pick(['jenkins.example.com', 'ci.corp.example']);
  const job = pick([
    'api-service',
    'web-frontend',
    'nightly-report',
    'release',
    'infra/terraform-plan',
    'mobile/ios-build',
  ]);
  const jobPath = job
    .split('/')
    .map((j) => `/job/${j}`)
    .join('');
  pick([
    () =>
      add(
        'GET',
        `${jobPath}/lastBuild/api/json?tree=${pct('result,timestamp,duration,building,number,url')}`,
        apiClient(h, { auth: basicAuth(person().user, hex(34)) }),
      ),
    () =>
      add(
        'POST',
        `${jobPath}/buildWithParameters?${qs([
          ['BRANCH', pick(['main', 'release/4.2', 'feature/select-fix'])],
          ['DEPLOY_ENV', pick(['staging', 'production'])],
          ['DRY_RUN', pick(['true', 'false'])],
        ])}`,
        apiClient(h, { auth: basicAuth(person().user, hex(34)), extra: [['Jenkins-Crumb', hex(64)]] }),
      ),
    () => add('GET', '/crumbIssuer/api/json', apiClient(h, { auth: basicAuth(person().user, hex(34)) })),
    () =>
      add(
        'GET',
        pick([
          `${jobPath}/${int(1, 3000)}/console`,
          `${jobPath}/${int(1, 3000)}/`,
          `${jobPath}/`,
          '/view/all/builds',
          '/computer/',
          `${jobPath}/${int(1, 3000)}/testReport/`,
          `${jobPath}/changes`,
        ]),
        browser(h),
      ),
    () =>
      add(
        'POST',
        `${jobPath}/${int(1, 3000)}/logText/progressiveHtml`,
        browser(h, {
          mode: 'cors',
          contentType: 'application/x-www-form-urlencoded; charset=UTF-8',
          origin: `https://${h}`,
          extra: [
            ['Jenkins-Crumb', hex(64)],
            ['X-Requested-With', 'XMLHttpRequest'],
          ],
        }),
        form([['start', String(int(0, 90000))]]),
      ),
    () =>
      add(
        'GET',
        `/blue/rest/organizations/jenkins/pipelines/${job.replace('/', '/pipelines/')}/runs/?start=0&limit=${pick([25, 26])}`,
        browser(h, { mode: 'cors' }),
      ),
    () =>
      add(
        'GET',
        `/queue/api/json?tree=${pct('items[id,task[name],why,inQueueSince]')}`,
        apiClient(h, { auth: basicAuth(person().user, hex(34)) }),
      ),
  ])();
}
function gitlab() {
  const h = pick(['gitlab.example.com', 'git.corp.example']);
  const [owner, repo] = pick(REPOS);
  const pid = chance(0.5) ? String(int(1, 900)) : pct(`${owner}/${repo}`);
  const tok = [['PRIVATE-TOKEN', alnum(20)]];
  pick([
    () =>
      add(
        'GET',
        `/api/v4/projects?${qs([['membership', 'true'], ['simple', 'true'], ['per_page', 100], ['order_by', 'last_activity_at'], ...(chance(0.4) ? [['search', pick(['api', 'web', 'infra'])]] : [])])}`,
        apiClient(h, { auth: false, extra: tok }),
      ),
    () =>
      add(
        'GET',
        `/api/v4/projects/${pid}/merge_requests?${qs([
          ['state', pick(['opened', 'merged'])],
          ['scope', pick(['all', 'assigned_to_me'])],
          ['per_page', 20],
        ])}`,
        apiClient(h, { auth: false, extra: tok }),
      ),
    () =>
      add(
        'GET',
        `/api/v4/projects/${pid}/repository/files/${pct(pick(['src/main.go', 'README.md', 'config/settings.yml', 'db/schema.sql', 'app/models/user.rb']))}/raw?ref=${pick(['main', 'develop', 'v2.4.1'])}`,
        apiClient(h, { auth: false, extra: tok }),
      ),
    () =>
      add(
        'GET',
        `/api/v4/projects/${pid}/pipelines?${qs([
          ['ref', 'main'],
          ['status', pick(['success', 'failed', 'running'])],
          ['per_page', 10],
        ])}`,
        apiClient(h, { auth: false, extra: tok }),
      ),
    () =>
      add(
        'POST',
        `/api/v4/projects/${pid}/pipeline`,
        apiClient(h, { contentType: 'application/json', auth: false, extra: tok }),
        json({
          ref: pick(['main', 'release/4.2']),
          variables: [
            { key: 'DEPLOY_ENV', value: pick(['staging', 'production']) },
            { key: 'SKIP_TESTS', value: 'false' },
          ],
        }),
      ),
    () =>
      add(
        'POST',
        '/api/graphql',
        browser(h, {
          mode: 'cors',
          contentType: 'application/json',
          origin: `https://${h}`,
          extra: [
            ['X-CSRF-Token', b64(bytes(64))],
            [
              'x-gitlab-feature-category',
              pick(['code_review_workflow', 'team_planning', 'continuous_integration']),
            ],
          ],
        }),
        json({
          operationName: 'getMergeRequests',
          variables: { fullPath: `${owner}/${repo}`, state: 'opened', first: 20 },
          query:
            'query getMergeRequests($fullPath: ID!, $state: MergeRequestState, $first: Int) { project(fullPath: $fullPath) { mergeRequests(state: $state, first: $first) { nodes { iid title author { username } } } } }',
        }),
      ),
    () =>
      add(
        'GET',
        pick([
          `/${owner}/${repo}/-/merge_requests/${int(1, 900)}/diffs`,
          `/${owner}/${repo}/-/issues?${qs([
            ['label_name[]', pick(TAGS)],
            ['search', pick(['select', 'timeout', 'drop'])],
          ])}`,
          `/${owner}/${repo}/-/blob/main/${pick(['src/index.ts', 'Dockerfile', '.gitlab-ci.yml'])}`,
          `/${owner}/${repo}/-/pipelines/${int(1e5, 9e6)}`,
          `/${owner}/${repo}/-/tree/main/${pick(['src', 'docs', 'db/migrate'])}`,
        ]),
        browser(h),
      ),
    () =>
      add(
        'POST',
        '/users/sign_in',
        browser(h, { contentType: 'application/x-www-form-urlencoded', origin: `https://${h}` }),
        form([
          ['authenticity_token', b64(bytes(64))],
          ['user[login]', person().user],
          ['user[password]', pick(PASSWORDS)],
          ['user[remember_me]', '0'],
        ]),
      ),
  ])();
}
function grafana() {
  const h = pick(['grafana.example.com', 'grafana.internal.example.net', 'monitoring.acme.example']);
  const ui = (opts = {}) =>
    browser(h, { mode: 'cors', extra: [['x-grafana-org-id', '1'], ...(opts.extra ?? [])], ...opts });
  pick([
    () => add('GET', `/api/dashboards/uid/${alnum(9)}`, ui()),
    () =>
      add(
        'GET',
        `/api/search?${qs([
          ['query', pick(['', 'api', 'k8s', 'union', 'checkout'])],
          ['type', 'dash-db'],
          ['starred', 'false'],
          ['limit', 50],
        ])}`,
        ui(),
      ),
    () =>
      add(
        'GET',
        `/api/annotations?${qs([
          ['from', String(unix() * 1000 - 21600000)],
          ['to', String(unix() * 1000)],
          ['limit', 100],
          ['matchAny', 'false'],
          ['dashboardUID', alnum(9)],
        ])}`,
        ui(),
      ),
    () =>
      add(
        'GET',
        `/api/datasources/proxy/uid/${alnum(9)}/api/v1/query_range?${qs([
          ['query', promql()],
          ['start', String(unix() - 3600)],
          ['end', String(unix())],
          ['step', '30'],
        ])}`,
        ui(),
      ),
    () =>
      add(
        'PUT',
        '/api/user/preferences',
        ui({ contentType: 'application/json', origin: `https://${h}` }),
        json({
          theme: pick(['dark', 'light', 'system']),
          homeDashboardUID: alnum(9),
          timezone: pick(['browser', 'utc', pick(TIMEZONES)]),
          weekStart: pick(['monday', 'sunday']),
          language: pick(['en-US', 'de-DE', 'fr-FR', 'es-ES']),
        }),
      ),
    () =>
      add(
        'POST',
        '/api/frontend-metrics',
        ui({ contentType: 'application/json', origin: `https://${h}` }),
        json({
          events: [
            { name: 'frontend_boot_load_time_seconds', value: money(0.5, 4) },
            { name: 'frontend_boot_first_contentful_paint_time_seconds', value: money(0.2, 2) },
          ],
        }),
      ),
    () =>
      add(
        'POST',
        '/api/dashboards/db',
        ui({ contentType: 'application/json', origin: `https://${h}` }),
        json({
          dashboard: {
            uid: alnum(9),
            title: `${cap(pick(SERVICES))} – ${pick(['latency', 'errors', 'SLOs'])}`,
            version: int(1, 90),
            panels: [
              {
                type: 'timeseries',
                title: 'p99 latency',
                targets: [{ expr: promql(), legendFormat: '{{route}}' }],
              },
              {
                type: 'stat',
                title: 'Error rate',
                targets: [{ expr: 'sum(rate(http_requests_total{code=~"5.."}[$__rate_interval]))' }],
              },
            ],
            templating: { list: [{ name: 'namespace', query: 'label_values(kube_pod_info, namespace)' }] },
          },
          folderUid: alnum(9),
          message: pick(['tweak thresholds', 'add error panel', '']),
          overwrite: false,
        }),
      ),
    () =>
      add(
        'GET',
        pick([
          `/d/${alnum(9)}/${slugify(sentenceWords(2, 3))}?orgId=1&from=now-6h&to=now&var-env=${pick(ENVS)}&refresh=30s`,
          `/explore?schemaVersion=1&panes=${pct(json({ a: { datasource: alnum(9), queries: [{ refId: 'A', expr: logql() }], range: { from: 'now-1h', to: 'now' } } }))}&orgId=1`,
          '/alerting/list',
          '/dashboards?query=api',
        ]),
        browser(h),
      ),
    () =>
      add(
        'GET',
        `/api/alertmanager/grafana/api/v2/alerts?${qs([
          ['filter', 'severity="critical"'],
          ['silenced', 'false'],
          ['inhibited', 'false'],
        ])}`,
        ui(),
      ),
  ])();
}
function nextcloudAndMore() {
  pick([
    () =>
      add(
        'PROPFIND',
        `/remote.php/dav/files/${person().user}/${pick(['Documents', 'Photos/2025', 'Shared/Finance', ''])}`,
        [
          ['Host', pick(['cloud.example.com', 'files.example.org'])],
          [
            'User-Agent',
            pick([
              'Mozilla/5.0 (Windows) mirall/3.13.0 (Nextcloud, windows-10.0.22631 ClientArchitecture: x86_64 OsArchitecture: x86_64)',
              'Mozilla/5.0 (Macintosh) mirall/3.13.0 (build 20240612) (Nextcloud, osx-23.5.0)',
              'Mozilla/5.0 (Android) Nextcloud-android/3.29.0',
            ]),
          ],
          ['Authorization', basicAuth(person().user, alnum(29))],
          ['Depth', '1'],
          ['Content-Type', 'application/xml; charset=utf-8'],
        ],
        '<?xml version="1.0"?>\n<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:prop><d:getlastmodified/><d:getcontentlength/><d:resourcetype/><d:getetag/><oc:fileid/><oc:permissions/><oc:size/><nc:has-preview/></d:prop></d:propfind>',
      ),
    () =>
      add(
        'MKCOL',
        `/remote.php/dav/files/${person().user}/${pct(pick(['Projects 2025', 'Reçus', 'Trip – Lisbon', 'Union minutes']))}`,
        [
          ['Host', 'cloud.example.com'],
          ['User-Agent', 'Mozilla/5.0 (Windows) mirall/3.13.0 (Nextcloud)'],
          ['Authorization', basicAuth(person().user, alnum(29))],
        ],
      ),
    () =>
      add('MOVE', `/remote.php/dav/files/${person().user}/Documents/${pct(`draft-${int(1, 9)}.docx`)}`, [
        ['Host', 'cloud.example.com'],
        ['User-Agent', 'Mozilla/5.0 (Macintosh) mirall/3.13.0 (Nextcloud)'],
        ['Authorization', basicAuth(person().user, alnum(29))],
        [
          'Destination',
          `https://cloud.example.com/remote.php/dav/files/${person().user}/Documents/${pct(`final-${int(1, 9)}.docx`)}`,
        ],
        ['Overwrite', 'F'],
      ]),
    () =>
      add(
        'GET',
        `/ocs/v2.php/apps/notifications/api/v2/notifications?format=json`,
        browser('cloud.example.com', {
          mode: 'cors',
          extra: [
            ['OCS-APIRequest', 'true'],
            ['requesttoken', b64(bytes(48))],
          ],
        }),
      ),
    () =>
      add(
        'GET',
        `/w/api.php?${qs([
          ['action', 'query'],
          ['list', 'search'],
          [
            'srsearch',
            pick([
              'Union Pacific',
              'SQL SELECT statement',
              'drop (liquid)',
              'sleep deprivation',
              "O'Higgins",
            ]),
          ],
          ['format', 'json'],
          ['srlimit', 20],
        ])}`,
        browser(pick(['wiki.example.org', 'en.wiki.example.net']), { mode: 'cors' }),
      ),
    () =>
      add(
        'POST',
        '/w/api.php',
        browser('wiki.example.org', {
          mode: 'cors',
          contentType: 'application/x-www-form-urlencoded',
          origin: 'https://wiki.example.org',
        }),
        form([
          ['action', 'edit'],
          ['title', pick(['Main_Page', 'Release_notes', 'Union_history'])],
          ['section', 'new'],
          ['summary', 'Add section'],
          [
            'text',
            `== ${cap(sentenceWords(2, 4))} ==\n${sentenceWords(10, 20)}.\n<syntaxhighlight lang="sql">SELECT * FROM pages LIMIT 10;</syntaxhighlight>`,
          ],
          ['format', 'json'],
          ['token', `${hex(32)}+\\`],
        ]),
      ),
    () =>
      add(
        'POST',
        '/index.php/apps/files_sharing/api/v1/shares',
        browser('cloud.example.com', {
          mode: 'cors',
          contentType: 'application/json',
          origin: 'https://cloud.example.com',
          extra: [['OCS-APIRequest', 'true']],
        }),
        json({
          path: `/Documents/${pick(['Budget 2025.xlsx', 'Team photo.jpg', 'Notes.md'])}`,
          shareType: pick([0, 3]),
          shareWith: person().user,
          permissions: pick([1, 17, 31]),
        }),
      ),
  ])();
}

function genCms(n) {
  begin('cms');
  const makers = [
    wordpress,
    wordpress,
    wordpress,
    drupal,
    joomla,
    confluence,
    confluence,
    jenkins,
    jenkins,
    gitlab,
    gitlab,
    grafana,
    grafana,
    nextcloudAndMore,
  ];
  for (let i = 0; i < n; i++) makers[i % makers.length]();
}

// ---------------------------------------------------------------------------------------------------
// Assembly

function addSamples() {
  category = 'sample';
  SAMPLE_LINES.forEach((line, i) => {
    const r = JSON.parse(line);
    const rec = {
      id: `benign-sample-${String(i + 1).padStart(4, '0')}`,
      method: r.method,
      uri: r.uri,
      headers: r.headers,
    };
    if (r.body !== undefined) rec.body = r.body;
    rec.expect = 'allow';
    rec.class = 'benign';
    rec.source = 'wafgen benign corpus: sample';
    records.push(rec);
    counters.set('sample', i + 1);
  });
}

/** What a client puts on the wire: printable ASCII targets and header values, bodies that parse. */
function check(rec) {
  const fail = (why) => {
    throw new Error(`${rec.id}: ${why}`);
  };
  if (!/^\/[\x21-\x7e]*$/.test(rec.uri) || /["<>\\`]/.test(rec.uri))
    fail(`uri not as on the wire: ${rec.uri.slice(0, 120)}`);
  if (!/^[A-Z]+$/.test(rec.method)) fail('method');
  for (const [k, v] of rec.headers) {
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k)) fail(`header name ${k}`);
    if (!/^[\x20-\x7e]*$/.test(v)) fail(`header ${k} not printable ASCII`);
  }
  if (rec.headers[0][0] !== 'Host') fail('Host first');
  if (rec.body !== undefined) {
    const ct = rec.headers.find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
    const cl = rec.headers.find(([k]) => k.toLowerCase() === 'content-length')?.[1];
    if (cl !== String(Buffer.byteLength(rec.body, 'utf8'))) fail('Content-Length');
    if (/json/.test(ct) && !/ndjson/.test(ct)) JSON.parse(rec.body);
    if (/multipart\/form-data/.test(ct)) {
      const boundary = /boundary=(.+)$/.exec(ct)?.[1];
      if (!boundary || !rec.body.endsWith(`--${boundary}--\r\n`)) fail('multipart boundary');
    }
  }
}

addSamples();
genRest(330);
genGraphql(190);
genForm(230);
genProse(260);
genQuerylang(252);
genUpload(160);
genOauth(170);
genSaml(90);
genCode(216);
genI18n(210);
genLarge(48);
genWebhook(130);
genUrlparam(140);
genStatic(210);
genCors(64);
genHealth(64);
genWebsocket(45);
genSoap(75);
genXmlconfig(55);
genTemplate(120);
genCookie(136);
genCms(252);

const ids = new Set();
for (const rec of records) {
  if (ids.has(rec.id)) throw new Error(`duplicate id ${rec.id}`);
  ids.add(rec.id);
  if (!rec.id.startsWith('benign-sample-')) check(rec);
}
const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
mkdirSync(dirname(OUTPUT), { recursive: true });
writeFileSync(OUTPUT, text);
const big = records.filter((r) => r.body !== undefined && Buffer.byteLength(r.body) > 8192).length;
console.log(
  `${OUTPUT}: ${records.length} requests, ${(Buffer.byteLength(text) / 1e6).toFixed(2)} MB, ${big} bodies over 8 KB\n` +
    [...counters].map(([c, k]) => `  ${c.padEnd(10)} ${k}`).join('\n'),
);
