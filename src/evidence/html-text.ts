// Fetched page → readable text for the extractor and, fenced, for prompts. HTML goes through Mozilla
// Readability on a linkedom DOM (no browser, no script execution); scripts, styles, embedded objects and
// hidden elements are removed first (hidden text is a favourite place for prompt injection). Code blocks are
// where proofs of concept live, so <pre> and multi-line <code> come out as fenced blocks with their text
// verbatim, inline <code> as `backticks`, and any code block that Readability dropped is appended at the end.
// When Readability finds no article the whole body is converted instead. The result is capped.

import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';

import { stripControls, tidyLines, truncate } from './text-clean.js';

export const DEFAULT_MAX_TEXT_CHARS = 100_000;
/** HTML beyond this many characters is not parsed at all (the fetcher caps bytes well below it). */
const MAX_HTML_CHARS = 4_000_000;
/** Pages with more elements than this, or nested deeper, skip Readability (the plain path takes over). */
const MAX_READABILITY_ELEMENTS = 15_000;
const MAX_READABILITY_DEPTH = 64;
/** Readability output shorter than this is not an article: use the plain conversion. */
const MIN_ARTICLE_CHARS = 140;
/**
 * linkedom's parser (htmlparser2) spends time proportional to the open-element stack on every tag, so deep
 * nesting is quadratic: 50,000 unclosed <div>s take seconds, a 2 MiB page of them minutes. Pages whose
 * nesting, estimated by a linear pre-scan, passes this depth are converted by a linear tag stripper instead.
 */
const MAX_PARSE_DEPTH = 256;
/** At most this many code blocks that Readability dropped are appended. */
const MAX_RECOVERED_BLOCKS = 200;
export const TRUNCATION_MARK = '\n[... truncated]';

export interface PageText {
  title?: string;
  text: string;
  /** How the text was obtained. */
  method: 'readability' | 'plain' | 'text';
  truncated: boolean;
}

export interface HtmlTextOptions {
  /** Cap on the returned text, in characters (default 100,000). */
  maxChars?: number;
}

// Minimal structural view of the linkedom DOM (the project compiles without the DOM lib).
interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
  parentNode: DomNode | null;
}
interface DomElement extends DomNode {
  localName: string;
  getAttribute(name: string): string | null;
  remove(): void;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}
interface DomDocument extends DomNode {
  title: string;
  body: DomElement | null;
  documentElement: DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}

const ELEMENT = 1;
const TEXT = 3;

/** Elements whose content is never text a reader sees. */
const DROP = [
  'script',
  'style',
  'noscript',
  'template',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'svg',
  'math',
  'canvas',
  'audio',
  'video',
  'link',
  'meta',
  'head > base',
  'input',
  'select',
  'button',
];
const HIDDEN = ['[hidden]', '[aria-hidden="true"]'];

const BLOCK = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'body',
  'dd',
  'details',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'header',
  'hr',
  'html',
  'main',
  'nav',
  'ol',
  'p',
  'section',
  'summary',
  'table',
  'tbody',
  'thead',
  'tfoot',
  'tr',
  'ul',
  'textarea',
]);

type Segment = { kind: 'text'; value: string } | { kind: 'code'; value: string; lang?: string };

function parse(html: string): DomDocument {
  const source = /<(?:html|body)[\s>]/i.test(html.slice(0, 4096))
    ? html
    : `<!DOCTYPE html><html><head></head><body>${html}</body></html>`;
  const { document } = parseHTML(source) as unknown as { document: DomDocument };
  return document;
}

function removeAll(doc: DomDocument, selectors: readonly string[]): void {
  for (const selector of selectors) {
    let found: ArrayLike<DomElement>;
    try {
      found = doc.querySelectorAll(selector);
    } catch {
      continue; // a selector linkedom does not support: skip rather than fail the page
    }
    for (const el of Array.from(found)) el.remove();
  }
}

function clean(doc: DomDocument): void {
  removeAll(doc, DROP);
  removeAll(doc, HIDDEN);
  // visibility:hidden, font-size:0 and friends, matched by hand (attribute selectors cannot ignore spaces).
  for (const el of Array.from(doc.querySelectorAll('[style]'))) {
    const style = (el.getAttribute('style') ?? '').toLowerCase().replace(/\s+/g, '');
    if (/display:none|visibility:hidden|font-size:0(?![.\d])|opacity:0(?![.\d])/.test(style)) el.remove();
  }
}

