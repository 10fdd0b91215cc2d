import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

/**
 * Everything a swarm name scopes, so two swarms on one LAN or DHT never mix:
 * the presence topic and its sync protocol, the mDNS service tag, the kad-dht
 * protocol and the DHT rendezvous key.
 */

const RAW_CODEC = 0x55

export function presenceTopic (swarm: string): string {
  return `/edge-stack/${swarm}/presence/1`
}

export function presenceSyncProtocol (swarm: string): string {
  return `/edge-stack/${swarm}/presence-sync/1.0.0`
}

export function kadProtocol (swarm: string): string {
  return `/edge-stack/${swarm}/kad/1.0.0`
}

/** A DNS-SD service name: one label of at most 63 characters, so the name is hashed. */
export function mdnsServiceTag (swarm: string): string {
  const hash = createHash('sha256').update(`edge-stack/mdns/${swarm}`).digest('hex').slice(0, 16)
  return `_edge-stack-${hash}._udp.local`
}

/** The key every node of the swarm provides and looks up providers of. */
export async function rendezvousCid (swarm: string): Promise<CID> {
  const digest = await sha256.digest(new TextEncoder().encode(`edge-stack/rendezvous/${swarm}`))
  return CID.createV1(RAW_CODEC, digest)
}
