// Fetched page → readable text for the extractor and, fenced, for prompts. HTML goes through Mozilla
// Readability on a linkedom DOM (no browser, no script execution); scripts, styles, embedded objects and
// hidden elements are removed first (hidden text is a favourite place for prompt injection). Code blocks are
// where proofs of concept live, so <pre> and multi-line <code> come out as fenced blocks with their text
// verbatim, inline <code> as `backticks`, and any code block that Readability dropped is appended at the end.
// When Readability finds no article the whole body is converted instead. The result is capped.
// Pages nested too deep for the parser (see MAX_PARSE_DEPTH) are flattened first and take the same path.

import { Readability } from '@mozilla/readability';
import { Parser } from 'htmlparser2';
import { parseHTML } from 'linkedom';

import { stripControls, tidyLines, truncate } from './text-clean.js';

export const DEFAULT_MAX_TEXT_CHARS = 100_000;
/** HTML beyond this many characters is not parsed at all (the fetcher caps bytes well below it). */
const MAX_HTML_CHARS = 4_000_000;
/** Pages with more elements than this, or nested deeper, skip Readability (the plain path takes over). */
const MAX_READABILITY_ELEMENTS = 15_000;
const MAX_READABILITY_DEPTH = 64;
/**
 * Nor with more nodes than this, text included: Readability on linkedom costs about 50 µs a text node
 * (measured: 30,000 bare text nodes take 1.4 s, 50,000 take 2.6 s, 100,000 overflow its stack), and a page
 * of `a&amp;` or `< ` is one text node every few bytes. An article at the element limit has about 30,000.
 */
const MAX_READABILITY_NODES = 45_000;
/** Readability output shorter than this is not an article: use the plain conversion. */
const MIN_ARTICLE_CHARS = 140;
/**
 * linkedom's parser (htmlparser2) spends time proportional to the open-element stack on every tag, so deep
 * nesting is quadratic. Measured with linkedom 0.18.15 / htmlparser2 10.1.0 on Node 20 (parseHTML on the
 * string): 20,000 unclosed <div>s take 1.1 s, 50,000 take 4.7 s, 400,000 (2 MB) take 169 s; 150,000
 * `<span></div>` take 55 s; `<p><li>` pairs nest too, although each closes its own kind. Pages that nest
 * deeper than this are flattened (see flatten) before linkedom sees them: the 2 MB of <div>s then take 0.5 s.
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
  /** Elements, text and comments. */
  nodes: number;
  depth: number;
  /** Every <pre>, and every multi-line <code> outside a <pre>, in document order. */
  blocks: Segment[];
}

/**
 * One iterative pass over the cleaned page: element and node counts, maximum depth (Readability's cost grows
 * much faster than linearly with nesting depth on linkedom, so these gate whether it runs at all) and the code
 * blocks.
 */
