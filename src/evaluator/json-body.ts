// AWS WAF's JSON body inspection: a best-effort parse that yields elements (keys and values) as it
// goes, so that on a parse error "what was parsed before the error" is still available (AWS's
// behaviour with no InvalidFallbackBehavior). Iterative with an explicit stack: no input can
// exhaust the call stack. Input and output are byte strings.

export interface JsonElement {
  /** JSON Pointer of the element (for a key: the pointer of the member it names). */
  pointer: string;
  kind: 'key' | 'value';
  value: string;
}

export interface JsonParse {
  elements: JsonElement[];
  /** Why parsing stopped early (duplicate key, invalid character, truncation...), if it did. */
  error?: string;
}

const escapePointer = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

function encodeUtf8(cp: number): string {
  if (cp < 0x80) return String.fromCharCode(cp);
  if (cp < 0x800) return String.fromCharCode(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  if (cp < 0x10000) return String.fromCharCode(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  return String.fromCharCode(
    0xf0 | (cp >> 18),
    0x80 | ((cp >> 12) & 63),
    0x80 | ((cp >> 6) & 63),
    0x80 | (cp & 63),
  );
}

interface Frame {
  type: 'object' | 'array';
  pointer: string;
  index: number;
  keys?: Set<string>;
  /** Object: expecting a key next (after `{` or `,`). */
  expectKey: boolean;
  /** Just read a comma: a closing bracket now would be a trailing comma. */
  afterComma?: boolean;
}

export function parseJsonBody(text: string): JsonParse {
  const elements: JsonElement[] = [];
  let i = 0;
  const n = text.length;
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const readString = (): string | undefined => {
    // text[i] === '"'
    i++;
    let out = '';
    let start = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          let cp = parseInt(text.slice(i + 2, i + 6), 16);
          i += 6;
          if (cp >= 0xd800 && cp < 0xdc00 && text[i] === '\\' && text[i + 1] === 'u') {
            const lo = parseInt(text.slice(i + 2, i + 6), 16);
            if (lo >= 0xdc00 && lo < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
              i += 6;
            }
          }
          out += encodeUtf8(cp);
        } else return undefined;
        start = i;
        continue;
      }
      if (c < 0x20) return undefined;
      i++;
    }
    return undefined;
  };
  const readScalar = (): string | undefined => {
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) return undefined;
    i += m[0].length;
    return m[0];
  };

  const stack: Frame[] = [];
  ws();
  if (text[i] !== '{' && text[i] !== '[') return { elements, error: 'the root is not an object or array' };
  const childPointer = (f: Frame, key?: string): string =>
    `${f.pointer}/${f.type === 'array' ? String(f.index) : escapePointer(key ?? '')}`;
  let pendingKey: string | undefined;
  const open = (pointer: string): void => {
    const type = text[i] === '{' ? 'object' : 'array';
    stack.push({
      type,
      pointer,
      index: 0,
      expectKey: type === 'object',
      ...(type === 'object' ? { keys: new Set<string>() } : {}),
    });
    i++;
  };
  open('');
  while (stack.length > 0) {
    ws();
    if (i >= n) return { elements, error: 'truncated JSON' };
    const top = stack[stack.length - 1]!;
    const c = text[i];
    if (c === (top.type === 'object' ? '}' : ']')) {
      if (top.afterComma) return { elements, error: `trailing comma before byte ${i}` };
      i++;
      stack.pop();
      if (stack.length > 0 && !afterValue(stack[stack.length - 1]!)) {
        return { elements, error: `expected "," or a closing bracket at byte ${i}` };
      }
      continue;
    }
    top.afterComma = false;
    if (top.type === 'object' && top.expectKey) {
      if (c !== '"') return { elements, error: `expected a key at byte ${i}` };
      const key = readString();
      if (key === undefined) return { elements, error: `invalid string at byte ${i}` };
      if (top.keys!.has(key)) return { elements, error: `duplicate key "${key}"` };
      top.keys!.add(key);
      elements.push({ pointer: childPointer(top, key), kind: 'key', value: key });
      ws();
      if (text[i] !== ':') return { elements, error: `expected ":" at byte ${i}` };
      i++;
      pendingKey = key;
      top.expectKey = false;
      continue;
    }
    const pointer = childPointer(top, pendingKey);
    if (c === '{' || c === '[') {
      open(pointer);
      continue;
    }
    const value = c === '"' ? readString() : readScalar();
    if (value === undefined) return { elements, error: `invalid value at byte ${i}` };
    elements.push({ pointer, kind: 'value', value });
    if (!afterValue(top)) return { elements, error: `expected "," or a closing bracket at byte ${i}` };
  }
  ws();
  if (i < n) return { elements, error: `unexpected data after the JSON at byte ${i}` };
  return { elements };

  // After a value inside `f`: consume a comma (or leave the closing bracket for the loop).
  function afterValue(f: Frame): boolean {
    ws();
    if (text[i] === ',') {
      i++;
      f.index++;
      f.afterComma = true;
      if (f.type === 'object') f.expectKey = true;
      return true;
    }
    return text[i] === (f.type === 'object' ? '}' : ']') || i >= n;
  }
}

/** Is `pointer` at or below one of `paths` (for values), or strictly below (for keys)? */
export function underPaths(element: JsonElement, paths: readonly string[]): boolean {
  return paths.some((p) => {
    if (p === '/' || p === '') return element.kind === 'value' || element.pointer !== p;
    if (element.pointer === p) return element.kind === 'value';
    return element.pointer.startsWith(p + '/');
  });
}
