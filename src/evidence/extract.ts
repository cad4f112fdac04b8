// Heuristic exploit-fact extraction from advisory and proof-of-concept text (the cleaned text of a fetched page,
// a CVE description, a Markdown write-up). No model involved: it reads
//
//   - raw HTTP requests (`POST /api/x HTTP/1.1`, then headers, then a body), anywhere in the text, and
//     `METHOD /path` lines without a version inside code blocks;
//   - curl and wget command lines (continuations joined, shell quoting honoured): method, URL, -d/-F/-H...;
//   - URLs with paths that point at a target (placeholder hosts such as target, localhost, an IP, {{BaseURL}},
//     any URL inside a code block that is not a well-known reference site, or any URL carrying a payload);
//   - prose: "a POST request to /x", "the `id` parameter", "parameters `a` and `b`", "the X-Api-Version
//     header", "`/api/upload` endpoint", header lines such as `X-Api-Version: ${jndi:...}`;
//   - payload tokens: the catalog of known exploit syntaxes (payload-catalog.ts), searched in the text and in
//     the URL-decoded parts of every request found, plus, inside requests, parameter and header values that
//     look like payloads but match no catalog entry (reported literally).
//
// Every fact comes with the snippet it came from. The text is untrusted; everything here runs in time linear
// in its length (bounded quantifiers, per-line work on capped lines) and the output is validated against
// ExploitFactsSchema.

import { type AttackClass, type ExploitFacts, ATTACK_CLASSES, ExploitFactsSchema } from '../vulns/model.js';
import { type PayloadPattern, CLASS_KEYWORDS, PAYLOAD_PATTERNS } from './payload-catalog.js';
import { stripControls } from './text-clean.js';

type FactField = 'attackClass' | 'endpoints' | 'parameters' | 'methods' | 'headers' | 'payloadTokens';

export interface FactSource {
  field: FactField;
  value: string;
  /** The passage of the text the fact came from (one line, or a window around the match). */
  snippet: string;
}

export interface Extraction {
  facts: ExploitFacts;
  /** One entry per fact, in the order facts were found. */
  sources: FactSource[];
}

export interface ExtractOptions {
  /** Text beyond this many characters is ignored (default 300,000). */
  maxChars?: number;
}

const MAX_TEXT = 300_000;
const MAX_LINE = 8_192;
const MAX_PER_FIELD = 60;
const MAX_LITERAL = 200;

const METHODS =
  'GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|TRACE|CONNECT|PROPFIND|PROPPATCH|MKCOL|COPY|MOVE|LOCK|UNLOCK|SEARCH|REPORT';
const METHOD_PREFIX = new RegExp(`^\\s*(${METHODS})[ \\t]+(?=\\S)`);
const VERSION_SUFFIX = /[ \t]HTTP\/\d(?:\.\d)?$/;

/**
 * `METHOD SP target SP HTTP/x.y`; the target may contain spaces (unencoded payloads). Parsed with two anchored
 * regexes and a slice rather than one `(.*?)\s+HTTP` pattern, which is quadratic on long runs of spaces.
 */
function requestLine(text: string): [string, string] | undefined {
  const method = METHOD_PREFIX.exec(text);
  if (!method) return undefined;
  const line = text.trimEnd();
  const tail = line.slice(-16);
  const version = VERSION_SUFFIX.exec(tail);
  if (!version) return undefined;
  const target = line.slice(method[0].length, line.length - tail.length + version.index).trim();
  return target === '' ? undefined : [method[1]!, target];
}
const BARE_REQUEST_LINE = new RegExp(`^\\s*(${METHODS})[ \\t]+((?:\\/|https?:\\/\\/|\\{\\{)\\S*)\\s*$`);
const HEADER_LINE = /^([A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}):[ \t]*(.*)$/;
const PARAM_NAME = /^[A-Za-z_$@][\w.\-[\]$@:]{0,127}$/;

/** Headers every client sends: reported only when their value carries a payload. */
const COMMON_HEADERS = new Set([
  'host',
  'content-length',
  'connection',
  'accept',
  'accept-encoding',
  'accept-language',
  'accept-charset',
  'user-agent',
  'content-type',
  'cache-control',
  'pragma',
  'upgrade-insecure-requests',
  'cookie',
  'authorization',
  'referer',
  'origin',
  'dnt',
  'te',
  'keep-alive',
  'transfer-encoding',
  'if-modified-since',
  'if-none-match',
  'priority',
  'x-requested-with',
  'expect',
]);

/** Hosts of reference material, never exploit targets. */
const REFERENCE_HOSTS =
  /(^|\.)(github\.com|githubusercontent\.com|gitlab\.com|bitbucket\.org|nvd\.nist\.gov|cve\.org|mitre\.org|cisa\.gov|exploit-db\.com|packetstormsecurity\.com|twitter\.com|x\.com|hackerone\.com|youtube\.com|medium\.com|wikipedia\.org|apache\.org|oracle\.com|microsoft\.com|npmjs\.com|pypi\.org|maven\.org|w3\.org|schemas\.xmlsoap\.org|xmlsoap\.org|ietf\.org|oast\.(fun|me|pro|live|site|online)|interact\.sh|burpcollaborator\.net)$/i;
