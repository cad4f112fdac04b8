// Text hygiene shared by the HTML converter, the fence and the collector: fetched pages are untrusted, so
// characters that are invisible to a reviewer but visible to a model (controls, bidi overrides, zero-width
// characters, Unicode tag characters used for "ASCII smuggling") are removed before anything else sees them.

/**
 * C0 controls except TAB and LF, DEL, C1 controls, bidi embeddings/overrides/isolates, zero-width characters
 * and joiners, word joiner and invisible operators, the BOM, interlinear annotation marks, and the Unicode tag
 * block (U+E0000..U+E007F, which renders as nothing but spells ASCII to a tokenizer).
 */
const INVISIBLE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]|\uDB40[\uDC00-\uDC7F]/g;

/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Remove invisible and control characters; CRLF and lone CR become LF; lone surrogates become U+FFFD. */
export function stripControls(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(INVISIBLE, '').replace(LONE_SURROGATE, '\uFFFD');
}

/**
 * Cut `text` to at most `maxChars` UTF-16 units without splitting a surrogate pair. Returns the text and
 * whether it was cut.
 */
export function truncate(text: string, maxChars: number): { text: string; truncated: boolean } {
  if (text.length <= maxChars) return { text, truncated: false };
  let end = Math.max(0, Math.floor(maxChars));
  const before = text.charCodeAt(end - 1);
  if (end > 0 && before >= 0xd800 && before <= 0xdbff) end -= 1;
  return { text: text.slice(0, end), truncated: true };
}

/** Collapse runs of blank lines to one blank line and trim trailing spaces on every line. */
export function tidyLines(text: string): string {
  // Split rather than /[ \t]+\n/: that pattern is quadratic on a long run of spaces with no newline.
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
