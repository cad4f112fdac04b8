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
/** Readability gives up (throws) on documents with more elements than this; the plain path takes over. */
const MAX_ELEMENTS = 40_000;
/** Readability output shorter than this is not an article: use the plain conversion. */
const MIN_ARTICLE_CHARS = 140;
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

function isInsidePre(node: DomNode): boolean {
  for (let p = node.parentNode; p; p = p.parentNode) {
    if (p.nodeName.toLowerCase() === 'pre') return true;
  }
  return false;
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

/** Code blocks of the cleaned page (multi-line <code> and every <pre>), to check Readability kept them. */
function codeBlocks(doc: DomDocument): Segment[] {
  const blocks: Segment[] = [];
  for (const el of Array.from(doc.querySelectorAll('pre, code'))) {
    const tag = el.localName.toLowerCase();
    if (tag === 'code' && isInsidePre(el)) continue;
    const value = codeText(el);
    if (value.trim() === '' || (tag === 'code' && !value.includes('\n'))) continue;
    blocks.push({ kind: 'code', value });
  }
  return blocks;
}

function squash(s: string): string {
  return s.replace(/\s+/g, '');
}

function finish(text: string, maxChars: number): { text: string; truncated: boolean } {
  const cleaned = tidyLines(stripControls(text));
  const cut = truncate(cleaned, Math.max(0, maxChars - TRUNCATION_MARK.length));
  return cut.truncated ? { text: cut.text + TRUNCATION_MARK, truncated: true } : cut;
}

/** Convert an HTML page to readable text (see the file comment). Never throws on malformed HTML. */
export function htmlToText(html: string, options: HtmlTextOptions = {}): PageText {
  const maxChars = options.maxChars ?? DEFAULT_MAX_TEXT_CHARS;
  const source = html.length > MAX_HTML_CHARS ? html.slice(0, MAX_HTML_CHARS) : html;

  const doc = parse(source);
  clean(doc);
  const title = stripControls(doc.title ?? '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 500);
  const blocks = codeBlocks(doc);
  const plainRoot: DomNode | null = doc.body ?? doc.documentElement;

  let article: DomNode | undefined;
  let articleTitle: string | undefined;
  try {
    // Readability rewrites the document it is given: give it its own copy.
    const copy = parse(source);
    clean(copy);
    const reader = new Readability<DomNode>(copy as never, {
      serializer: (node) => node as unknown as DomNode,
      maxElemsToParse: MAX_ELEMENTS,
      keepClasses: true, // language-* classes name the code blocks' languages
    });
    const result = reader.parse();
    if (result?.content && (result.textContent ?? '').trim().length >= MIN_ARTICLE_CHARS) {
      article = result.content;
      articleTitle = result.title ?? undefined;
    }
  } catch {
    article = undefined; // too many elements or a Readability failure: the plain path below
  }

  const segments = article ? toSegments(article) : plainRoot ? toSegments(plainRoot) : [];
  let text = render(segments);
  if (article) {
    const have = squash(text);
    const missing = blocks.filter((b) => !have.includes(squash(b.value)));
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
