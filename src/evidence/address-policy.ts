// Which addresses and host names the safe fetcher may connect to. Reference URLs come from CVE records and
// from redirects chosen by whoever runs the referenced site, so every hop is checked here: only globally
// routable unicast addresses pass. Everything else (private, loopback, link-local, cloud metadata,
// unique-local, CGNAT, "this network", multicast, documentation and reserved ranges, and IPv6 forms that
// embed one of those IPv4 addresses) is refused with a reason a report can show.

import { isIPv4, isIPv6 } from 'node:net';

export type AddressCategory =
  | 'public'
  | 'metadata'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'unique-local'
  | 'multicast'
  | 'reserved'
  | 'embedded-ipv4'
  | 'invalid';

export interface AddressVerdict {
  allowed: boolean;
  category: AddressCategory;
  /** Why it was refused, e.g. "169.254.169.254 is a cloud metadata address". */
  reason?: string;
}

/** Cloud instance metadata and platform endpoints, refused even when private addresses are allowed. */
const METADATA_V4 = new Map<string, string>([
  ['169.254.169.254', 'AWS/GCP/Azure/OpenStack instance metadata'],
  ['169.254.170.2', 'AWS ECS task metadata'],
  ['169.254.169.253', 'AWS VPC DNS resolver'],
  ['168.63.129.16', 'Azure platform wire server'],
  ['100.100.100.200', 'Alibaba Cloud metadata'],
  ['192.0.0.192', 'Oracle Cloud metadata'],
]);
const METADATA_V6 = new Map<string, string>([
  ['fd00:ec2:0:0:0:0:0:254', 'AWS instance metadata (IPv6)'],
  ['fd00:ec2:0:0:0:0:0:23', 'AWS Time Sync (IPv6)'],
]);

/** Host names that must never be fetched, whatever they resolve to. */
const METADATA_NAMES = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
]);
/** Suffixes of names that are local by definition (RFC 6761, RFC 6762, RFC 8375, ICANN .internal). */
const LOCAL_SUFFIXES = [
  'localhost',
  'local',
  'internal',
  'localdomain',
  'home.arpa',
  'lan',
  'intranet',
  'arpa',
];

interface V4Range {
  base: number;
  bits: number;
  category: AddressCategory;
  what: string;
}

