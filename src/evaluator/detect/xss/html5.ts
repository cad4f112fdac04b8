// A TypeScript port of libinjection's small HTML5 tokenizer (libinjection_html5.c, libinjection 3.9.2,
// BSD-3-Clause, see ../NOTICE). It follows the WHATWG tokenizer states loosely, with the IE quirks
// libinjection keeps (NUL bytes ignored in tag names, backtick-quoted attribute values, `<% %>`
// comments). It can start in the middle of a tag, to check a value that will be pasted into an
// attribute.
//
// The C code jumps between states by calling the next state's function. Here each state returns
// GOTO after setting `state`, and `next()` loops, so deep inputs such as `<a //////...` cannot
// overflow the stack. Inputs are byte strings (one char per byte).

export const H5 = {
  DATA_TEXT: 0,
  TAG_NAME_OPEN: 1,
  TAG_NAME_CLOSE: 2,
  TAG_NAME_SELFCLOSE: 3,
  TAG_DATA: 4,
  TAG_CLOSE: 5,
  ATTR_NAME: 6,
  ATTR_VALUE: 7,
  TAG_COMMENT: 8,
  DOCTYPE: 9,
} as const;
export type H5TokenType = (typeof H5)[keyof typeof H5];

/** Where the input is assumed to start. */
export const H5_START = {
  DATA_STATE: 0,
  VALUE_NO_QUOTE: 1,
  VALUE_SINGLE_QUOTE: 2,
  VALUE_DOUBLE_QUOTE: 3,
  VALUE_BACK_QUOTE: 4,
} as const;
export type H5Start = (typeof H5_START)[keyof typeof H5_START];

const S_EOF = 0;
const S_DATA = 1;
const S_TAG_OPEN = 2;
const S_TAG_NAME = 3;
const S_TAG_NAME_CLOSE = 4;
const S_END_TAG_OPEN = 5;
const S_SELF_CLOSING_START_TAG = 6;
const S_ATTRIBUTE_NAME = 7;
const S_AFTER_ATTRIBUTE_NAME = 8;
const S_BEFORE_ATTRIBUTE_NAME = 9;
const S_BEFORE_ATTRIBUTE_VALUE = 10;
const S_VALUE_DOUBLE_QUOTE = 11;
const S_VALUE_SINGLE_QUOTE = 12;
const S_VALUE_BACK_QUOTE = 13;
const S_VALUE_NO_QUOTE = 14;
const S_AFTER_VALUE_QUOTED = 15;
const S_COMMENT = 16;
const S_CDATA = 17;
const S_BOGUS_COMMENT = 18;
const S_BOGUS_COMMENT2 = 19;
const S_MARKUP_DECLARATION_OPEN = 20;
const S_DOCTYPE = 21;

const NO_TOKEN = 0;
const TOKEN = 1;
const GOTO = 2;
type Step = typeof NO_TOKEN | typeof TOKEN | typeof GOTO;

const CHAR_EOF = -1;

