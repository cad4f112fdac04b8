import { describe, expect, it } from 'vitest';

import {
  canonicalAddress,
  checkHostName,
  classifyAddress,
  isMetadataAddress,
} from '../../src/evidence/address-policy.js';

describe('classifyAddress', () => {
  it.each([
    ['10.0.0.5', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.254', 'cgnat'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['[::1]', 'loopback'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::127.0.0.1', 'embedded-ipv4'],
    ['::7f00:1', 'embedded-ipv4'],
    ['::8.8.8.8', 'embedded-ipv4'],
    ['::ffff:0:127.0.0.1', 'embedded-ipv4'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b:1::1', 'embedded-ipv4'],
    ['2002:7f00:1::1', 'embedded-ipv4'],
    ['2001:db8::1', 'reserved'],
    ['2001::1', 'reserved'],
    ['3fff::1', 'reserved'],
    ['100::1', 'reserved'],
    ['4000::1', 'reserved'],
    ['not-an-ip', 'invalid'],
    // IPv4 ranges at their edges, and forms the OS may read differently (octal, hex, short, integer).
    ['0.255.255.255', 'unspecified'],
    ['100.64.0.0', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['192.0.0.192', 'metadata'],
    ['192.0.0.8', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['010.0.0.1', 'invalid'],
    ['0x7f.0.0.1', 'invalid'],
    ['127.1', 'invalid'],
    ['2130706433', 'invalid'],
    ['1.2.3.4%eth0', 'invalid'],
    [' 8.8.8.8', 'invalid'],
    // Special-purpose ranges ipaddr.js knows that the tables do not name (AS112, AMT) are refused too.
    ['192.31.196.1', 'reserved'],
    ['192.52.193.1', 'reserved'],
    ['2620:4f:8000::1', 'reserved'],
    // IPv6: upper case, zones, every IPv4-carrying form with a non-public IPv4 address.
    ['FE80::1', 'link-local'],
    ['FD00:EC2::254', 'metadata'],
    ['fd00:ec2::23', 'metadata'],
    ['2606:4700::1111%eth0', 'link-local'],
    ['::FFFF:7F00:1', 'loopback'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:100.64.0.1', 'cgnat'],
    ['::ffff:172.16.0.1', 'private'],
    ['::ffff:192.168.0.1', 'private'],
    ['::ffff:169.254.1.1', 'link-local'],
    ['::ffff:224.0.0.1', 'multicast'],
    ['::ffff:255.255.255.255', 'reserved'],
    ['::ffff:0127.0.0.1', 'invalid'],
    ['::ffff:0x7f.0.0.1', 'invalid'],
    ['::ffff:0:8.8.8.8', 'embedded-ipv4'],
    ['::1.2.3.4', 'embedded-ipv4'],
    ['::a9fe:a9fe', 'embedded-ipv4'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['64:ff9b::169.254.169.254', 'metadata'],
    ['64:ff9b::100.64.0.1', 'cgnat'],
    ['64:ff9b::224.0.0.1', 'multicast'],
    ['64:ff9b::255.255.255.255', 'reserved'],
    ['64:ff9b::0.0.0.0', 'unspecified'],
    ['64:ff9b:1::8.8.8.8', 'embedded-ipv4'],
    ['2002:a9fe:a9fe::1', 'embedded-ipv4'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
    ['2001:db8:ffff::1', 'reserved'],
    ['ff05::2', 'multicast'],
    ['fec0::1%1', 'link-local'],
    ['100::1', 'reserved'],
    ['::2', 'embedded-ipv4'],
    ['1:2:3:4:5:6:7:8:9', 'invalid'],
    ['1::2::3', 'invalid'],
    ['[::1', 'invalid'],
  ])('refuses %s as %s', (address, category) => {
    const v = classifyAddress(address);
    expect(v.allowed).toBe(false);
    expect(v.category).toBe(category);
    expect(v.reason).toBeTruthy();
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700::1111',
    '2a00:1450::1',
    '1.0.0.0',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '192.169.0.1',
    '223.255.255.255',
    '2001:200::1',
    '2001:4860:4860::8888',
    '2003::1',
    '[2606:4700::1111]',
    '::ffff:1.1.1.1',
    '64:ff9b::1.1.1.1',
  ])('allows the public address %s', (address) => {
    expect(classifyAddress(address)).toEqual({ allowed: true, category: 'public' });
  });

  it('judges IPv4-mapped and NAT64 forms by the IPv4 address they carry', () => {
    expect(classifyAddress('::ffff:8.8.8.8').allowed).toBe(true);
    expect(classifyAddress('64:ff9b::8.8.8.8').allowed).toBe(true);
    expect(classifyAddress('::ffff:127.0.0.1').reason).toBe(
      '::ffff:127.0.0.1 is the IPv4-mapped IPv6 form of 127.0.0.1: 127.0.0.1 is loopback (127.0.0.0/8)',
    );
  });

  it('names metadata endpoints', () => {
    expect(isMetadataAddress('169.254.169.254')).toBe(true);
    expect(isMetadataAddress('fd00:ec2:0::254')).toBe(true);
    expect(isMetadataAddress('10.0.0.1')).toBe(false);
  });
});

describe('canonicalAddress', () => {
  it('expands compressed and dotted forms', () => {
    expect(canonicalAddress('::ffff:127.0.0.1')).toBe('0:0:0:0:0:ffff:7f00:1');
    expect(canonicalAddress('fd00:ec2::254')).toBe('fd00:ec2:0:0:0:0:0:254');
    expect(canonicalAddress('FD00:EC2::254')).toBe('fd00:ec2:0:0:0:0:0:254');
    expect(canonicalAddress('1::')).toBe('1:0:0:0:0:0:0:0');
    expect(canonicalAddress('::1.2.3.4')).toBe('0:0:0:0:0:0:102:304');
    expect(canonicalAddress('[::1]')).toBe('0:0:0:0:0:0:0:1');
    expect(canonicalAddress('fe80::1%eth0')).toBe('fe80:0:0:0:0:0:0:1');
    expect(canonicalAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalAddress('1.2.3.4')).toBe('1.2.3.4');
  });
});

describe('checkHostName', () => {
  it.each([
    'localhost',
    'localhost.',
    'api.localhost',
    'metadata.google.internal',
    'metadata',
    'instance-data',
    'router',
    'nas.local',
    'host.home.arpa',
    'db.internal',
    'box.lan',
    '',
  ])('refuses %j', (name) => {
    expect(checkHostName(name)).toBeTruthy();
  });

  it.each(['nvd.nist.gov', 'github.com', 'www.example.com', 'xn--bcher-kva.example'])('allows %s', (name) => {
    expect(checkHostName(name)).toBeUndefined();
  });
});
