// IP sets and forwarded-IP headers, matched with ipaddr.js (CIDR for IPv4 and IPv6) so the evaluator
// stays free of node:net and runs anywhere.
import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** A compiled IP set: its IPv4 and IPv6 ranges, kept apart as AWS does (no IPv4-mapped matching). */
export interface IpSet {
  readonly v4: readonly Range[];
  readonly v6: readonly Range[];
}

/** Strict address parse: dotted quads and IPv6 only (ipaddr.parse also takes octal and short forms). */
function parseIp(s: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) return ipaddr.IPv4.parse(s);
  if (s.includes(':') && ipaddr.IPv6.isValid(s)) return ipaddr.IPv6.parse(s);
  return undefined;
}

export function compileIpSet(addresses: readonly string[]): IpSet {
  const v4: Range[] = [];
  const v6: Range[] = [];
  for (const cidr of addresses) {
    const [ip, prefix, extra] = cidr.split('/');
    const addr = parseIp(ip ?? '');
    const bits = addr?.kind() === 'ipv6' ? 128 : 32;
    const length = prefix === undefined ? bits : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!addr || extra !== undefined || !(length >= 0 && length <= bits))
      throw new Error(`invalid IP set address ${JSON.stringify(cidr)}`);
    (addr.kind() === 'ipv6' ? v6 : v4).push([addr, length]);
  }
  return { v4, v6 };
}

export function ipInSet(set: IpSet, ip: string): boolean {
  const addr = parseIp(ip);
  if (!addr) return false;
  const ranges = addr.kind() === 'ipv6' ? set.v6 : set.v4;
  return ranges.some((range) => addr.match(range as never));
}

/** IPs in a forwarded header (X-Forwarded-For style: comma-separated, spaces allowed). */
export function forwardedIps(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export const isValidIp = (s: string): boolean => parseIp(s) !== undefined;