/** Text of a <pre>/<code> subtree with <br> as line breaks. */
function codeText(root: DomNode): string {
  let out = '';
  const stack: DomNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.nodeType === TEXT) {
      out += node.textContent ?? '';
      continue;
    }
    if (node.nodeType !== ELEMENT) continue;
    if (node.nodeName.toLowerCase() === 'br') {
      out += '\n';
      continue;
    }
    const kids = node.childNodes;
    for (let i = kids.length - 1; i >= 0; i -= 1) stack.push(kids[i]!);
  }
  return out.replace(/^\n+|\s+$/g, '');
}

function codeLang(el: DomElement): string | undefined {
  const m =
    /(?:^|\s)(?:language|lang)-([a-z][a-z0-9+-]{0,19})(?:\s|$)/i.exec(el.getAttribute('class') ?? '') ??
    /^([a-z][a-z0-9+-]{0,19})$/i.exec(el.getAttribute('data-lang') ?? '');
  return m ? m[1]!.toLowerCase() : undefined;
}

/** Walk a subtree into text and code segments, iteratively (deeply nested pages cannot blow the stack). */
function toSegments(root: DomNode): Segment[] {
  const segments: Segment[] = [];
  let text = '';
  const flush = () => {
    if (text !== '') segments.push({ kind: 'text', value: text });
    text = '';
  };
  const code = (value: string, lang?: string) => {
    flush();
    if (value.trim() !== '') segments.push(lang ? { kind: 'code', value, lang } : { kind: 'code', value });
  };
  type Frame = { node: DomNode; exit?: string };
  const stack: Frame[] = [{ node: root }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.exit !== undefined) {
      text += frame.exit;
      continue;
    }
    const node = frame.node;
    if (node.nodeType === TEXT) {
      text += (node.textContent ?? '').replace(/\s+/g, ' ');
      continue;
    }
    if (node.nodeType !== ELEMENT && node.nodeType !== 9 && node.nodeType !== 11) continue;
    const tag = node.nodeName.toLowerCase();
    const el = node as DomElement;
    if (tag === 'pre') {
      const inner = Array.from(node.childNodes).find((c) => c.nodeName.toLowerCase() === 'code') as
        DomElement | undefined;
      code(codeText(node), codeLang(el) ?? (inner ? codeLang(inner) : undefined));
      continue;
    }
    if (tag === 'code') {
      const value = codeText(node);
      if (value.includes('\n')) code(value, codeLang(el));
      else if (value.trim() !== '') text += `\`${value.replace(/`/g, "'")}\``;
      continue;
    }
    let enter = '';
    let exit = '';
    if (tag === 'br') enter = '\n';
    else if (/^h[1-6]$/.test(tag)) {
      enter = `\n\n${'#'.repeat(Number(tag[1]))} `;
      exit = '\n\n';
    } else if (tag === 'li') {
      enter = '\n- ';
    } else if (tag === 'td' || tag === 'th') {
      enter = ' | ';
    } else if (BLOCK.has(tag)) {
      enter = '\n\n';
      exit = '\n\n';
    }
    text += enter;
    stack.push({ node, exit });
    const kids = node.childNodes;
    for (let i = kids.length - 1; i >= 0; i -= 1) stack.push({ node: kids[i]! });
  }
  flush();
  return segments;
}

