import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { z } from 'zod'
import type { PresenceRecord } from './types.ts'

/**
 * Presence records on the wire. A gossipsub message's data is a small JSON
 * envelope (UTF-8):
 *
 *   { "v": 1, "record": "<the record, itself a JSON text>", "sig": "<base64>" }
 *
 * `sig` is the publisher's libp2p (Ed25519) signature over the UTF-8 bytes of
 * SIGNING_PREFIX + record. An Ed25519 peer id embeds its public key, so the
 * record's `peerId` alone is enough to verify it. The record travels as the
 * exact text that was signed, so no canonical JSON is needed. Receivers also
 * require: envelope ≤ MAX_PRESENCE_BYTES, the record schema below (unknown
 * fields are dropped, for newer publishers), `peerId` equal to the gossipsub
 * sender (a record relayed by presence sync has none to match), `swarm`
 * equal to their own, and `seq` above the last one they took from that peer
 * (stale or replayed records are refused).
 */

export const PRESENCE_VERSION = 1
export const MAX_PRESENCE_BYTES = 16 * 1024
/** Domain separation: this key also signs Noise handshakes and gossipsub messages. */
const SIGNING_PREFIX = 'edge-stack/presence/1\n'

const sourceSchema = z.object({
  name: z.string().min(1).max(64),
  kind: z.enum(['video', 'audio']),
  codec: z.string().max(32)
})

const recordSchema = z.object({
  peerId: z.string().min(1).max(128),
  swarm: z.string().min(1).max(64),
  instance: z.string().min(1).max(64),
  name: z.string().max(128),
  version: z.string().max(64),
  sources: z.array(sourceSchema).max(64),
  stack: z.string().max(32),
  addresses: z.array(z.string().max(256)).max(32),
  seq: z.number().int().nonnegative(),
  ts: z.number().nonnegative(),
  leaving: z.boolean().optional(),
  full: z.boolean().optional(),
  every: z.number().int().positive().max(24 * 3_600_000).optional()
})

const envelopeSchema = z.object({
  v: z.literal(PRESENCE_VERSION),
  record: z.string(),
  sig: z.string().max(256)
})

export interface PresenceExpectations {
  /**
   * The gossipsub message's `from`: the record must be about its own
   * publisher. Absent for a record relayed by another peer (presence sync):
   * the author's signature alone binds it to its peer id.
   */
  from?: string
  swarm: string
  /** Highest seq already taken from this peer (or, for a relayed record, from its author), if any. */
  lastSeq?: number | ((peerId: string) => number | undefined)
}

export type PresenceRejection = 'size' | 'json' | 'schema' | 'sender' | 'swarm' | 'stale' | 'key' | 'signature'

export type DecodedPresence =
  | { ok: true, record: PresenceRecord }
  | { ok: false, why: PresenceRejection, reason: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

function signedBytes (recordJson: string): Uint8Array {
  return encoder.encode(SIGNING_PREFIX + recordJson)
}

export async function encodePresence (record: PresenceRecord, key: PrivateKey): Promise<Uint8Array> {
  const recordJson = JSON.stringify(record)
  const sig = await key.sign(signedBytes(recordJson))
  return encoder.encode(JSON.stringify({ v: PRESENCE_VERSION, record: recordJson, sig: Buffer.from(sig).toString('base64') }))
}

function reject (why: PresenceRejection, reason: string): DecodedPresence {
  return { ok: false, why, reason }
}

/** Decode and check a presence envelope. Never throws: a bad input gives the reason. */
export async function decodePresence (data: Uint8Array, expect: PresenceExpectations): Promise<DecodedPresence> {
  if (data.byteLength > MAX_PRESENCE_BYTES) return reject('size', `${data.byteLength} bytes, more than ${MAX_PRESENCE_BYTES}`)
  let envelope: z.infer<typeof envelopeSchema>
  let raw: unknown
  try {
    const parsed = envelopeSchema.safeParse(JSON.parse(decoder.decode(data)))
    if (!parsed.success) return reject('schema', `envelope: ${z.prettifyError(parsed.error)}`)
    envelope = parsed.data
    raw = JSON.parse(envelope.record)
  } catch (err) {
    return reject('json', (err as Error).message)
  }
  const parsed = recordSchema.safeParse(raw)
  if (!parsed.success) return reject('schema', z.prettifyError(parsed.error))
  const record: PresenceRecord = parsed.data
  if (expect.from !== undefined && record.peerId !== expect.from) return reject('sender', `record of ${record.peerId} published by ${expect.from}`)
  if (record.swarm !== expect.swarm) return reject('swarm', `record for swarm "${record.swarm}", not "${expect.swarm}"`)
  const lastSeq = typeof expect.lastSeq === 'function' ? expect.lastSeq(record.peerId) : expect.lastSeq
  if (lastSeq !== undefined && record.seq <= lastSeq) {
    return reject('stale', `seq ${record.seq} not above ${lastSeq}`)
  }
  let publicKey: PublicKey | undefined
  try {
    publicKey = peerIdFromString(record.peerId).publicKey
  } catch (err) {
    return reject('key', `bad peer id ${record.peerId}: ${(err as Error).message}`)
  }
  if (publicKey === undefined) return reject('key', `peer id ${record.peerId} does not embed a public key`)
  let valid = false
  try {
    valid = await publicKey.verify(signedBytes(envelope.record), Buffer.from(envelope.sig, 'base64'))
  } catch (err) {
    return reject('signature', `malformed signature: ${(err as Error).message}`)
  }
  if (!valid) return reject('signature', 'signature does not verify with the peer id\'s key')
  return { ok: true, record }
}
