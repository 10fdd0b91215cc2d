/**
 * Why the trusted profile (no encryption) may not be used with a peer, or
 * undefined when it may: it needs rtc.trusted: true AND the peer listed by id
 * in swarm.allow (an empty allow list, "everyone in the swarm", is not enough).
 */
export function trustedRefusal (config: { rtc: { trusted: boolean }, swarm: { allow: string[] } }, peer: string): string | undefined {
  if (!config.rtc.trusted) return 'rtc.trusted is not true on this daemon'
  if (!config.swarm.allow.includes(peer)) return `peer ${peer} is not listed in swarm.allow`
  return undefined
}
