/**
 * Keeps the gateway from being used to reach the platform's own network
 * (SSRF): vendors choose upstream URLs, so in production the gateway refuses
 * to connect to loopback, private, link-local (cloud metadata), CGNAT and
 * other non-public addresses. The check runs on the address actually
 * connected to — after DNS resolution — so a public name that resolves to a
 * private address (DNS rebinding) is refused too.
 */
import { LookupAddress, LookupOptions, lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** True for addresses the gateway must not connect to (IPv4-mapped IPv6 judged as IPv4). */
export function isNonPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1], 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class NonPublicUpstreamError extends Error {
  readonly code = 'UPSTREAM_ADDRESS_NOT_PUBLIC';
  constructor(host: string) {
    super(`upstream ${host} resolves to a non-public address`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net/tls.connect that fails on non-public addresses. */
export function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, options.all ? [] : '');
    const list = addresses as LookupAddress[];
    if (list.length === 0 || list.some((a) => isNonPublicAddress(a.address))) {
      return callback(new NonPublicUpstreamError(hostname) as unknown as NodeJS.ErrnoException, options.all ? [] : '');
    }
    if (options.all) return callback(null, list);
    callback(null, list[0].address, list[0].family);
  });
}

/** For IP-literal hosts, which connect without a lookup. */
export function assertPublicHost(hostname: string): void {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0 && isNonPublicAddress(bare)) throw new NonPublicUpstreamError(hostname);
  if (bare === 'localhost' || bare.endsWith('.localhost')) throw new NonPublicUpstreamError(hostname);
}
