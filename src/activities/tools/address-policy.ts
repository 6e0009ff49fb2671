import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';

// Which addresses a server-side fetch may connect to: global unicast ones only, and none of this
// machine's own. Every special range (loopback, private, link-local where cloud metadata lives,
// carrier-grade NAT, multicast, reserved, documentation, benchmarking, NAT64, 6to4, Teredo...)
// comes from ipaddr.js's maintained table, not from a list kept here; IPv4-mapped IPv6 addresses
// are judged as the IPv4 address they carry. Configuration can allow private addresses, or hosts.

// Outside 2000::/3, IPv6 has no global unicast addresses, though ipaddr.js calls unassigned ones 'unicast'.
const globalUnicastIpv6 = ipaddr.IPv6.parseCIDR('2000::/3');

function parse(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    return ipaddr.process(address);
  } catch {
    return undefined;
  }
}

/** True when `address` (an IP literal) is one a fetch must not reach by default: anything not global unicast. */
export function isPrivateAddress(address: string): boolean {
  const parsed = parse(address);
  if (!parsed) return true;
  if (parsed.kind() === 'ipv4') return parsed.range() !== 'unicast';
  return parsed.range() !== 'unicast' || !parsed.match(globalUnicastIpv6);
}

/** The canonical text of an address, to compare two spellings of it (zone ids dropped). */
function canonical(address: string): string | undefined {
  return parse(address.replace(/%.*$/, ''))?.toNormalizedString();
}

/** The addresses of this machine's network interfaces, read now (interfaces come and go). */
export function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
}

export interface AddressPolicy {
  /** Allow every private address (for trusted deployments). */
  allowPrivate: boolean;
  /** Host names or IPs exempt from the check, exactly as written in URLs. */
  allowedHosts: string[];
  /** This machine's addresses (default: its network interfaces'); tests replace it. */
  ownAddresses?: () => string[];
}

export function checkAddress(policy: AddressPolicy, host: string, address: string): string | undefined {
  if (policy.allowPrivate || policy.allowedHosts.includes(host)) return undefined;
  if (isPrivateAddress(address)) return `refused: ${host} resolves to ${address}, a private, loopback or link-local address`;
  const target = canonical(address);
  const own = (policy.ownAddresses ?? interfaceAddresses)();
  if (target && own.some((mine) => canonical(mine) === target)) return `refused: ${host} resolves to ${address}, an address of this machine`;
  return undefined;
}
