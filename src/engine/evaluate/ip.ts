// IP sets and forwarded-IP headers. node:net's BlockList does CIDR matching for IPv4 and IPv6.
import { BlockList, isIP } from 'node:net';

export function compileIpSet(addresses: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of addresses) {
    const [ip, prefix] = cidr.split('/');
    const family = isIP(ip ?? '');
    if (family === 0) throw new Error(`invalid IP set address ${JSON.stringify(cidr)}`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(ip!, prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix), type);
  }
  return list;
}

export function ipInSet(list: BlockList, ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

/** IPs in a forwarded header (X-Forwarded-For style: comma-separated, spaces allowed). */
export function forwardedIps(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export const isValidIp = (s: string): boolean => isIP(s) !== 0;
