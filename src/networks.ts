import ipaddr from 'ipaddr.js';

/**
 * Networks given in the configuration (CALLBACK_ALLOW_FROM, CALLBACK_TRUSTED_PROXIES): CIDR blocks or single
 * addresses, IPv4 written as four decimal numbers (no `0x7f.1` or `127.1` shorthands, which mean something
 * else to each reader), and the test of an address against them. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`,
 * how a dual-stack socket reports an IPv4 client) are compared as the IPv4 address they carry.
 */

export type Network = [ipaddr.IPv4 | ipaddr.IPv6, number];

function address(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  return undefined;
}

/** One network as `a.b.c.d/n`, `x::/n` or a single address; undefined when it is not one. */
export function parseNetwork(text: string): Network | undefined {
  const [host = '', bits, extra] = text.split('/');
  const parsed = address(host);
  if (!parsed || extra !== undefined) return undefined;
  const max = parsed.kind() === 'ipv4' ? 32 : 128;
  if (bits === undefined) return [parsed, max];
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return [parsed, Number(bits)];
}

/** The network written canonically (`203.0.113.0/24`): what the configuration keeps. */
export function formatNetwork([addr, bits]: Network): string {
  return `${addr.toString()}/${bits}`;
}

/** An address as a socket or X-Forwarded-For gives it; undefined when it is not an address. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const trimmed = text.trim().replace(/^\[(.*)\]$/, '$1');
  const parsed = address(trimmed);
  return parsed?.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()
    ? (parsed as ipaddr.IPv6).toIPv4Address()
    : parsed;
}

export function inNetworks(addr: ipaddr.IPv4 | ipaddr.IPv6, networks: readonly Network[]): boolean {
  return networks.some(([base, bits]) => base.kind() === addr.kind() && addr.match(base, bits));
}