/** Hosts that stand for "the target" in write-ups. */
const PLACEHOLDER_HOST =
  /^(localhost|target|victim|vulnerable[\w-]*|host|hostname|server|your[\w-]*|example\.(com|org|net)|[\w-]+\.example(\.(com|org|net))?|[\w.-]+\.(test|local|lan)|(\d{1,3}\.){3}\d{1,3}|\[[0-9a-f:.]+\]|x\.x\.x\.x|<[^>]{1,40}>|\{\{[^}]{1,40}\}\}|\$\{?[A-Za-z_]\w*\}?)(:\d{1,5}|:\{\{[^}]*\}\}|:\$\w+)?$/i;
/** Filesystem paths that are payload targets, not endpoints. */
const FILESYSTEM_PATH = /^\/(etc|proc|bin|sbin|tmp|var|usr|dev|root|home|windows|boot|lib|opt|sys)(\/|$)/i;

const PARAM_STOPWORDS = new Set(
  (
    'the a an this that these those same vulnerable affected following malicious crafted specially user input url uri ' +
    'query get post request http https specific certain above below any each every one another other some such which ' +
    'its their your our injectable unsanitized unsanitised sanitized unvalidated value data body form json string ' +
    'path it is was be new old second first last given named called required optional hidden'
  ).split(' '),
);

interface Line {
  text: string;
  start: number;
  inCode: boolean;
}

interface Request {
  method?: string;
  target: string;
  headers: [string, string][];
  body?: string;
  /** Where in the text the request was read (the request line, the command line). */
  snippet: string;
  /** Snippets of each header line and of the body's first line, when they are separate lines. */
  headerSnippets?: string[];
  bodySnippet?: string;
}

class Facts {
  private readonly maps: Record<Exclude<FactField, 'attackClass'>, Map<string, string>> = {
    endpoints: new Map(),
    parameters: new Map(),
    methods: new Map(),
    headers: new Map(),
    payloadTokens: new Map(),
  };
  readonly sources: FactSource[] = [];

  add(field: Exclude<FactField, 'attackClass'>, value: string, snippet: string): boolean {
    const map = this.maps[field];
    const key = field === 'headers' ? value.toLowerCase() : value;
    if (map.has(key) || map.size >= MAX_PER_FIELD) return false;
    map.set(key, value);
    this.sources.push({ field, value, snippet });
    return true;
  }

  has(field: Exclude<FactField, 'attackClass'>, value: string): boolean {
    return this.maps[field].has(field === 'headers' ? value.toLowerCase() : value);
  }

  values(field: Exclude<FactField, 'attackClass'>): string[] {
    return [...this.maps[field].values()];
  }
}

// ---------------------------------------------------------------------------------------------- text helpers

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let inCode = false;
  let fence = '';
  let start = 0;
  for (const raw of text.split('\n')) {
    const text = raw.length > MAX_LINE ? raw.slice(0, MAX_LINE) : raw;
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(text);
    if (marker && (!inCode || (marker[1]![0] === fence[0] && marker[1]!.length >= fence.length))) {
      if (!inCode) {
        inCode = true;
        fence = marker[1]!;
      } else if (text.trim() === marker[1]) {
        inCode = false;
        fence = '';
      }
      lines.push({ text, start, inCode: false }); // the fence line itself is not code
    } else {
      lines.push({ text, start, inCode });
    }
    start += raw.length + 1;
  }
  return lines;
}

function snippetOf(line: string, index = 0, length = 0): string {
  const t = line.trim();
  if (t.length <= 240) return t;
  const offset = Math.max(0, line.indexOf(t));
  const from = Math.max(0, index - offset - 100);
  const to = Math.min(t.length, index - offset + length + 100);
  return `${from > 0 ? '…' : ''}${t.slice(from, to)}${to < t.length ? '…' : ''}`;
}

