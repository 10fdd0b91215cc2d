import type { IceServer } from 'node-datachannel'
import type { IceServerConfig } from './types.ts'

const ICE_URL = /^(stun|stuns|turn|turns):(\[[0-9a-fA-F:.]+\]|[^:?/@\s]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/

/**
 * Convert STUN/TURN URLs (RFC 7064/7065) into node-datachannel's object form,
 * which carries credentials without URL-escaping pitfalls. libdatachannel has
 * no STUN over TLS, so stuns: is refused rather than silently downgraded.
 */
export function toRtcIceServer (server: IceServerConfig): IceServer {
  const match = ICE_URL.exec(server.urls)
  if (match === null) throw new TypeError(`not a stun:/turn: URL: ${server.urls}`)
  const [, scheme, host, portText, transport] = match
  if (scheme === 'stuns') throw new TypeError(`stuns: is not supported by libdatachannel: ${server.urls}`)
  const hostname = host.startsWith('[') ? host.slice(1, -1) : host
  const port = portText === undefined ? (scheme === 'turns' ? 5349 : 3478) : Number(portText)
  if (port < 1 || port > 65535) throw new TypeError(`port out of range in ${server.urls}`)
  if (scheme === 'stun') return { hostname, port }
  if (server.username === undefined || server.credential === undefined) {
    throw new TypeError(`TURN server ${server.urls} needs username and credential`)
  }
  const relayType = scheme === 'turns' ? 'TurnTls' : transport === 'tcp' ? 'TurnTcp' : 'TurnUdp'
  return { hostname, port, username: server.username, password: server.credential, relayType }
}
