/**
 * How often presence goes out as the swarm grows. Every daemon handles every
 * record of the swarm (and several gossip copies of each), so at a fixed
 * interval each one's work grows with N and the machine's or the LAN's with
 * N². Past PEERS_PER_INTERVAL peers the periodic re-announce stretches in
 * proportion, which keeps the records each daemon handles per second about
 * constant. Changes (sources, addresses, a restart) still go out at once:
 * only the "still here" repeat slows down. A record says its publisher's
 * interval (`every`), and receivers wait as many of those before they call
 * it silent as their own expiry is intervals.
 */
export const PEERS_PER_INTERVAL = 8

/** The re-announce interval with `peers` known peers, from the configured base. */
export function presenceIntervalMs (baseMs: number, peers: number): number {
  return baseMs * Math.max(1, Math.ceil(peers / PEERS_PER_INTERVAL))
}

/** How long a peer announcing every `everyMs` may stay silent before it counts as gone. */
export function presenceExpiryMs (base: { expiryMs: number, intervalMs: number }, everyMs: number | undefined): number {
  if (everyMs === undefined || everyMs <= base.intervalMs) return base.expiryMs
  return Math.round(base.expiryMs * everyMs / base.intervalMs)
}

/**
 * The largest `every` a record may claim with a table of `maxPeers`: what a
 * daemon of a swarm that size announces at. A larger claim (24 h stretched a
 * record's expiry to four days) counts as this.
 */
export function maxEveryMs (baseMs: number, maxPeers: number): number {
  return presenceIntervalMs(baseMs, maxPeers)
}