function v4(text: string): number {
  const parts = text.split('.').map(Number);
  return (((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0) as number;
}

function range(cidr: string, category: AddressCategory, what: string): V4Range {
  const [base, bits] = cidr.split('/');
  return { base: v4(base!), bits: Number(bits), category, what };
}

/** IANA IPv4 special-purpose registry entries that are not globally reachable, plus multicast and class E. */
const V4_BLOCKED: readonly V4Range[] = [
  range('0.0.0.0/8', 'unspecified', '"this network" (0.0.0.0/8)'),
  range('10.0.0.0/8', 'private', 'private (10.0.0.0/8)'),
  range('100.64.0.0/10', 'cgnat', 'carrier-grade NAT (100.64.0.0/10)'),
  range('127.0.0.0/8', 'loopback', 'loopback (127.0.0.0/8)'),
  range('169.254.0.0/16', 'link-local', 'link-local (169.254.0.0/16)'),
  range('172.16.0.0/12', 'private', 'private (172.16.0.0/12)'),
  range('192.0.0.0/24', 'reserved', 'IETF protocol assignments (192.0.0.0/24)'),
  range('192.0.2.0/24', 'reserved', 'documentation (192.0.2.0/24)'),
  range('192.88.99.0/24', 'reserved', '6to4 relay anycast (192.88.99.0/24)'),
  range('192.168.0.0/16', 'private', 'private (192.168.0.0/16)'),
  range('198.18.0.0/15', 'reserved', 'benchmarking (198.18.0.0/15)'),
  range('198.51.100.0/24', 'reserved', 'documentation (198.51.100.0/24)'),
  range('203.0.113.0/24', 'reserved', 'documentation (203.0.113.0/24)'),
  range('224.0.0.0/4', 'multicast', 'multicast (224.0.0.0/4)'),
  range('240.0.0.0/4', 'reserved', 'reserved (240.0.0.0/4, including broadcast)'),
];

function inV4(ip: number, r: V4Range): boolean {
  if (r.bits === 0) return true;
  const mask = (0xffffffff << (32 - r.bits)) >>> 0;
  return (ip & mask) >>> 0 === (r.base & mask) >>> 0;
}

function classifyV4(text: string): AddressVerdict {
  const meta = METADATA_V4.get(text);
  if (meta) return refuse('metadata', `${text} is a cloud metadata address (${meta})`);
  const ip = v4(text);
  for (const r of V4_BLOCKED) {
    if (inV4(ip, r)) return refuse(r.category, `${text} is ${r.what}`);
  }
  return { allowed: true, category: 'public' };
}

function refuse(category: AddressCategory, reason: string): AddressVerdict {
  return { allowed: false, category, reason };
}

/** Parse an IPv6 address (no brackets, no zone) into its eight 16-bit groups. */
export function parseIPv6(text: string): number[] | undefined {
  if (!isIPv6(text)) return undefined;
  let s = text.toLowerCase();
  // A trailing dotted IPv4 part stands for the last two groups.
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (dotted) {
    const n = v4(dotted[2]!);
    s = `${dotted[1]}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out = groups.map((g) => Number.parseInt(g, 16));
  return out.length === 8 && out.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? out : undefined;
}

function groupsToV4(hi: number, lo: number): string {
  return `${hi >>> 8}.${hi & 0xff}.${lo >>> 8}.${lo & 0xff}`;
}

/** Whether the first `bits` bits of `g` equal those of `prefix` (both as eight 16-bit groups). */
function inV6(g: readonly number[], prefix: readonly number[], bits: number): boolean {
  for (let i = 0; i < 8 && bits > 0; i += 1, bits -= 16) {
    const take = Math.min(16, bits);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if (((g[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

interface V6Range {
  prefix: number[];
  bits: number;
  category: AddressCategory;
  what: string;
}

function v6range(cidr: string, category: AddressCategory, what: string): V6Range {
  const [base, bits] = cidr.split('/');
  return { prefix: parseIPv6(base!)!, bits: Number(bits), category, what };
}

/** Non-global parts of 2000::/3 (everything outside 2000::/3 is refused as not global unicast). */
const V6_BLOCKED_IN_GLOBAL: readonly V6Range[] = [
  v6range('2001::/23', 'reserved', 'IETF protocol assignments incl. Teredo (2001::/23)'),
  v6range('2001:db8::/32', 'reserved', 'documentation (2001:db8::/32)'),
  v6range('2002::/16', 'embedded-ipv4', '6to4, which embeds an IPv4 address (2002::/16)'),
  v6range('3fff::/20', 'reserved', 'documentation (3fff::/20)'),
];

function classifyV6(text: string): AddressVerdict {
  if (text.includes('%')) return refuse('link-local', `${text} carries a zone index (scoped address)`);
  const g = parseIPv6(text);
  if (!g) return refuse('invalid', `${text} is not an IP address`);
  const canonical = g.map((x) => x.toString(16)).join(':');
  const meta = METADATA_V6.get(canonical);
  if (meta) return refuse('metadata', `${text} is a cloud metadata address (${meta})`);

  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 8)) return refuse('unspecified', `${text} is the unspecified address (::)`);
  if (zero(0, 7) && g[7] === 1) return refuse('loopback', `${text} is the IPv6 loopback (::1)`);

  // IPv4-mapped ::ffff:a.b.c.d: the connection goes to the IPv4 address, so judge that address.
  if (zero(0, 5) && g[5] === 0xffff) return embedded(text, groupsToV4(g[6]!, g[7]!), 'IPv4-mapped');
  // IPv4-compatible ::a.b.c.d (deprecated) and IPv4-translated ::ffff:0:a.b.c.d (SIIT): never legitimate.
  if (zero(0, 6)) {
    return refuse('embedded-ipv4', `${text} is an IPv4-compatible IPv6 form of ${groupsToV4(g[6]!, g[7]!)}`);
  }
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) {
    return refuse('embedded-ipv4', `${text} is an IPv4-translated IPv6 form of ${groupsToV4(g[6]!, g[7]!)}`);
  }
  // NAT64 well-known prefix 64:ff9b::/96: the gateway connects to the embedded IPv4 address.
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) {
    return embedded(text, groupsToV4(g[6]!, g[7]!), 'NAT64 (64:ff9b::/96)');
  }
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) {
    return refuse('embedded-ipv4', `${text} is local-use NAT64 (64:ff9b:1::/48)`);
  }
  if ((g[0]! & 0xfe00) === 0xfc00) return refuse('unique-local', `${text} is unique-local (fc00::/7)`);
  if ((g[0]! & 0xffc0) === 0xfe80) return refuse('link-local', `${text} is link-local (fe80::/10)`);
  if ((g[0]! & 0xffc0) === 0xfec0) return refuse('private', `${text} is site-local (fec0::/10, deprecated)`);
  if ((g[0]! & 0xff00) === 0xff00) return refuse('multicast', `${text} is multicast (ff00::/8)`);
  if ((g[0]! & 0xe000) !== 0x2000) {
    return refuse('reserved', `${text} is not global unicast (outside 2000::/3)`);
  }
  for (const r of V6_BLOCKED_IN_GLOBAL) {
    if (inV6(g, r.prefix, r.bits)) return refuse(r.category, `${text} is ${r.what}`);
  }
  return { allowed: true, category: 'public' };
}

function embedded(text: string, v4text: string, form: string): AddressVerdict {
  const inner = classifyV4(v4text);
  if (inner.allowed) return { allowed: true, category: 'public' };
  return refuse(
    inner.category,
    `${text} is the ${form} IPv6 form of ${v4text}: ${inner.reason ?? ''}`.trim(),
  );
}

/**
 * Classify one IP address (IPv4 dotted quad or IPv6, brackets optional). Only globally routable unicast
 * addresses are allowed.
 */
export function classifyAddress(address: string): AddressVerdict {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(a)) return classifyV4(a);
  if (isIPv6(a.split('%')[0] ?? '')) return classifyV6(a);
  return refuse('invalid', `${address} is not an IP address`);
}

/** Whether the address is a cloud metadata endpoint (refused even when private addresses are allowed). */
export function isMetadataAddress(address: string): boolean {
  return classifyAddress(address).category === 'metadata';
}

/**
 * Check a host name before resolving it. Returns the refusal reason, or undefined when the name may be
 * resolved (its addresses are then checked with classifyAddress).
 */
export function checkHostName(hostname: string): string | undefined {
  const name = hostname.toLowerCase().replace(/\.+$/, '');
  if (name === '') return 'empty host name';
  if (METADATA_NAMES.has(name)) return `${hostname} is a cloud metadata host name`;
  if (!name.includes('.')) return `${hostname} is a single-label name (resolved by local search domains)`;
  for (const suffix of LOCAL_SUFFIXES) {
    if (name === suffix || name.endsWith(`.${suffix}`))
      return `${hostname} is a local-only name (.${suffix})`;
  }
  if (!/^[a-z0-9_.-]+$/.test(name)) return `${hostname} is not a valid DNS name`;
  return undefined;
}

/** Canonical text of an address for comparisons (IPv6 expanded to eight groups, lower case). */
export function canonicalAddress(address: string): string {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(a)) return a;
  const g = parseIPv6(a);
  return g ? g.map((x) => x.toString(16)).join(':') : a.toLowerCase();
}
