import type { TextTransformationType } from '../../waf/model/shapes.generated.js';
import type { AttackClass } from '../../vulns/model.js';

/** Request components a rule can inspect, in wafgen's own words. */
export type Component = 'path' | 'query' | 'args' | 'body' | 'headers' | 'cookies' | 'proxy-headers';

/**
 * The headers a proxy sets to tell the application who the client is and what it asked for, and the
 * hop-by-hop list: spoofing them from the outside is how many authentication bypasses begin.
 */
export const PROXY_HEADERS: readonly string[] = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-real-ip',
  'x-client-ip',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
  'true-client-ip',
  'client-ip',
  'x-original-url',
  'x-rewrite-url',
  'connection',
];

/**
 * How an attack technique shows in a request, independent of any one CVE: a regex over the
 * transformed component (RE2 syntax, lower case, at most 200 characters) and/or AWS's built-in
 * SQLi/XSS detection.
 */
export interface Signature {
  id: string;
  /** Regexes ORed together (each its own RegexMatchStatement, at most 200 characters). */
  regexes?: string[];
  detector?: 'sqli' | 'xss';
  /** Components this signature may inspect, when narrower than the class's. */
  components?: Component[];
  /** This signature alone is safe to block anywhere, even when its class as a whole is not. */
  unscoped?: boolean;
  /** Transformations before matching, per component kind (body and headers differ from the URL). */
  transforms: Partial<Record<Component, TextTransformationType[]>> & { default: TextTransformationType[] };
}

export interface ClassKnowledge {
  attackClass: AttackClass;
  /** Components the payload usually travels in, when no evidence says where. */
  components: Component[];
  signatures: Signature[];
  /**
   * True when the signature is specific enough to block anywhere (no endpoint scoping): the
   * technique's syntax does not occur in ordinary traffic (`${jndi:`, `<!ENTITY ... SYSTEM`).
   */
  unscoped: boolean;
  /** CWE ids that point to this class. */
  cwes: string[];
  /** Words in a description that point to this class (lower case, matched as whole words). */
  keywords: string[];
}

// Decoding chains shared by the classes: the URL twice (double encoding, %u forms), bodies also
// through JS escapes (JSON), everything lower-cased last.
export const URL_CHAIN: TextTransformationType[] = ['URL_DECODE_UNI', 'URL_DECODE_UNI', 'LOWERCASE'];
export const BODY_CHAIN: TextTransformationType[] = [
  'URL_DECODE_UNI',
  'JS_DECODE',
  'HTML_ENTITY_DECODE',
  'LOWERCASE',
];
export const HEADER_CHAIN: TextTransformationType[] = ['URL_DECODE_UNI', 'LOWERCASE'];