/** Percent-decode (and `+` as space when asked) without throwing on malformed input. */
export function percentDecode(s: string, plus = false): string {
  const input = plus ? s.replace(/\+/g, ' ') : s;
  if (!input.includes('%')) return input;
  const bytes: number[] = [];
  for (let i = 0; i < input.length; i += 1) {
    const c = input.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(input.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(input.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      const end = c >= 0xd800 && c <= 0xdbff ? i + 2 : i + 1;
      for (const b of Buffer.from(input.slice(i, end), 'utf8')) bytes.push(b);
      i = end - 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The raw string and its once- and twice-decoded forms (distinct ones only). */
function decodedForms(s: string, plus = false): string[] {
  const once = percentDecode(s, plus);
  const twice = percentDecode(once, false);
  return [...new Set([s, once, twice])];
}

interface ParsedTarget {
  host: string;
  path: string;
  query?: string;
}

/** Split a request target or URL without normalising it (`..` and encodings must survive). */
function parseTarget(target: string): ParsedTarget | undefined {
  const m = /^(?:[a-zA-Z][a-zA-Z0-9+.-]{0,15}:\/\/)?([^/?#\s]*)([^?#]*)(?:\?([^#]*))?/.exec(target.trim());
  if (!m) return undefined;
  const host = m[1] ?? '';
  const path = m[2] ?? '';
  const hasScheme = /^[a-zA-Z][a-zA-Z0-9+.-]{0,15}:\/\//.test(target.trim());
  // "target/path" without a scheme: the first segment is a host only when it looks like one.
  if (
    !hasScheme &&
    host !== '' &&
    !/^(\{\{|\$|<|localhost\b|[\w-]+(\.[\w-]+)+(:\d+)?$|[\w-]+:\d+$)/.test(host)
  ) {
    return {
      host: '',
      path: `/${host}${path}`.replace(/^\/+/, '/'),
      ...(m[3] !== undefined ? { query: m[3] } : {}),
    };
  }
  return { host, path, ...(m[3] !== undefined ? { query: m[3] } : {}) };
}

function queryNames(query: string): string[] {
  const names: string[] = [];
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = percentDecode(pair.slice(0, eq), true).trim();
    if (PARAM_NAME.test(name)) names.push(name);
  }
  return names;
}

function queryValues(query: string): string[] {
  const values: string[] = [];
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0) values.push(pair.slice(eq + 1));
  }
  return values;
}

function jsonKeysAndStrings(body: string): { keys: string[]; strings: string[] } | undefined {
  const t = body.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(t);
  } catch {
    return undefined;
  }
  const keys: string[] = [];
  const strings: string[] = [];
  const stack: Array<{ v: unknown; depth: number }> = [{ v: parsed, depth: 0 }];
  while (stack.length > 0 && keys.length < 100) {
    const { v, depth } = stack.pop()!;
    if (typeof v === 'string') strings.push(v);
    if (depth > 10 || v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i -= 1) stack.push({ v: v[i], depth: depth + 1 });
      continue;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    for (const [k] of entries) if (PARAM_NAME.test(k)) keys.push(k);
    for (let i = entries.length - 1; i >= 0; i -= 1) stack.push({ v: entries[i]![1], depth: depth + 1 });
  }
  return { keys: [...new Set(keys)], strings };
}

function multipartNames(body: string): string[] {
  const names: string[] = [];
  for (const m of body.matchAll(
    /Content-Disposition:[ \t]*form-data;[^\n]{0,300}?\bname="([^"\n]{1,128})"/gi,
  )) {
    if (PARAM_NAME.test(m[1]!)) names.push(m[1]!);
  }
  return names;
}

function looksLikeForm(body: string): boolean {
  const t = body.trim();
  return t !== '' && !t.includes('\n') && /^[^=&\s]{1,128}=/.test(t);
}

/** Request values that look like payloads even though no catalog entry matched them. */
function looksLikePayload(value: string): boolean {
  const v = percentDecode(value, true);
  if (v.length < 3) return false;
  return (
    /['"]\s*(?:or|and|union|select|;|--|#|\)|\|\|)/i.test(v) ||
    /<[a-z!/?]/i.test(v) ||
    /[$#%*]\{|\{\{|\$\(|`[^`]{1,40}`/.test(v) ||
    /\.\.[/\\]/.test(v) ||
    /[;|]\s*[a-z]{2,}/i.test(v) ||
    /%0[0ad]/i.test(value)
  );
}

// --------------------------------------------------------------------------------------------------- catalog

interface TokenHit {
  pattern: PayloadPattern;
  token: string;
  index: number;
  length: number;
}

/** Catalog matches in one string, earlier entries winning over overlapping later ones. */
function scanTokens(s: string, inRequest: boolean): TokenHit[] {
  const hits: TokenHit[] = [];
  const taken: Array<[number, number]> = [];
  for (const pattern of PAYLOAD_PATTERNS) {
    if (pattern.requestOnly && !inRequest) continue;
    // The catalog's own global regexes, reset around use (all of this is synchronous).
    const re = pattern.pattern;
    re.lastIndex = 0;
    for (let m = re.exec(s); m; m = re.exec(s)) {
      if (m[0].length === 0) {
        re.lastIndex += 1;
        continue;
      }
      const start = m.index;
      const end = start + m[0].length;
      if (taken.some(([a, b]) => Math.min(end, b) - Math.max(start, a) > 1)) continue;
      taken.push([start, end]);
      const token = typeof pattern.token === 'string' ? pattern.token : pattern.token(m);
      if (token.length >= 1 && token.length <= MAX_LITERAL)
        hits.push({ pattern, token, index: start, length: m[0].length });
    }
    re.lastIndex = 0;
  }
  // Report in reading order (the catalog order only decides which of two overlapping matches wins).
  return hits.sort((a, b) => a.index - b.index);
}

// ------------------------------------------------------------------------------------------------ extraction

class Extractor {
  readonly facts = new Facts();
  private readonly classVotes = new Map<AttackClass, { score: number; snippet: string }>();
  private readonly countedTokens = new Set<string>();

  vote(cls: AttackClass, weight: number, snippet: string, key: string): void {
    if (this.countedTokens.has(key)) return;
    this.countedTokens.add(key);
    const v = this.classVotes.get(cls) ?? { score: 0, snippet };
    v.score += weight;
    this.classVotes.set(cls, v);
  }

  tokensIn(s: string, snippet: string, inRequest: boolean): TokenHit[] {
    const hits = scanTokens(s, inRequest);
    for (const h of hits) {
      this.facts.add('payloadTokens', h.token, snippet);
      this.vote(h.pattern.attackClass, h.pattern.weight, snippet, `token:${h.token}`);
    }
    return hits;
  }

  /** Catalog matches in a request part, raw and decoded; returns whether anything matched. */
  requestPartTokens(value: string, snippet: string, plus = false): boolean {
    let found = false;
    // Most-decoded form first: it shows what the server sees; the raw form then adds encoding-specific
    // tokens (`..%2f`) that decoding removes.
    for (const form of decodedForms(value, plus).reverse()) {
      if (this.tokensIn(form, snippet, true).length > 0) found = true;
    }
    return found;
  }

  literal(value: string, snippet: string): void {
    const decoded = percentDecode(value, true).trim();
    if (decoded === '' || !looksLikePayload(value)) return;
    const literal = decoded.length > MAX_LITERAL ? decoded.slice(0, MAX_LITERAL) : decoded;
    this.facts.add('payloadTokens', literal, snippet);
  }

  attackClass(): { cls: AttackClass; snippet: string } | undefined {
    let best: { cls: AttackClass; score: number; snippet: string } | undefined;
    for (const cls of ATTACK_CLASSES) {
      const v = this.classVotes.get(cls);
      if (v && v.score > 0 && (!best || v.score > best.score))
        best = { cls, score: v.score, snippet: v.snippet };
    }
    return best && { cls: best.cls, snippet: best.snippet };
  }

  request(req: Request): void {
    let contributed = false;
    const t = parseTarget(req.target);
    if (t) {
      const path = t.path;
      if (path.length > 1 && path.length <= 512 && path.startsWith('/')) {
        this.facts.add('endpoints', path, req.snippet);
        contributed = true;
      }
      if (this.requestPartTokens(req.target, req.snippet)) contributed = true;
      if (t.query !== undefined) {
        for (const name of queryNames(t.query)) {
          this.facts.add('parameters', name, req.snippet);
          contributed = true;
        }
        for (const value of queryValues(t.query)) this.literalUnlessCovered(value, req.snippet, true);
      }
    }
    req.headers.forEach(([name, value], index) => {
      const snippet = req.headerSnippets?.[index] ?? req.snippet;
      const carries = this.requestPartTokens(value, snippet);
      const common = COMMON_HEADERS.has(name.toLowerCase());
      if (!common && !carries) this.literalUnlessCovered(value, snippet, false);
      if ((!common || carries) && name.length <= 128) {
        this.facts.add('headers', name, snippet);
        contributed = true;
      }
      if (carries) contributed = true;
    });
    if (req.body !== undefined && req.body.trim() !== '') {
      const body = req.body.length > 65_536 ? req.body.slice(0, 65_536) : req.body;
      const bodySnippet = req.bodySnippet ?? req.snippet;
      if (this.requestPartTokens(body, bodySnippet, looksLikeForm(body))) contributed = true;
      const json = jsonKeysAndStrings(body);
      const contentType = req.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? '';
      if (json) {
        for (const k of json.keys) this.facts.add('parameters', k, bodySnippet);
        for (const s of json.strings) this.literalUnlessCovered(s, bodySnippet, false);
        if (json.keys.length > 0) contributed = true;
      } else if (
        /multipart\/form-data/i.test(contentType) ||
        /Content-Disposition:\s*form-data/i.test(body)
      ) {
        for (const n of multipartNames(body)) {
          this.facts.add('parameters', n, bodySnippet);
          contributed = true;
        }
      } else if (looksLikeForm(body)) {
        for (const n of queryNames(body.trim())) {
          this.facts.add('parameters', n, bodySnippet);
          contributed = true;
        }
        for (const v of queryValues(body.trim())) this.literalUnlessCovered(v, bodySnippet, true);
      }
    }
    if (req.method && contributed) this.facts.add('methods', req.method.toUpperCase(), req.snippet);
  }

  private literalUnlessCovered(value: string, snippet: string, plus: boolean): void {
    if (value.length < 3) return;
    const covered = decodedForms(value, plus).some((f) => scanTokens(f, true).length > 0);
    if (!covered) this.literal(value, snippet);
  }
}

// --------------------------------------------------------------------------------------------- raw requests

function rawRequests(lines: readonly Line[], ex: Extractor, consumed: Set<number>): void {
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    let m = requestLine(line.text);
    if (!m && line.inCode) {
      const bare = BARE_REQUEST_LINE.exec(line.text);
      if (bare) m = [bare[1]!, bare[2]!];
    }
    if (!m) continue;
    const req: Request = { method: m[0], target: m[1].trim(), headers: [], snippet: snippetOf(line.text) };
    consumed.add(i);
    let j = i + 1;
    for (; j < lines.length; j += 1) {
      const l = lines[j]!;
      if (l.inCode !== line.inCode || l.text.trim() === '') break;
      const h = HEADER_LINE.exec(l.text.trim());
      if (!h) break;
      req.headers.push([h[1]!, h[2]!.trim()]);
      (req.headerSnippets ??= []).push(snippetOf(l.text));
      consumed.add(j);
    }
    // Body: after one blank line, up to the end of the code block (or the next blank line in prose), or the
    // next request line.
    if (j < lines.length && lines[j]!.text.trim() === '' && lines[j]!.inCode === line.inCode) {
      const bodyLines: string[] = [];
      let k = j + 1;
      for (; k < lines.length; k += 1) {
        const l = lines[k]!;
        if (l.inCode !== line.inCode) break;
        if (requestLine(l.text)) break;
        if (!line.inCode && l.text.trim() === '') break;
        bodyLines.push(l.text);
        consumed.add(k);
      }
      while (bodyLines.length > 0 && bodyLines[bodyLines.length - 1]!.trim() === '') bodyLines.pop();
      if (bodyLines.length > 0) {
        req.body = bodyLines.join('\n');
        req.bodySnippet = snippetOf(bodyLines.find((b) => b.trim() !== '') ?? '');
      }
      j = k;
    }
    ex.request(req);
    i = j - 1;
  }
}

// ------------------------------------------------------------------------------------------- curl and wget

/** Shell words of a command line, stopping at an unquoted |, ;, &, > or <. */
export function shellWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === "'" || (c === '$' && s[i + 1] === "'")) {
      const ansi = c === '$';
      i += ansi ? 2 : 1;
      inWord = true;
      while (i < s.length && s[i] !== "'") {
        if (ansi && s[i] === '\\' && i + 1 < s.length) {
          const n = s[i + 1]!;
          cur += n === 'n' ? '\n' : n === 'r' ? '\r' : n === 't' ? '\t' : n;
          i += 2;
          continue;
        }
        cur += s[i];
        i += 1;
      }
      i += 1;
      continue;
    }
    if (c === '"') {
      i += 1;
      inWord = true;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1]!)) {
          cur += s[i + 1];
          i += 2;
          continue;
        }
        cur += s[i];
        i += 1;
      }
      i += 1;
      continue;
    }
    if (c === '\\' && i + 1 < s.length) {
      cur += s[i + 1];
      inWord = true;
      i += 2;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i += 1;
      continue;
    }
    if ('|;&<>'.includes(c)) break;
    cur += c;
    inWord = true;
    i += 1;
  }
  if (inWord) words.push(cur);
  return words;
}

