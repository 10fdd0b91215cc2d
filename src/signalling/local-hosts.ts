import { networkInterfaces } from 'node:os'

/**
 * The IP addresses on this machine's interfaces that are up, as the kernel
 * reports them now. libp2p's own list names only what it listens on (one
 * interface, or loopback), while connections and ICE candidates may use any
 * interface: this is what says whether a path's local end still exists.
 */
export function localHosts (): Set<string> {
  const hosts = new Set<string>()
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) hosts.add(a.address)
  }
  return hosts
}
