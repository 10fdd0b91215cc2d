/**
 * The IP hosts of a list of multiaddrs (`/ip4/10.0.0.5/tcp/4001/p2p/…` →
 * `10.0.0.5`). Addresses change for harmless reasons (observed addresses
 * carry the remote's ephemeral ports, identify adds some); a host that goes
 * away is what can take a connection's or a session's path with it.
 * Relayed addresses (`…/p2p-circuit/…`) are left out: they name the relay's
 * host and come and go with the reservation on it (a partition longer than
 * libp2p's ping drops it), which says nothing about our own paths.
 */
export function addressHosts (addrs: Iterable<string>): Set<string> {
  const hosts = new Set<string>()
  for (const a of addrs) {
    if (a.includes('/p2p-circuit')) continue
    const m = /^\/(?:ip4|ip6)\/([^/]+)/.exec(a)
    if (m !== null) hosts.add(m[1])
  }
  return hosts
}

/** Whether a host of `before` is missing from `after`. */
export function lostHost (before: Iterable<string>, after: Iterable<string>): boolean {
  const now = addressHosts(after)
  return [...addressHosts(before)].some(h => !now.has(h))
}
