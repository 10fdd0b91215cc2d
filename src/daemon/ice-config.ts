import { createHmac } from 'node:crypto'
import type { IceServerConfig } from '../transport/types.ts'
import type { Config } from './config-schema.ts'

export const DEFAULT_TURN_TTL_SECONDS = 24 * 3600

/**
 * ICE servers from config. A TURN server with a shared `secret` gets ephemeral
 * credentials as coturn's TURN REST API expects (use-auth-secret):
 * username `<expiry>:<peer id>`, password base64(HMAC-SHA1(secret, username)).
 */
export function iceServersFromConfig (servers: Config['rtc']['iceServers'], peerId: string, nowMs = Date.now()): IceServerConfig[] {
  return servers.map(server => {
    if (typeof server === 'string') return { urls: server }
    if (server.secret !== undefined) {
      const expiry = Math.floor(nowMs / 1000) + (server.ttlSeconds ?? DEFAULT_TURN_TTL_SECONDS)
      const username = `${expiry}:${peerId}`
      const credential = createHmac('sha1', server.secret).update(username).digest('base64')
      return { urls: server.urls, username, credential }
    }
    return {
      urls: server.urls,
      ...(server.username !== undefined ? { username: server.username } : {}),
      ...(server.credential !== undefined ? { credential: server.credential } : {})
    }
  })
}