function shape(root: DomNode): Shape {
  let elements = 0;
  let nodes = 0;
  let depth = 0;
  const blocks: Segment[] = [];
  const stack: Array<{ node: DomNode; level: number; inCode: boolean }> = [
    { node: root, level: 0, inCode: false },
  ];
  while (stack.length > 0) {
    const { node, level, inCode } = stack.pop()!;
    nodes += 1;
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
  return { elements, nodes, depth, blocks };
}

function squash(s: string): string {
  return s.replace(/\s+/g, '');
}

function finish(text: string, maxChars: number): { text: string; truncated: boolean } {
  const cleaned = tidyLines(stripControls(text));
  const cut = truncate(cleaned, Math.max(0, maxChars - TRUNCATION_MARK.length));
  return cut.truncated ? { text: cut.text + TRUNCATION_MARK, truncated: true } : cut;
}

/**
 * Depth of the element tree linkedom would build from `html` (void elements count as leaves), measured with
 * linkedom's own parser and no tree: linear, as it stops as soon as the depth passes `limit`. htmlparser2 is
 * a dependency in linkedom's version range, and a test checks that the two agree.
 */
export function parseDepth(html: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  const parser = new Parser(
    {
      onopentagname() {
        depth += 1;
        if (depth <= max) return;
        max = depth;
        if (max > limit) parser.pause(); // end() does not resume a paused parser
      },
      onclosetag() {
        depth -= 1;
      },
    },
    { lowerCaseAttributeNames: false, decodeEntities: true }, // linkedom's options
  );
  parser.end(html);
  return max;
}

/** Elements a flattened page loses with their content (the title is moved to <head>). */
const FLAT_DROP = 'script|style|textarea|xmp|noscript|template|svg|math|title';
/** Characters of a flattened page's title kept (the title is cut to 500 after decoding anyway). */
const MAX_FLAT_TITLE = 4_096;
/** Headings, list items and table rows end a line like the BLOCK elements. */
const FLAT_BREAK = new Set([...BLOCK, 'li', 'tr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
/**
 * Markup as htmlparser2 tokenizes it: a comment; a dropped element with its content; a tag; a declaration,
 * processing instruction or bogus end tag. A `<` followed by anything else is text to the parser too. Each
 * token runs to its end or to the end of the page (as in the parser), so no match can fail after a long scan
 * and the pass stays linear whatever the page is.
 */
const FLAT_TOKEN = new RegExp(
  `<!--[^]*?(?:-->|$)|<(${FLAT_DROP})\\b[^>]*>?([^]*?)(?:<\\/\\1\\s*>|$)|<(\\/?)([a-z][a-z0-9-]{0,40})[^>]*(?:>|$)|<[!?/][^>]*(?:>|$)`,
  'gi',
);

/**
 * A page too deeply nested to parse, without its nesting: every tag but <pre> and <br> is removed (a run of
 * block tags becomes one paragraph break), so the parser sees no other tag, and the first <title> goes to
 * <head>. Attributes go with their tags, so text hidden by one stays (without nesting there is no telling
 * where a hidden element ends). Hand-written because every parser at hand (linkedom, html-to-text,
 * htmlparser2 itself) keeps the open-element stack that makes these pages quadratic (see MAX_PARSE_DEPTH);
 * this one pass is linear: 2 MB of `<a<a…`, `<title><title>…` or `<div>a<div>a…` after 300 <div>s converts
 * in 0.02 s, 0.02 s and 4.4 s in all (the last is linkedom building 666,000 nodes; a busy two-core machine).
 */
function flatten(html: string): string {
  let title = '';
  let inPre = false;
  let runEnd = 0;
  let runBroke = false;
  const body = html.replace(FLAT_TOKEN, (token: string, ...groups: Array<string | number | undefined>) => {
    const [dropped, inner, slash, name, at] = groups as [string?, string?, string?, string?, number?];
    if (title === '' && dropped?.toLowerCase() === 'title') {
      title = `<title>${inner!.slice(0, MAX_FLAT_TITLE).replace(/</g, '&lt;')}</title>`;
    }
    const tag = name?.toLowerCase();
    if (tag === 'pre' && inPre === (slash === '/')) {
      inPre = !inPre;
      return inPre ? '<pre>' : '</pre>';
    }
    if (tag === 'br') return '<br>';
    // Tokens with nothing but white space between them (<div> <div>…) break the line once.
    if (at !== runEnd && /\S/.test(html.slice(runEnd, at))) runBroke = false;
    runEnd = at! + token.length;
    if (inPre || runBroke || tag === undefined || !FLAT_BREAK.has(tag)) return '';
    runBroke = true;
    return '<p></p>';
  });
  return `<!DOCTYPE html><html><head>${title}</head><body>${body}</body></html>`;
}

/** Convert an HTML page to readable text (see the file comment). Never throws on malformed HTML. */
export function htmlToText(html: string, options: HtmlTextOptions = {}): PageText {
  const maxChars = options.maxChars ?? DEFAULT_MAX_TEXT_CHARS;
  const capped = html.length > MAX_HTML_CHARS ? html.slice(0, MAX_HTML_CHARS) : html;
  // A flattened page has lost the structure Readability reads: it is converted plainly.
  const flat = parseDepth(capped, MAX_PARSE_DEPTH) > MAX_PARSE_DEPTH;
  const source = flat ? flatten(capped) : capped;

  const doc = parse(source);
  if (!flat) clean(doc); // a flattened page has no attributes and none of the dropped elements left
  const title = stripControls(doc.title ?? '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 500);
  const plainRoot: DomNode | null = doc.body ?? doc.documentElement;
  const page = shape(doc);

  let article: DomNode | undefined;
  let articleTitle: string | undefined;
  if (
    !flat &&
    page.elements <= MAX_READABILITY_ELEMENTS &&
    page.nodes <= MAX_READABILITY_NODES &&
    page.depth <= MAX_READABILITY_DEPTH
  ) {
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
