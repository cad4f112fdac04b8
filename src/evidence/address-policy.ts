// Which addresses and host names the safe fetcher may connect to. Reference URLs come from CVE records and
// from redirects chosen by whoever runs the referenced site, so every hop is checked here: only globally
// routable unicast addresses pass. Everything else (private, loopback, link-local, cloud metadata,
// unique-local, CGNAT, "this network", multicast, documentation and reserved ranges, and IPv6 forms that
// embed one of those IPv4 addresses) is refused with a reason a report can show. Addresses are parsed and
// matched with ipaddr.js; a special-purpose range it knows and the tables below do not name is refused too.

import ipaddr from 'ipaddr.js';

type AddressCategory =
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

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

interface Rule {
  range: Cidr;
  category: AddressCategory;
  what: string;
  /** Name the IPv4 address held in the last 32 bits in the reason. */
  embeds?: true;
}

function rules(table: ReadonlyArray<[string, AddressCategory, string, true?]>): Rule[] {
  return table.map(([cidr, category, what, embeds]) => ({
    range: ipaddr.parseCIDR(cidr),
    category,
    what: `${what} (${cidr})`,
    ...(embeds ? { embeds } : {}),
  }));
}

/** IANA IPv4 special-purpose registry entries that are not globally reachable, plus multicast and class E. */
const V4_BLOCKED = rules([
  ['0.0.0.0/8', 'unspecified', '"this network"'],
  ['10.0.0.0/8', 'private', 'private'],
  ['100.64.0.0/10', 'cgnat', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback', 'loopback'],
  ['169.254.0.0/16', 'link-local', 'link-local'],
  ['172.16.0.0/12', 'private', 'private'],
  ['192.0.0.0/24', 'reserved', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'reserved', 'documentation'],
  ['192.88.99.0/24', 'reserved', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private', 'private'],
  ['198.18.0.0/15', 'reserved', 'benchmarking'],
  ['198.51.100.0/24', 'reserved', 'documentation'],
  ['203.0.113.0/24', 'reserved', 'documentation'],
  ['224.0.0.0/4', 'multicast', 'multicast'],
  ['240.0.0.0/4', 'reserved', 'reserved, broadcast included'],
]);

/**
 * IPv6 ranges refused outright, first match wins. IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96)
 * addresses are judged by the IPv4 address they carry before this list is read; outside 2000::/3 everything
 * is refused after it.
 */
const V6_BLOCKED = rules([
  ['::/128', 'unspecified', 'the unspecified address'],
  ['::1/128', 'loopback', 'the IPv6 loopback'],
  // IPv4-compatible (deprecated) and IPv4-translated (SIIT) forms: never legitimate.
  ['::/96', 'embedded-ipv4', 'an IPv4-compatible IPv6 address', true],
  ['::ffff:0:0:0/96', 'embedded-ipv4', 'an IPv4-translated IPv6 address', true],
  ['64:ff9b:1::/48', 'embedded-ipv4', 'local-use NAT64'],
  ['fc00::/7', 'unique-local', 'unique-local'],
  ['fe80::/10', 'link-local', 'link-local'],
  ['fec0::/10', 'private', 'deprecated site-local'],
  ['ff00::/8', 'multicast', 'multicast'],
  ['2001::/23', 'reserved', 'IETF protocol assignments incl. Teredo'],
  ['2001:db8::/32', 'reserved', 'documentation'],
  ['2002::/16', 'embedded-ipv4', '6to4, which embeds an IPv4 address'],
  ['3fff::/20', 'reserved', 'documentation'],
]);
const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');

function refuse(category: AddressCategory, reason: string): AddressVerdict {
  return { allowed: false, category, reason };
}

/** The IPv4 address in the last 32 bits of an IPv6 address. */
function low32(addr: ipaddr.IPv6): ipaddr.IPv4 {
  return ipaddr.fromByteArray(addr.toByteArray().slice(12)) as ipaddr.IPv4;
}

/**
 * Parse an address written the strict way: a dotted quad of decimals without leading zeros, or IPv6
 * (no zone). ipaddr.js alone is too lenient here: it takes octal and hex parts in an IPv6 address's dotted
 * tail and reads "::a.b.c.d" as IPv4-mapped, so IPv6 goes through the WHATWG URL parser (strict RFC 4291
 * text, rewritten in plain hex) first.
 */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(':')) return undefined;
  try {
    return ipaddr.IPv6.parse(new URL(`http://[${text}]/`).hostname.slice(1, -1));
  } catch {
    return undefined;
  }
}