const CURL_VALUE_OPTS = new Set([
  'X',
  'request',
  'd',
  'data',
  'data-raw',
  'data-binary',
  'data-ascii',
  'data-urlencode',
  'json',
  'H',
  'header',
  'A',
  'user-agent',
  'b',
  'cookie',
  'e',
  'referer',
  'F',
  'form',
  'form-string',
  'u',
  'user',
  'o',
  'output',
  'x',
  'proxy',
  'url',
  'T',
  'upload-file',
  'm',
  'max-time',
  'connect-timeout',
  'w',
  'write-out',
  'c',
  'cookie-jar',
  'K',
  'config',
  'r',
  'range',
  'E',
  'cert',
  'cacert',
  'resolve',
  'connect-to',
  'U',
  'proxy-user',
  'D',
  'dump-header',
  'retry',
  'Y',
  'y',
  'z',
  'interface',
  'local-port',
  'limit-rate',
  't',
  'Q',
  'quote',
  'request-target',
  'oauth2-bearer',
  'key',
  'ciphers',
  'max-redirs',
  'P',
  'ftp-port',
]);

function curlRequest(words: readonly string[], snippet: string): Request | undefined {
  let method: string | undefined;
  let head = false;
  let get = false;
  const data: string[] = [];
  const form: string[] = [];
  const headers: [string, string][] = [];
  const urls: string[] = [];
  let json = false;

  const apply = (opt: string, value: string): void => {
    switch (opt) {
      case 'X':
      case 'request':
        method = value.toUpperCase();
        break;
      case 'd':
      case 'data':
      case 'data-raw':
      case 'data-binary':
      case 'data-ascii':
      case 'data-urlencode':
        if (!value.startsWith('@') || opt === 'data-raw') data.push(value);
        break;
      case 'json':
        json = true;
        if (!value.startsWith('@')) data.push(value);
        break;
      case 'H':
      case 'header': {
        const h = /^([^:\s]{1,128}):\s*(.*)$/s.exec(value);
        if (h) headers.push([h[1]!, h[2]!]);
        break;
      }
      case 'A':
      case 'user-agent':
        headers.push(['User-Agent', value]);
        break;
      case 'b':
      case 'cookie':
        if (value.includes('=')) headers.push(['Cookie', value]);
        break;
      case 'e':
      case 'referer':
        headers.push(['Referer', value]);
        break;
      case 'F':
      case 'form':
      case 'form-string':
        form.push(value);
        break;
      case 'url':
        urls.push(value);
        break;
      default:
        break;
    }
  };

  for (let i = 1; i < words.length; i += 1) {
    const w = words[i]!;
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = eq > 0 ? w.slice(2, eq) : w.slice(2);
      if (name === 'get') get = true;
      else if (name === 'head') head = true;
      else if (CURL_VALUE_OPTS.has(name)) {
        const value = eq > 0 ? w.slice(eq + 1) : (words[++i] ?? '');
        apply(name, value);
      }
      continue;
    }
    if (w.startsWith('-') && w.length > 1) {
      for (let k = 1; k < w.length; k += 1) {
        const o = w[k]!;
        if (o === 'G') get = true;
        else if (o === 'I') head = true;
        else if (CURL_VALUE_OPTS.has(o)) {
          const rest = w.slice(k + 1);
          apply(o, rest !== '' ? rest : (words[++i] ?? ''));
          break;
        }
      }
      continue;
    }
    urls.push(w);
  }
  const url = urls.find((u) => /^(https?:\/\/|\{\{|\$|<|\/|[\w.-]+(:\d+)?\/)/i.test(u));
  if (!url) return undefined;

  let target = url;
  let body: string | undefined;
  const jsonHeader = json ? ([['Content-Type', 'application/json']] as [string, string][]) : [];
  if (get && data.length > 0) {
    target += (target.includes('?') ? '&' : '?') + data.join('&');
  } else if (data.length > 0) {
    body = data.join('&');
  }
  if (form.length > 0) {
    body = form
      .map((f) => {
        const eq = f.indexOf('=');
        const name = eq > 0 ? f.slice(0, eq) : f;
        return `Content-Disposition: form-data; name="${name.replace(/"/g, '')}"\n\n${eq > 0 ? f.slice(eq + 1) : ''}`;
      })
      .join('\n');
    headers.push(['Content-Type', 'multipart/form-data']);
  }
  const resolved = method ?? (head ? 'HEAD' : (data.length > 0 && !get) || form.length > 0 ? 'POST' : 'GET');
  return {
    method: /^[A-Z]{3,10}$/.test(resolved) ? resolved : undefined,
    target,
    headers: [...jsonHeader, ...headers],
    ...(body !== undefined ? { body } : {}),
    snippet,
  };
}

function wgetRequest(words: readonly string[], snippet: string): Request | undefined {
  let body: string | undefined;
  let method: string | undefined;
  const headers: [string, string][] = [];
  let url: string | undefined;
  for (let i = 1; i < words.length; i += 1) {
    const w = words[i]!;
    const opt = /^--([\w-]+)(?:=(.*))?$/s.exec(w);
    if (opt) {
      const value = opt[2] ?? '';
      if (opt[1] === 'post-data' || opt[1] === 'body-data') body = value || words[++i];
      else if (opt[1] === 'method') method = (value || words[++i] || '').toUpperCase();
      else if (opt[1] === 'header') {
        const h = /^([^:\s]{1,128}):\s*(.*)$/s.exec(value || words[++i] || '');
        if (h) headers.push([h[1]!, h[2]!]);
      } else if (opt[1] === 'user-agent') headers.push(['User-Agent', value || words[++i] || '']);
      continue;
    }
    if (w.startsWith('-')) {
      if (/^-[OoPaeiU]$/.test(w)) i += 1; // short options with a value
      continue;
    }
    url ??= w;
  }
  if (!url || !/^(https?:\/\/|\{\{|\$|<)/i.test(url)) return undefined;
  const resolved = method ?? (body !== undefined ? 'POST' : 'GET');
  return {
    method: /^[A-Z]{3,10}$/.test(resolved) ? resolved : undefined,
    target: url,
    headers,
    ...(body !== undefined ? { body } : {}),
    snippet,
  };
}

function commandLines(
  lines: readonly Line[],
  ex: Extractor,
  consumed: Set<number>,
  seenUrls: Set<string>,
): void {
  for (let i = 0; i < lines.length; i += 1) {
    if (consumed.has(i)) continue;
    const line = lines[i]!;
    const m = /(?:^|[\s;|&(`$>])(curl|wget)(?:\.exe)?\s+/.exec(line.text);
    if (!m) continue;
    // Join continuation lines (POSIX `\`, PowerShell backtick, cmd `^`).
    let command = line.text.slice(m.index + (m[0].length - m[0].trimStart().length));
    let j = i;
    while (/[\\`^]\s*$/.test(command) && j + 1 < lines.length && j - i < 40) {
      j += 1;
      command = command.replace(/[\\`^]\s*$/, ' ') + lines[j]!.text;
      consumed.add(j);
    }
    consumed.add(i);
    const words = shellWords(command.slice(0, 16_384));
    const snippet = snippetOf(command.replace(/\s+/g, ' '));
    const req = m[1] === 'curl' ? curlRequest(words, snippet) : wgetRequest(words, snippet);
    if (req) {
      seenUrls.add(req.target);
      ex.request(req);
    }
    i = j;
  }
}

// --------------------------------------------------------------------------------------------------- URLs

/** Drop trailing punctuation and unbalanced closing brackets (a URL at the end of a sentence or a link). */
function trimUrl(raw: string): string {
  let url = raw;
  for (;;) {
    const before = url;
    url = url.replace(/[.,;:!?*]+$/, '');
    for (const [open, close] of [
      ['(', ')'],
      ['[', ']'],
    ] as const) {
      if (url.endsWith(close) && url.split(close).length > url.split(open).length) url = url.slice(0, -1);
    }
    if (url === before) return url;
  }
}

function urlsInText(
  lines: readonly Line[],
  ex: Extractor,
  consumed: Set<number>,
  seenUrls: Set<string>,
): void {
  const URL_RE = /(?:https?:\/\/|\{\{(?:BaseURL|RootURL|Hostname)\}\})[^\s"'<>`\\]{0,2048}/gi;
  for (let i = 0; i < lines.length; i += 1) {
    if (consumed.has(i)) continue;
    const line = lines[i]!;
    for (const m of line.text.matchAll(URL_RE)) {
      const url = trimUrl(m[0]);
      if (seenUrls.has(url)) continue;
      seenUrls.add(url);
      const t = parseTarget(url);
      if (!t) continue;
      const host = t.host.toLowerCase();
      if (REFERENCE_HOSTS.test(host.replace(/:\d+$/, ''))) continue;
      const placeholder = host === '' || PLACEHOLDER_HOST.test(host) || /^\{\{/.test(url);
      const carries = decodedForms(url).some((f) => scanTokens(f, true).length > 0);
      if (!placeholder && !carries && !line.inCode) continue;
      if (t.path.length <= 1 && t.query === undefined) continue;
      ex.request({ target: url, headers: [], snippet: snippetOf(line.text, m.index, m[0].length) });
    }
  }
}

// --------------------------------------------------------------------------------------------------- prose

const PROSE_METHOD_PATH = new RegExp(
  `\\b(GET|POST|PUT|DELETE|PATCH)\\s+(?:HTTP\\s+)?(?:requests?\\s+)?(?:(?:to|against|on|for)\\s+)?(?:the\\s+)?[\`'"]?(\\/[^\\s\`'"<>)\\]]{1,500})`,
  'g',
);
const ENDPOINT_BEFORE =
  /\b(?:endpoint|path|url|uri|route|servlet|handler|page|api|resource|script)\s+(?:at\s+)?[`'"]?(\/[^\s`'"<>)\]]{1,500})/gi;
const ENDPOINT_AFTER =
  /[`'"](\/[^\s`'"<>]{1,500})[`'"]\s+(?:endpoint|route|servlet|handler|page|api|url|uri|path|resource|script)\b/gi;
const PARAM_QUOTED_BEFORE =
  /[`'"]([^`'"\s]{1,64})[`'"]\s+(?:(?:GET|POST|query|form|URL|JSON|request|HTTP|body|cookie)\s+)?(?:parameter|param|argument|field)s?\b/gi;
const PARAM_THE_BEFORE =
  /\bthe\s+([A-Za-z_][\w.[\]-]{0,63})\s+(?:(?:GET|POST|query|form|URL|JSON|request|HTTP|body)\s+)?(?:parameter|param|argument)\b/gi;
const PARAM_LIST_BEFORE =
  /((?:[`'"][^`'"\n]{1,64}[`'"](?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+)){1,10})[`'"][^`'"\n]{1,64}[`'"]\s+(?:(?:GET|POST|query|form|URL|JSON|request|HTTP|body)\s+)?(?:parameters|params|arguments|fields)\b/gi;
const PARAM_LIST =
  /^(?:[`'"][^`'"\n]{1,64}[`'"](?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+|\s*\/\s*)?){1,10}/;
const PARAM_LIST_AFTER = /\b(?:parameter|param|argument|field)s?\s+(?:named\s+|called\s+)?(?=[`'"])/gi;
const HEADER_QUOTED = /[`'"]([A-Za-z][A-Za-z0-9-]{1,60})[`'"]\s+(?:HTTP\s+|request\s+)?header\b/gi;
const HEADER_BARE = /\b((?:X|[A-Z][a-z0-9]+)(?:-[A-Z0-9][A-Za-z0-9]*)+)\s+(?:HTTP\s+|request\s+)?header\b/g;
const HEADER_AFTER = /\bheaders?\s+(?:named\s+|called\s+)?[`'"]([A-Za-z][A-Za-z0-9-]{1,60})[`'"]/gi;
const HEADER_COLON = /^\s*[-*]?\s*`?((?:X|[A-Z][a-z0-9]+)(?:-[A-Z0-9][A-Za-z0-9]*)+):`?[ \t]+(\S.*)$/;
const HEADER_DICT =
  /["']((?:X|[A-Z][a-z0-9]+)(?:-[A-Z0-9][A-Za-z0-9]*)+)["']\s*:\s*["']([^"'\n]{1,2000})["']/g;
const KNOWN_HEADERS = new Set([
  'user-agent',
  'content-type',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-original-url',
  'x-rewrite-url',
  'x-api-version',
  'x-http-method-override',
  'x-real-ip',
  'x-client-ip',
  'if-modified-since',
  'accept-language',
]);

function addParam(ex: Extractor, name: string, snippet: string): void {
  if (PARAM_NAME.test(name) && !PARAM_STOPWORDS.has(name.toLowerCase()))
    ex.facts.add('parameters', name, snippet);
}

function prose(lines: readonly Line[], ex: Extractor, consumed: Set<number>): void {
  for (let i = 0; i < lines.length; i += 1) {
    if (consumed.has(i)) continue;
    const line = lines[i]!;
    const text = line.text;
    const snip = (m: RegExpMatchArray) => snippetOf(text, m.index ?? 0, m[0].length);

    for (const m of text.matchAll(PROSE_METHOD_PATH)) {
      const path = m[2]!.replace(/[.,;:!?]+$/, '');
      if (FILESYSTEM_PATH.test(path)) continue;
      ex.request({ method: m[1]!, target: path, headers: [], snippet: snip(m) });
    }
    for (const re of [ENDPOINT_BEFORE, ENDPOINT_AFTER]) {
      for (const m of text.matchAll(re)) {
        const path = m[1]!.replace(/[.,;:!?]+$/, '');
        if (FILESYSTEM_PATH.test(path) || path.length <= 1) continue;
        ex.request({ target: path, headers: [], snippet: snip(m) });
      }
    }
    if (line.inCode) {
      const call = clientCall(text, snippetOf(text));
      if (call) ex.request(call);
      // Header-looking lines in code that belong to no request, and header dictionaries in PoC scripts.
      const h = HEADER_COLON.exec(text);
      if (h) headerLine(ex, h[1]!, h[2]!, snippetOf(text), true);
      for (const d of text.matchAll(HEADER_DICT)) headerLine(ex, d[1]!, d[2]!, snip(d), true);
      continue;
    }
    // Names are gathered with their position and added in reading order.
    const params: Array<[number, string, string]> = [];
    const at = (m: RegExpMatchArray, offset = 0) => (m.index ?? 0) + offset;
    for (const m of text.matchAll(PARAM_QUOTED_BEFORE)) params.push([at(m), m[1]!, snip(m)]);
    for (const m of text.matchAll(PARAM_THE_BEFORE)) params.push([at(m), m[1]!, snip(m)]);
    for (const m of text.matchAll(PARAM_LIST_BEFORE)) {
      // `a`, `b` and `c` parameters: the last name is caught above, the others here.
      for (const q of m[1]!.matchAll(/[`'"]([^`'"\n]{1,64})[`'"]/g))
        params.push([at(m, q.index), q[1]!, snip(m)]);
    }
    for (const m of text.matchAll(PARAM_LIST_AFTER)) {
      // Quoted names separated by commas, "and", "or": parameters `a`, `b` and `c`.
      const from = at(m, m[0].length);
      const list = PARAM_LIST.exec(text.slice(from, from + 800));
      if (!list) continue;
      for (const q of list[0].matchAll(/[`'"]([^`'"\n]{1,64})[`'"]/g)) {
        params.push([from + (q.index ?? 0), q[1]!, snip(m)]);
      }
    }
    for (const [, name, snippet] of params.sort((a, b) => a[0] - b[0])) addParam(ex, name, snippet);

    const headers: Array<[number, string, string]> = [];
    for (const re of [HEADER_QUOTED, HEADER_BARE, HEADER_AFTER]) {
      for (const m of text.matchAll(re)) {
        const name = m[1]!;
        if (/^(the|a|an|http|request|response|custom|same|malicious|crafted)$/i.test(name)) continue;
        headers.push([at(m), name, snip(m)]);
      }
    }
    for (const [, name, snippet] of headers.sort((a, b) => a[0] - b[0]))
      ex.facts.add('headers', name, snippet);
    const h = HEADER_COLON.exec(text);
    if (h) headerLine(ex, h[1]!, h[2]!, snippetOf(text), false);
  }
}

const CLIENT_CALL =
  /\b(?:requests|session|sess|httpx|client|axios|s|r)\.(get|post|put|delete|patch|head)\s*\(([^\n]{0,4000})/;
const QUOTED_TARGET = /["'`]((?:https?:\/\/[^"'`\s]{1,2000}|\/[^"'`\s]{1,2000}))["'`]/;
const DICT_ARG = /\b(data|json|params)\s*=\s*\{([^{}\n]{0,4000})\}/g;
const DICT_PAIR = /["']([^"'\n]{1,128})["']\s*:\s*(?:["']([^"'\n]{0,2000})["']|([\w.+-]{1,100}))/g;

/** A Python requests / httpx / axios call on one line of a PoC script: method, path, data/json/params keys. */
function clientCall(text: string, snippet: string): Request | undefined {
  const m = CLIENT_CALL.exec(text);
  if (!m) return undefined;
  const args = m[2]!;
  const target = QUOTED_TARGET.exec(args)?.[1];
  const query: string[] = [];
  const body: string[] = [];
  for (const d of args.matchAll(DICT_ARG)) {
    for (const pair of d[2]!.matchAll(DICT_PAIR)) {
      const entry = `${encodeURIComponent(pair[1]!)}=${encodeURIComponent(pair[2] ?? pair[3] ?? '')}`;
      (d[1] === 'params' ? query : body).push(entry);
    }
  }
  if (!target && query.length === 0 && body.length === 0) return undefined;
  const path = target ?? '';
  return {
    method: m[1]!.toUpperCase(),
    target: query.length > 0 ? `${path}${path.includes('?') ? '&' : '?'}${query.join('&')}` : path,
    headers: [],
    ...(body.length > 0 ? { body: body.join('&') } : {}),
    snippet,
  };
}

function headerLine(ex: Extractor, name: string, value: string, snippet: string, inCode: boolean): void {
  const carries = decodedForms(value).some((f) => scanTokens(f, true).length > 0);
  const known = /^x-/i.test(name) || KNOWN_HEADERS.has(name.toLowerCase());
  const common = COMMON_HEADERS.has(name.toLowerCase());
  if (carries || (!common && (inCode || known))) {
    ex.request({ target: '', headers: [[name, value]], snippet });
  }
}

// ------------------------------------------------------------------------------------------------------ API

/** Extract exploit facts from advisory or PoC text, each with the snippet it came from. */
export function extractFacts(input: string, options: ExtractOptions = {}): Extraction {
  const max = options.maxChars ?? MAX_TEXT;
  const text = stripControls(input.length > max ? input.slice(0, max) : input);
  const lines = splitLines(text);
  const ex = new Extractor();
  const consumed = new Set<number>();
  const seenUrls = new Set<string>();

  rawRequests(lines, ex, consumed);
  commandLines(lines, ex, consumed, seenUrls);
  urlsInText(lines, ex, consumed, seenUrls);
  prose(lines, ex, consumed);

  // Catalog tokens anywhere else in the text (prose and code outside the requests already read).
  for (let i = 0; i < lines.length; i += 1) {
    if (consumed.has(i)) continue;
    const line = lines[i]!;
    for (const hit of scanTokens(line.text, false)) {
      const snippet = snippetOf(line.text, hit.index, hit.length);
      ex.facts.add('payloadTokens', hit.token, snippet);
      ex.vote(hit.pattern.attackClass, hit.pattern.weight, snippet, `token:${hit.token}`);
    }
  }
  for (const line of lines) {
    for (const [cls, re] of CLASS_KEYWORDS) {
      const m = re.exec(line.text);
      if (m) ex.vote(cls, 2, snippetOf(line.text, m.index, m[0].length), `keyword:${cls}`);
    }
  }

  const cls = ex.attackClass();
  const sources = [...ex.facts.sources];
  if (cls) sources.unshift({ field: 'attackClass', value: cls.cls, snippet: cls.snippet });
  const facts = ExploitFactsSchema.parse({
    ...(cls ? { attackClass: cls.cls } : {}),
    endpoints: ex.facts.values('endpoints'),
    parameters: ex.facts.values('parameters'),
    methods: ex.facts.values('methods'),
    headers: ex.facts.values('headers'),
    payloadTokens: ex.facts.values('payloadTokens'),
  });
  return { facts, sources };
}

/** Whether the facts hold anything at all. */
export function hasFacts(facts: ExploitFacts): boolean {
  return (
    facts.attackClass !== undefined ||
    facts.endpoints.length > 0 ||
    facts.parameters.length > 0 ||
    facts.methods.length > 0 ||
    facts.headers.length > 0 ||
    facts.payloadTokens.length > 0
  );
}