/** h5_is_white: space, \t \n \v \f \r, and NUL (C's strchr matches the terminator). */
function isWhite(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x00;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

export class Html5Tokenizer {
  readonly s: string;
  readonly len: number;
  pos = 0;
  private isClose = false;
  private state: number;
  tokenStart = 0;
  tokenLen = 0;
  tokenType: H5TokenType = H5.DATA_TEXT;

  constructor(s: string, start: H5Start) {
    this.s = s;
    this.len = s.length;
    switch (start) {
      case H5_START.DATA_STATE:
        this.state = S_DATA;
        break;
      case H5_START.VALUE_NO_QUOTE:
        this.state = S_BEFORE_ATTRIBUTE_NAME;
        break;
      case H5_START.VALUE_SINGLE_QUOTE:
        this.state = S_VALUE_SINGLE_QUOTE;
        break;
      case H5_START.VALUE_DOUBLE_QUOTE:
        this.state = S_VALUE_DOUBLE_QUOTE;
        break;
      case H5_START.VALUE_BACK_QUOTE:
        this.state = S_VALUE_BACK_QUOTE;
        break;
    }
  }

  /** The current token's bytes. */
  token(): string {
    return this.s.substr(this.tokenStart, this.tokenLen);
  }

  /** Advances to the next token; false at the end of input. */
  next(): boolean {
    for (;;) {
      const r = this.step();
      if (r !== GOTO) return r === TOKEN;
    }
  }

  private goto(state: number): Step {
    this.state = state;
    return GOTO;
  }

  private emit(type: H5TokenType, start: number, len: number): Step {
    this.tokenType = type;
    this.tokenStart = start;
    this.tokenLen = len;
    return TOKEN;
  }

  private step(): Step {
    switch (this.state) {
      case S_EOF:
        return NO_TOKEN;
      case S_DATA:
        return this.data();
      case S_TAG_OPEN:
        return this.tagOpen();
      case S_TAG_NAME:
        return this.tagName();
      case S_TAG_NAME_CLOSE:
        return this.tagNameClose();
      case S_END_TAG_OPEN:
        return this.endTagOpen();
      case S_SELF_CLOSING_START_TAG:
        return this.selfClosingStartTag();
      case S_ATTRIBUTE_NAME:
        return this.attributeName();
      case S_AFTER_ATTRIBUTE_NAME:
        return this.afterAttributeName();
      case S_BEFORE_ATTRIBUTE_NAME:
        return this.beforeAttributeName();
      case S_BEFORE_ATTRIBUTE_VALUE:
        return this.beforeAttributeValue();
      case S_VALUE_DOUBLE_QUOTE:
        return this.attributeValueQuote('"');
      case S_VALUE_SINGLE_QUOTE:
        return this.attributeValueQuote("'");
      case S_VALUE_BACK_QUOTE:
        return this.attributeValueQuote('`');
      case S_VALUE_NO_QUOTE:
        return this.attributeValueNoQuote();
      case S_AFTER_VALUE_QUOTED:
        return this.afterAttributeValueQuoted();
      case S_COMMENT:
        return this.comment();
      case S_CDATA:
        return this.cdata();
      case S_BOGUS_COMMENT:
        return this.bogusComment();
      case S_BOGUS_COMMENT2:
        return this.bogusComment2();
      case S_MARKUP_DECLARATION_OPEN:
        return this.markupDeclarationOpen();
      case S_DOCTYPE:
        return this.doctype();
      default:
        return NO_TOKEN;
    }
  }

  /**
   * h5_skip_white: skips NUL and whitespace; returns the next byte as a C `char` would compare, so
   * byte 0xFF reads as CHAR_EOF (-1), as in the C code.
   */
  private skipWhite(): number {
    while (this.pos < this.len) {
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x00 || c === 0x20 || (c >= 0x09 && c <= 0x0d)) {
        this.pos += 1;
      } else {
        return c === 0xff ? CHAR_EOF : c;
      }
    }
    return CHAR_EOF;
  }

  private data(): Step {
    const idx = this.s.indexOf('<', this.pos);
    if (idx < 0) {
      this.emit(H5.DATA_TEXT, this.pos, this.len - this.pos);
      this.state = S_EOF;
      return this.tokenLen === 0 ? NO_TOKEN : TOKEN;
    }
    this.emit(H5.DATA_TEXT, this.pos, idx - this.pos);
    this.pos = idx + 1;
    this.state = S_TAG_OPEN;
    return this.tokenLen === 0 ? GOTO : TOKEN;
  }

  private tagOpen(): Step {
    if (this.pos >= this.len) return NO_TOKEN;
    const c = this.s.charCodeAt(this.pos);
    if (c === 0x21) {
      this.pos += 1; // '!'
      return this.goto(S_MARKUP_DECLARATION_OPEN);
    } else if (c === 0x2f) {
      this.pos += 1; // '/'
      this.isClose = true;
      return this.goto(S_END_TAG_OPEN);
    } else if (c === 0x3f) {
      this.pos += 1; // '?'
      return this.goto(S_BOGUS_COMMENT);
    } else if (c === 0x25) {
      this.pos += 1; // '%': IE <= 9 and old Safari comments
      return this.goto(S_BOGUS_COMMENT2);
    } else if (isAsciiLetter(c) || c === 0x00) {
      return this.goto(S_TAG_NAME); // NUL: IE ignores it
    }
    if (this.pos === 0) return this.goto(S_DATA);
    this.emit(H5.DATA_TEXT, this.pos - 1, 1);
    this.state = S_DATA;
    return TOKEN;
  }

  private endTagOpen(): Step {
    if (this.pos >= this.len) return NO_TOKEN;
    const c = this.s.charCodeAt(this.pos);
    if (c === 0x3e) return this.goto(S_DATA);
    if (isAsciiLetter(c)) return this.goto(S_TAG_NAME);
    this.isClose = false;
    return this.goto(S_BOGUS_COMMENT);
  }

  private tagNameClose(): Step {
    this.isClose = false;
    this.emit(H5.TAG_NAME_CLOSE, this.pos, 1);
    this.pos += 1;
    this.state = this.pos < this.len ? S_DATA : S_EOF;
    return TOKEN;
  }

  private tagName(): Step {
    const { s, len } = this;
    let pos = this.pos;
    while (pos < len) {
      const c = s.charCodeAt(pos);
      if (c === 0) {
        pos += 1; // NULs are allowed (and ignored) in tag names
      } else if (isWhite(c)) {
        this.emit(H5.TAG_NAME_OPEN, this.pos, pos - this.pos);
        this.pos = pos + 1;
        this.state = S_BEFORE_ATTRIBUTE_NAME;
        return TOKEN;
      } else if (c === 0x2f) {
        this.emit(H5.TAG_NAME_OPEN, this.pos, pos - this.pos);
        this.pos = pos + 1;
        this.state = S_SELF_CLOSING_START_TAG;
        return TOKEN;
      } else if (c === 0x3e) {
        if (this.isClose) {
          this.emit(H5.TAG_CLOSE, this.pos, pos - this.pos);
          this.pos = pos + 1;
          this.isClose = false;
          this.state = S_DATA;
        } else {
          this.emit(H5.TAG_NAME_OPEN, this.pos, pos - this.pos);
          this.pos = pos;
          this.state = S_TAG_NAME_CLOSE;
        }
        return TOKEN;
      } else {
        pos += 1;
      }
    }
    this.emit(H5.TAG_NAME_OPEN, this.pos, len - this.pos);
    this.state = S_EOF;
    return TOKEN;
  }

  private beforeAttributeName(): Step {
    const c = this.skipWhite();
    if (c === CHAR_EOF) return NO_TOKEN;
    if (c === 0x2f) {
      this.pos += 1;
      return this.goto(S_SELF_CLOSING_START_TAG);
    }
    if (c === 0x3e) {
      this.state = S_DATA;
      this.emit(H5.TAG_NAME_CLOSE, this.pos, 1);
      this.pos += 1;
      return TOKEN;
    }
    return this.goto(S_ATTRIBUTE_NAME);
  }

  private attributeName(): Step {
    const { s, len } = this;
    let pos = this.pos + 1; // the first byte always belongs to the name
    while (pos < len) {
      const c = s.charCodeAt(pos);
      if (isWhite(c)) {
        this.emit(H5.ATTR_NAME, this.pos, pos - this.pos);
        this.state = S_AFTER_ATTRIBUTE_NAME;
        this.pos = pos + 1;
        return TOKEN;
      } else if (c === 0x2f) {
        this.emit(H5.ATTR_NAME, this.pos, pos - this.pos);
        this.state = S_SELF_CLOSING_START_TAG;
        this.pos = pos + 1;
        return TOKEN;
      } else if (c === 0x3d) {
        this.emit(H5.ATTR_NAME, this.pos, pos - this.pos);
        this.state = S_BEFORE_ATTRIBUTE_VALUE;
        this.pos = pos + 1;
        return TOKEN;
      } else if (c === 0x3e) {
        this.emit(H5.ATTR_NAME, this.pos, pos - this.pos);
        this.state = S_TAG_NAME_CLOSE;
        this.pos = pos;
        return TOKEN;
      }
      pos += 1;
    }
    this.emit(H5.ATTR_NAME, this.pos, len - this.pos);
    this.state = S_EOF;
    this.pos = len;
    return TOKEN;
  }

  private afterAttributeName(): Step {
    const c = this.skipWhite();
    if (c === CHAR_EOF) return NO_TOKEN;
    if (c === 0x2f) {
      this.pos += 1;
      return this.goto(S_SELF_CLOSING_START_TAG);
    }
    if (c === 0x3d) {
      this.pos += 1;
      return this.goto(S_BEFORE_ATTRIBUTE_VALUE);
    }
    if (c === 0x3e) return this.goto(S_TAG_NAME_CLOSE);
    return this.goto(S_ATTRIBUTE_NAME);
  }

  private beforeAttributeValue(): Step {
    const c = this.skipWhite();
    if (c === CHAR_EOF) {
      this.state = S_EOF;
      return NO_TOKEN;
    }
    if (c === 0x22) return this.goto(S_VALUE_DOUBLE_QUOTE);
    if (c === 0x27) return this.goto(S_VALUE_SINGLE_QUOTE);
    if (c === 0x60) return this.goto(S_VALUE_BACK_QUOTE); // IE
    return this.goto(S_VALUE_NO_QUOTE);
  }

  private attributeValueQuote(quote: string): Step {
    // Skip the opening quote, except when starting inside a value (pos 0): "'><foo" then gives a
    // value of length 0.
    if (this.pos > 0) this.pos += 1;
    const idx = this.s.indexOf(quote, this.pos);
    if (idx < 0) {
      this.emit(H5.ATTR_VALUE, this.pos, this.len - this.pos);
      this.state = S_EOF;
    } else {
      this.emit(H5.ATTR_VALUE, this.pos, idx - this.pos);
      this.state = S_AFTER_VALUE_QUOTED;
      this.pos += this.tokenLen + 1;
    }
    return TOKEN;
  }

  private attributeValueNoQuote(): Step {
    const { s, len } = this;
    let pos = this.pos;
    while (pos < len) {
      const c = s.charCodeAt(pos);
      if (isWhite(c)) {
        this.emit(H5.ATTR_VALUE, this.pos, pos - this.pos);
        this.pos = pos + 1;
        this.state = S_BEFORE_ATTRIBUTE_NAME;
        return TOKEN;
      } else if (c === 0x3e) {
        this.emit(H5.ATTR_VALUE, this.pos, pos - this.pos);
        this.pos = pos;
        this.state = S_TAG_NAME_CLOSE;
        return TOKEN;
      }
      pos += 1;
    }
    this.state = S_EOF;
    this.emit(H5.ATTR_VALUE, this.pos, len - this.pos);
    return TOKEN;
  }

  private afterAttributeValueQuoted(): Step {
    if (this.pos >= this.len) return NO_TOKEN;
    const c = this.s.charCodeAt(this.pos);
    if (isWhite(c)) {
      this.pos += 1;
      return this.goto(S_BEFORE_ATTRIBUTE_NAME);
    } else if (c === 0x2f) {
      this.pos += 1;
      return this.goto(S_SELF_CLOSING_START_TAG);
    } else if (c === 0x3e) {
      this.emit(H5.TAG_NAME_CLOSE, this.pos, 1);
      this.pos += 1;
      this.state = S_DATA;
      return TOKEN;
    }
    return this.goto(S_BEFORE_ATTRIBUTE_NAME);
  }

  private selfClosingStartTag(): Step {
    if (this.pos >= this.len) return NO_TOKEN;
    if (this.s.charCodeAt(this.pos) === 0x3e) {
      this.emit(H5.TAG_NAME_SELFCLOSE, this.pos - 1, 2);
      this.state = S_DATA;
      this.pos += 1;
      return TOKEN;
    }
    return this.goto(S_BEFORE_ATTRIBUTE_NAME);
  }

  private bogusComment(): Step {
    const idx = this.s.indexOf('>', this.pos);
    if (idx < 0) {
      this.emit(H5.TAG_COMMENT, this.pos, this.len - this.pos);
      this.pos = this.len;
      this.state = S_EOF;
    } else {
      this.emit(H5.TAG_COMMENT, this.pos, idx - this.pos);
      this.pos = idx + 1;
      this.state = S_DATA;
    }
    return TOKEN;
  }

  /** `<% ... %>` */
  private bogusComment2(): Step {
    let pos = this.pos;
    for (;;) {
      const idx = this.s.indexOf('%', pos);
      if (idx < 0 || idx + 1 >= this.len) {
        this.emit(H5.TAG_COMMENT, this.pos, this.len - this.pos);
        this.pos = this.len;
        this.state = S_EOF;
        return TOKEN;
      }
      if (this.s.charCodeAt(idx + 1) !== 0x3e) {
        pos = idx + 1;
        continue;
      }
      this.emit(H5.TAG_COMMENT, this.pos, idx - this.pos);
      this.pos = idx + 2;
      this.state = S_DATA;
      return TOKEN;
    }
  }

  private markupDeclarationOpen(): Step {
    const { s, pos } = this;
    const remaining = this.len - pos;
    if (remaining >= 7 && s.substr(pos, 7).toUpperCase() === 'DOCTYPE') {
      return this.goto(S_DOCTYPE);
    } else if (remaining >= 7 && s.substr(pos, 7) === '[CDATA[') {
      this.pos += 7;
      return this.goto(S_CDATA);
    } else if (remaining >= 2 && s[pos] === '-' && s[pos + 1] === '-') {
      this.pos += 2;
      return this.goto(S_COMMENT);
    }
    return this.goto(S_BOGUS_COMMENT);
  }

  /** Comments end at EOF, `-->` or `-!>` (NULs between the dashes are skipped). */
  private comment(): Step {
    const { s, len } = this;
    let pos = this.pos;
    const toEof = (): Step => {
      this.state = S_EOF;
      this.emit(H5.TAG_COMMENT, this.pos, len - this.pos);
      return TOKEN;
    };
    for (;;) {
      const idx = s.indexOf('-', pos);
      if (idx < 0 || idx > len - 3) return toEof();
      let offset = 1;
      while (idx + offset < len && s.charCodeAt(idx + offset) === 0) offset += 1;
      if (idx + offset === len) return toEof();
      let c = s.charCodeAt(idx + offset);
      if (c !== 0x2d && c !== 0x21) {
        pos = idx + 1;
        continue;
      }
      offset += 1;
      if (idx + offset === len) return toEof();
      c = s.charCodeAt(idx + offset);
      if (c !== 0x3e) {
        pos = idx + 1;
        continue;
      }
      offset += 1;
      this.emit(H5.TAG_COMMENT, this.pos, idx - this.pos);
      this.pos = idx + offset;
      this.state = S_DATA;
      return TOKEN;
    }
  }

  private cdata(): Step {
    const { s, len } = this;
    let pos = this.pos;
    for (;;) {
      const idx = s.indexOf(']', pos);
      if (idx < 0 || idx > len - 3) {
        this.state = S_EOF;
        this.emit(H5.DATA_TEXT, this.pos, len - this.pos);
        return TOKEN;
      } else if (s[idx + 1] === ']' && s[idx + 2] === '>') {
        this.state = S_DATA;
        this.emit(H5.DATA_TEXT, this.pos, idx - this.pos);
        this.pos = idx + 3;
        return TOKEN;
      }
      pos = idx + 1;
    }
  }

  private doctype(): Step {
    const idx = this.s.indexOf('>', this.pos);
    if (idx < 0) {
      this.emit(H5.DOCTYPE, this.pos, this.len - this.pos);
      this.state = S_EOF;
    } else {
      this.emit(H5.DOCTYPE, this.pos, idx - this.pos);
      this.state = S_DATA;
      this.pos = idx + 1;
    }
    return TOKEN;
  }
}