function fenceFor(value: string): string {
  let longest = 0;
  for (const m of value.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}

function render(segments: readonly Segment[]): string {
  const parts: string[] = [];
  for (const s of segments) {
    if (s.kind === 'text') {
      const value = s.value
        .split('\n')
        .map((line) => line.replace(/ {2,}/g, ' ').trim())
        .join('\n');
      parts.push(value);
    } else {
      const fence = fenceFor(s.value);
      parts.push(`\n\n${fence}${s.lang ?? ''}\n${s.value}\n${fence}\n\n`);
    }
  }
  return tidyLines(parts.join(''));
}

interface Shape {
  elements: number;
  depth: number;
  /** Every <pre>, and every multi-line <code> outside a <pre>, in document order. */
  blocks: Segment[];
}

/**
 * One iterative pass over the cleaned page: element count, maximum depth (Readability's cost grows much
 * faster than linearly with nesting depth on linkedom, so both gate whether it runs at all) and the code blocks.
 */
function shape(root: DomNode): Shape {
  let elements = 0;
  let depth = 0;
  const blocks: Segment[] = [];
  const stack: Array<{ node: DomNode; level: number; inCode: boolean }> = [
    { node: root, level: 0, inCode: false },
  ];
  while (stack.length > 0) {
    const { node, level, inCode } = stack.pop()!;
    if (node.nodeType !== ELEMENT && node.nodeType !== 9 && node.nodeType !== 11) continue;
    elements += 1;
    if (level > depth) depth = level;
    const tag = node.nodeName.toLowerCase();
    const code = tag === 'pre' || tag === 'code';
    if (code && !inCode) {
      // Nested <pre>/<code> belong to the outer block (and are only counted, so the pass stays linear).
      const value = codeText(node);
      if (value.trim() !== '' && (tag === 'pre' || value.includes('\n')))
        blocks.push({ kind: 'code', value });
    }
    const kids = node.childNodes;
    for (let i = kids.length - 1; i >= 0; i -= 1) {
      stack.push({ node: kids[i]!, level: level + 1, inCode: inCode || code });
    }
  }
  return { elements, depth, blocks };
}

function squash(s: string): string {
  return s.replace(/\s+/g, '');
}

function finish(text: string, maxChars: number): { text: string; truncated: boolean } {
  const cleaned = tidyLines(stripControls(text));
  const cut = truncate(cleaned, Math.max(0, maxChars - TRUNCATION_MARK.length));
  return cut.truncated ? { text: cut.text + TRUNCATION_MARK, truncated: true } : cut;
}

const VOID = new Set(
  'area base br col embed hr img input link meta source track wbr param keygen basefont frame isindex'.split(
    ' ',
  ),
);
/** Elements the parser closes implicitly (a new <p> ends the last one): not counted as nesting. */
const AUTO_CLOSED = new Set(
  'p li dt dd tr td th option optgroup thead tbody tfoot colgroup rb rt rp rtc'.split(' '),
);
/** Elements whose content is skipped by the pre-scan and the stripper. */
const RAW_CONTENT = new Set([
  'script',
  'style',
  'textarea',
  'title',
  'xmp',
  'noscript',
  'template',
  'svg',
  'math',
]);

/**
 * Estimate the deepest element nesting in linear time: per tag name, opens minus closes (never below zero),
 * summed, skipping void, implicitly closed and raw-text elements. Overestimates rather than underestimates.
 */
export function estimateNesting(html: string): number {
  const open = new Map<string, number>();
  let total = 0;
  let max = 0;
  const re = /<(\/?)([a-zA-Z][a-zA-Z0-9-]{0,40})/g;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const name = m[2]!.toLowerCase();
    const closing = m[1] === '/';
    if (!closing && RAW_CONTENT.has(name)) {
      const end = html.toLowerCase().indexOf(`</${name}`, re.lastIndex);
      if (end < 0) break;
      re.lastIndex = end + name.length + 2;
      continue;
    }
    if (VOID.has(name) || AUTO_CLOSED.has(name)) continue;
    const n = open.get(name) ?? 0;
    if (closing) {
      if (n > 0) {
        open.set(name, n - 1);
        total -= 1;
      }
    } else {
      open.set(name, n + 1);
      total += 1;
      if (total > max) max = total;
    }
  }
  return max;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code =
        ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)
        ? String.fromCodePoint(code)
        : '';
    }
    return ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

