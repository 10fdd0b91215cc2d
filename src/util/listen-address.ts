import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * The hosts that count as loopback for a listener (web.listen,
 * foxglove.listen): only the canonical ones. Other 127.x addresses are often
 * the target of port forwards and proxies, so they are treated like any other
 * address (token required).
 */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', '[::1]', 'localhost'])

export function isLoopbackHost (host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase())
}

/** Split a listen address (`host:port`, `[v6]:port`) into its parts. */
export function parseHostPort (listen: string): { host: string, port: number } {
  const at = listen.lastIndexOf(':')
  const host = listen.slice(0, at)
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port: Number(listen.slice(at + 1)) }
}

/** Compares a token a client presented with ours in constant time. */
export function tokenMatches (presented: string, token: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(presented), digest(token))
}

/** Compares a request's `Authorization: Bearer …` with the token in constant time. */
export function bearerMatches (header: string | undefined, token: string): boolean {
  if (header === undefined) return false
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (m === null) return false
  return tokenMatches(m[1], token)
}
