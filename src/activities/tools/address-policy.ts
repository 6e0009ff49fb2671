import { BlockList, isIP } from 'node:net';

// Which addresses a server-side fetch may connect to. Loopback, private, link-local (cloud
// metadata lives at 169.254.169.254), carrier-grade NAT, multicast, reserved and unspecified
// addresses are refused unless configuration allows them.

const blocked = new BlockList();
for (const [network, prefix] of [
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
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** True when `address` (an IP literal) is one a fetch must not reach by default. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return blocked.check(mapped[1]!, 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return true;
}

export interface AddressPolicy {
  /** Allow every private address (for trusted deployments). */
  allowPrivate: boolean;
  /** Host names or IPs exempt from the check, exactly as written in URLs. */
  allowedHosts: string[];
}

export function checkAddress(policy: AddressPolicy, host: string, address: string): string | undefined {
  if (policy.allowPrivate || policy.allowedHosts.includes(host)) return undefined;
  return isPrivateAddress(address) ? `refused: ${host} resolves to ${address}, a private, loopback or link-local address` : undefined;
}
