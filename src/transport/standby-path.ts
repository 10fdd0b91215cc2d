import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { isIPv4 } from 'node:net'

/** One address of a local interface, as node:os lists it. */
export type LocalAddress = Pick<NetworkInterfaceInfo, 'address' | 'netmask' | 'family' | 'internal'> & { iface: string }

export function localAddresses (): LocalAddress[] {
  return Object.entries(networkInterfaces()).flatMap(([iface, list]) => (list ?? []).map(a => ({ iface, address: a.address, netmask: a.netmask, family: a.family, internal: a.internal })))
}

const bare = (address: string): string => address.replace(/%.*$/, '')

function toInt (ip: string): number | undefined {
  if (!isIPv4(ip)) return undefined
  return ip.split('.').reduce((n, part) => (n * 256) + Number(part), 0)
}

/** Whether two IPv4 addresses share the subnet of `netmask` (IPv6: not worked out, false). */
export function sameSubnet (a: string, b: string, netmask: string): boolean {
  const [x, y, m] = [toInt(a), toInt(b), toInt(netmask)]
  if (x === undefined || y === undefined || m === undefined) return false
  // Unsigned: the top bit set would make the & negative.
  return ((x & m) >>> 0) === ((y & m) >>> 0)
}

export interface StandbyAddressQuery {
  /** The local address of the active path (its selected pair's local candidate). */
  activeLocal: string
  /** The remote address of the active path. */
  activeRemote?: string
  /** Addresses the peer announces (its presence): a local address on a subnet of one of them is a second route. */
  peerHosts: string[]
  /** The machine's interfaces (tests pass their own). */
  addresses?: LocalAddress[]
}

/**
 * The local address to bind a standby PeerConnection to: one on another
 * interface than the active path's, of the same family, not loopback nor
 * link-local; one on a subnet where the peer has an address of its own other
 * than the active path's (a second route to it) first. Undefined when the
 * machine has no second interface: a standby bound to the active path's own
 * address would die with it.
 */
export function standbyBindAddress (query: StandbyAddressQuery): string | undefined {
  const active = bare(query.activeLocal)
  const v4 = isIPv4(active)
  const all = query.addresses ?? localAddresses()
  const activeEntry = all.find(a => bare(a.address) === active)
  // A loopback path does not fail; a second one beside it would only cost a PeerConnection.
  if (activeEntry?.internal === true || active === '127.0.0.1' || active === '::1') return undefined
  const activeIface = activeEntry?.iface
  const candidates = all.filter(a =>
    !a.internal &&
    (a.family === 'IPv4') === v4 &&
    bare(a.address) !== active &&
    a.iface !== activeIface &&
    !/^fe80:/i.test(a.address) &&
    !a.address.startsWith('169.254.'))
  const otherPeerHosts = query.peerHosts.filter(h => h !== query.activeRemote)
  const routed = candidates.find(a => otherPeerHosts.some(h => sameSubnet(a.address, h, a.netmask)))
  return (routed ?? candidates[0])?.address
}
