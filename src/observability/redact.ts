// Secrets out of everything wafgen writes (logs, audit events, error lines): by key name for
// structured values, by shape for free text (Authorization schemes, JWTs, credentials in URLs,
// provider key formats), and by exact value for the secrets the configuration has loaded.

export const REDACTED = '[redacted]';

/** Exact secret values to scrub wherever they appear (configuration registers what it loads). */
const knownSecrets = new Set<string>();

/** Scrub this value from every later log line, audit event and error text. Short values are ignored. */
export function registerSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= 6) knownSecrets.add(value);
}

/** For tests. */
export function forgetSecrets(): void {
  knownSecrets.clear();
}

/** Key names (compared lower-case, without `-` and `_`) whose values are always secret. */
const SECRET_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'signature',
  'xwafgensignature',
  'xamzsecuritytoken',
  'ddapikey',
  'ddapplicationkey',
  'jwt',
]);
/** ...and names ending with one of these: `apiKey`, `HEC_TOKEN`, `AWS_SECRET_ACCESS_KEY`, `password`. */
const SECRET_SUFFIXES = [
  'apikey',
  'secret',
  'secretkey',
  'secretaccesskey',
  'privatekey',
  'password',
  'passwd',
  'token',
  'credential',
  'credentials',
  'sessionkey',
  'clientsecret',
];

function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_]/g, '');
  return SECRET_KEYS.has(k) || SECRET_SUFFIXES.some((s) => k.endsWith(s));
}

const SHAPES: readonly [RegExp, string][] = [
  // JSON Web Tokens (header.payload.signature, base64url; the header always starts with {" → eyJ).
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // user:password@ in any URL.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]*@/gi, `$1${REDACTED}@`],
  // Secret-looking query or fragment parameters: token, access_token, api_key, key, sig, X-Amz-Signature...
  [
    /([?&#;](?:[a-z0-9_.-]*(?:token|key|secret|signature|sig|password|passwd|pwd|auth|credential|session)[a-z0-9_.-]*)=)[^&\s"'#<>]+/gi,
    `$1${REDACTED}`,
  ],
  // Authorization schemes.
  [/\b(Bearer)\s+[^\s"',;]{6,}/gi, `$1 ${REDACTED}`],
  [/\b(Basic)\s+[A-Za-z0-9+/=]{8,}/g, `$1 ${REDACTED}`],
  [/\b(Splunk)\s+[0-9A-Fa-f-]{16,}/g, `$1 ${REDACTED}`],
  // Header or variable assignments written out as text.
  [
    /\b(authorization|proxy-authorization|dd-api-key|x-api-key|api[-_]?key|x-wafgen-signature|cookie)(\s*[:=]\s*)("?)(?:(?:Bearer|Basic|Splunk|Token)\s+)?[^\s"',;&]+/gi,
    `$1$2$3${REDACTED}`,
  ],
  [
    /\b([A-Z][A-Z0-9_]*(?:_API_KEY|_TOKEN|_SECRET|_PASSWORD|_KEY))(\s*[:=]\s*)("?)[^\s"',;&]+/g,
    `$1$2$3${REDACTED}`,
  ],
  // Provider key formats.
  [/\bsk-ant-[A-Za-z0-9_-]{8,}/g, REDACTED],
  [/\b(sk|rk|pk)-[A-Za-z0-9_-]{8,}/g, REDACTED],
  [/\bAIza[0-9A-Za-z_-]{20,}/g, REDACTED],
  [/\b(AKIA|ASIA)[0-9A-Z]{12,}/g, REDACTED],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/g, REDACTED],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/g, REDACTED],
];

/** Free text with every secret-shaped part replaced by `[redacted]`. */
export function redactText(text: string): string {
  let out = text;
  for (const s of knownSecrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  for (const [re, by] of SHAPES) out = out.replace(re, by);
  return out;
}

/**
 * A copy of `value` safe to write out: values under secret keys replaced, every string scrubbed,
 * errors reduced to type, message and stack (scrubbed), cycles cut, depth capped.
 */
export function redactValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 12) return '[too deep]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown; status?: unknown; statusCode?: unknown };
    return {
      type: e.name,
      message: redactText(e.message),
      ...(e.stack ? { stack: redactText(e.stack) } : {}),
      ...(typeof e.code === 'string' || typeof e.code === 'number' ? { code: e.code } : {}),
      ...(typeof e.status === 'number' ? { status: e.status } : {}),
      ...(typeof e.statusCode === 'number' ? { statusCode: e.statusCode } : {}),
    };
  }
  if (value instanceof Date) return value;
  if (value instanceof URL) return redactText(value.href);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1, seen));
  if (value instanceof Map) return redactValue(Object.fromEntries(value), depth, seen);
  if (typeof Headers !== 'undefined' && value instanceof Headers) {
    // forEach, not entries(): the console's highlight.js types pull in lib.dom without
    // dom.iterable, where Headers has no entries() in the type (it has at run time).
    const headers: Record<string, string> = {};
    value.forEach((v, k) => {
      headers[k] = v;
    });
    return redactValue(headers, depth, seen);
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    const json = (value as { toJSON: () => unknown }).toJSON();
    return json === value ? '[object]' : redactValue(json, depth + 1, seen);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      isSecretKey(k) && v !== undefined && v !== null && v !== ''
        ? REDACTED
        : redactValue(v, depth + 1, seen);
  }
  return out;
}