/** Anything ipaddr.js knows as special-purpose that the lists above do not name is refused too. */
function specialPurpose(text: string, addr: ipaddr.IPv4 | ipaddr.IPv6): AddressVerdict {
  const range = addr.range();
  if (range === 'unicast') return { allowed: true, category: 'public' };
  return refuse('reserved', `${text} is special-purpose (${range})`);
}

function classifyV4(text: string, addr: ipaddr.IPv4): AddressVerdict {
  const meta = METADATA_V4.get(addr.toString());
  if (meta) return refuse('metadata', `${text} is a cloud metadata address (${meta})`);
  const r = V4_BLOCKED.find((b) => addr.match(b.range));
  return r ? refuse(r.category, `${text} is ${r.what}`) : specialPurpose(text, addr);
}

function classifyV6(text: string, addr: ipaddr.IPv6): AddressVerdict {
  const meta = METADATA_V6.get(addr.toNormalizedString());
  if (meta) return refuse('metadata', `${text} is a cloud metadata address (${meta})`);
  // IPv4-mapped and NAT64 addresses: the connection goes to the IPv4 address, so judge that address.
  if (addr.isIPv4MappedAddress()) return embedded(text, addr.toIPv4Address(), 'IPv4-mapped');
  if (addr.match(NAT64)) return embedded(text, low32(addr), 'NAT64 (64:ff9b::/96)');
  const r = V6_BLOCKED.find((b) => addr.match(b.range));
  if (r)
    return refuse(
      r.category,
      `${text} is ${r.what}${r.embeds ? `, carrying ${low32(addr).toString()}` : ''}`,
    );
  if (!addr.match(GLOBAL_UNICAST)) {
    return refuse('reserved', `${text} is not global unicast (outside 2000::/3)`);
  }
  return specialPurpose(text, addr);
}

function embedded(text: string, v4: ipaddr.IPv4, form: string): AddressVerdict {
  const v4text = v4.toString();
  const inner = classifyV4(v4text, v4);
  if (inner.allowed) return { allowed: true, category: 'public' };
  return refuse(
    inner.category,
    `${text} is the ${form} IPv6 form of ${v4text}: ${inner.reason ?? ''}`.trim(),
  );
}

function unbracket(address: string): string {
  return address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
}

/**
 * Classify one IP address (IPv4 dotted quad or IPv6, brackets optional). Only globally routable unicast
 * addresses are allowed.
 */
export function classifyAddress(address: string): AddressVerdict {
  const a = unbracket(address);
  const zone = a.indexOf('%');
  if (zone >= 0) {
    return parseAddress(a.slice(0, zone))?.kind() === 'ipv6'
      ? refuse('link-local', `${a} carries a zone index (scoped address)`)
      : refuse('invalid', `${address} is not an IP address`);
  }
  const addr = parseAddress(a);
  if (!addr) return refuse('invalid', `${address} is not an IP address`);
  return addr.kind() === 'ipv4' ? classifyV4(a, addr as ipaddr.IPv4) : classifyV6(a, addr as ipaddr.IPv6);
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

/** Canonical text of an address for comparisons (IPv6 expanded to eight groups, lower case, no zone). */
export function canonicalAddress(address: string): string {
  const a = unbracket(address);
  const addr = parseAddress(a.split('%')[0]!);
  if (!addr) return a.toLowerCase();
  return addr.kind() === 'ipv4' ? addr.toString() : (addr as ipaddr.IPv6).toNormalizedString();
}