const STRIP_BLOCK = new Set([...BLOCK, 'br', 'li', 'tr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);

/** Linear tag stripper for pages too deeply nested to parse: text, block breaks, <pre> as fenced code. */
function stripTags(html: string): string {
  const segments: Segment[] = [];
  let text = '';
  let pre: string | undefined;
  const lower = html.toLowerCase();
  const re = /<(\/?)([a-zA-Z][a-zA-Z0-9-]{0,40})[^>]*>|<!--|<![^>]*>/g;
  let last = 0;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const chunk = decodeEntities(html.slice(last, m.index));
    if (pre !== undefined) pre += chunk;
    else text += chunk.replace(/\s+/g, ' ');
    last = re.lastIndex;
    if (m[0] === '<!--') {
      const end = html.indexOf('-->', re.lastIndex);
      last = re.lastIndex = end < 0 ? html.length : end + 3;
      continue;
    }
    const name = (m[2] ?? '').toLowerCase();
    const closing = m[1] === '/';
    if (!closing && RAW_CONTENT.has(name)) {
      const end = lower.indexOf(`</${name}`, re.lastIndex);
      const close = end < 0 ? html.length : html.indexOf('>', end);
      last = re.lastIndex = close < 0 ? html.length : close + 1;
      continue;
    }
    if (name === 'pre') {
      if (!closing && pre === undefined) {
        segments.push({ kind: 'text', value: text });
        text = '';
        pre = '';
      } else if (closing && pre !== undefined) {
        if (pre.trim() !== '') segments.push({ kind: 'code', value: pre.replace(/^\n+|\s+$/g, '') });
        pre = undefined;
      }
      continue;
    }
    if (pre !== undefined) {
      if (name === 'br') pre += '\n';
      continue;
    }
    if (STRIP_BLOCK.has(name)) text += name === 'br' ? '\n' : '\n\n';
  }
  const tail = decodeEntities(html.slice(last));
  if (pre !== undefined) segments.push({ kind: 'code', value: pre + tail });
  else text += tail.replace(/\s+/g, ' ');
  segments.push({ kind: 'text', value: text });
  return render(segments);
}

/** Convert an HTML page to readable text (see the file comment). Never throws on malformed HTML. */
export function htmlToText(html: string, options: HtmlTextOptions = {}): PageText {
  const maxChars = options.maxChars ?? DEFAULT_MAX_TEXT_CHARS;
  const source = html.length > MAX_HTML_CHARS ? html.slice(0, MAX_HTML_CHARS) : html;

  if (estimateNesting(source) > MAX_PARSE_DEPTH) {
    const title = /<title[^>]*>([^<]{0,500})/i.exec(source.slice(0, 65_536))?.[1];
    const cleanTitle = title ? stripControls(decodeEntities(title)).replace(/\s+/g, ' ').trim() : '';
    const out = finish(stripTags(source), maxChars);
    return {
      ...(cleanTitle ? { title: cleanTitle } : {}),
      text: out.text,
      method: 'plain',
      truncated: out.truncated,
    };
  }

  const doc = parse(source);
  clean(doc);
  const title = stripControls(doc.title ?? '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 500);
  const plainRoot: DomNode | null = doc.body ?? doc.documentElement;
  const page = shape(doc);

  let article: DomNode | undefined;
  let articleTitle: string | undefined;
  if (page.elements <= MAX_READABILITY_ELEMENTS && page.depth <= MAX_READABILITY_DEPTH) {
    try {
      // Readability rewrites the document it is given: give it its own copy.
      const copy = parse(source);
      clean(copy);
      const reader = new Readability<DomNode>(copy as never, {
        serializer: (node) => node as unknown as DomNode,
        maxElemsToParse: MAX_READABILITY_ELEMENTS,
        keepClasses: true, // language-* classes name the code blocks' languages
      });
      const result = reader.parse();
      if (result?.content && (result.textContent ?? '').trim().length >= MIN_ARTICLE_CHARS) {
        article = result.content;
        articleTitle = result.title ?? undefined;
      }
    } catch {
      article = undefined; // a Readability failure: the plain path below
    }
  }

  const segments = article ? toSegments(article) : plainRoot ? toSegments(plainRoot) : [];
  let text = render(segments);
  if (article) {
    const kept = new Set(segments.filter((seg) => seg.kind === 'code').map((seg) => squash(seg.value)));
    const missing = page.blocks.filter((b) => !kept.has(squash(b.value))).slice(0, MAX_RECOVERED_BLOCKS);
    if (missing.length > 0) text += `\n\nCode blocks from the page:\n${render(missing)}`;
  }
  const out = finish(text, maxChars);
  const bestTitle = (articleTitle ?? '').trim() || title;
  return {
    ...(bestTitle ? { title: stripControls(bestTitle).replace(/\s+/g, ' ').trim().slice(0, 500) } : {}),
    text: out.text,
    method: article ? 'readability' : 'plain',
    truncated: out.truncated,
  };
}

/** Non-HTML text (plain, Markdown, JSON, XML, YAML): controls stripped, lines tidied, capped. */
export function plainToText(body: string, options: HtmlTextOptions = {}): PageText {
  const out = finish(body, options.maxChars ?? DEFAULT_MAX_TEXT_CHARS);
  return { text: out.text, method: 'text', truncated: out.truncated };
}

/** Dispatch on the fetched content type. */
export function pageToText(body: string, contentType: string, options: HtmlTextOptions = {}): PageText {
  return contentType === 'text/html' || contentType === 'application/xhtml+xml'
    ? htmlToText(body, options)
    : plainToText(body, options);
}
