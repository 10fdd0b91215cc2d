import dgram from 'node:dgram'
import dns from 'node:dns'
import { isIPv4 } from 'node:net'

export const LOOPBACK = '127.0.0.1'

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void

/** The last address lookupNow() answered itself: sockets send to one or two addresses, over and over. */
let lastLiteral = LOOPBACK

/**
 * dgram's address lookup, answering an IPv4 address given as one at once.
 * Node's default (dns.lookup) answers it on the next tick: every datagram
 * sent to an address string cost an IP-syntax test, a process.nextTick and
 * a closure before it left (a fifth of a viewer daemon's JavaScript time
 * per RTP packet into an rtp:// sink, in a CPU profile). Host names still
 * go to dns.lookup.
 */
export function lookupNow (hostname: string, options: dns.LookupOneOptions | number, callback: LookupCallback): void {
  if (hostname === lastLiteral || isIPv4(hostname)) {
    lastLiteral = hostname
    callback(null, hostname, 4)
    return
  }
  dns.lookup(hostname, options as dns.LookupOneOptions, callback)
}

/** A UDP socket bound on 127.0.0.1 (port 0 = any free port); sends to an IPv4 address leave at once (lookupNow). */
export async function bindLoopback (port = 0, host = LOOPBACK): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', lookup: lookupNow })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, host, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  return socket
}

export async function closeSocket (socket: dgram.Socket | undefined): Promise<void> {
  if (socket === undefined) return
  await new Promise<void>(resolve => {
    try {
      socket.close(() => resolve())
    } catch {
      resolve() // already closed
    }
  })
}
