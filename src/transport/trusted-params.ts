import net from 'node:net'
import os from 'node:os'
import { InvalidSignalError } from '../util/errors.ts'
import type { SignalParams } from './types.ts'

/** Where a trusted session's UDP socket takes RTP, RTCP and lossy messages. */
export interface UdpAddress {
  host: string
  port: number
}

/** The offer/answer params of a trusted session: its UDP address. */
export function encodeTrustedParams (address: UdpAddress): SignalParams {
  return { udpHost: address.host, udpPort: address.port }
}

/** The peer's UDP address from its offer or answer; InvalidSignalError names what is wrong. */
export function parseTrustedParams (params: SignalParams | undefined, what: string): UdpAddress {
  if (params === undefined) throw new InvalidSignalError(`${what}: trusted profile needs params udpHost and udpPort`)
  const { udpHost: host, udpPort: port } = params
  if (typeof host !== 'string' || net.isIP(host) === 0) throw new InvalidSignalError(`${what}: params.udpHost must be an IP address, not ${JSON.stringify(host)}`)
  if (host === '0.0.0.0' || host === '::') throw new InvalidSignalError(`${what}: params.udpHost must not be the unspecified address ${host}`)
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidSignalError(`${what}: params.udpPort must be a port 1-65535, not ${JSON.stringify(port)}`)
  for (const key of Object.keys(params)) {
    if (key !== 'udpHost' && key !== 'udpPort') throw new InvalidSignalError(`${what}: unknown param ${JSON.stringify(key.slice(0, 64))}`)
  }
  return { host, port }
}

/** The address to announce for a socket bound to `bound`: itself, or this host's first non-internal IPv4 address. */
export function announcedHost (bound: string): string {
  if (bound !== '0.0.0.0' && bound !== '::') return bound
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}
