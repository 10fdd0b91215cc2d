import { z } from 'zod'
import { MAX_PRESENCE_BYTES } from './presence-codec.ts'

/**
 * The presence sync protocol's messages (see presence-sync.ts), each one
 * length-prefixed frame on the stream:
 *
 * - request (the asker, one frame): UTF-8 JSON `{ "v": 1, "have": { "<peer id>": <seq>, … } }`,
 *   the newest seq it holds of each peer;
 * - answer (one frame per record, then the stream ends): a 4-byte big-endian
 *   age in ms (how long ago the answerer heard the record) followed by the
 *   presence envelope exactly as its author signed it (presence-codec.ts).
 *
 * The answer carries only records newer than `have` says, so asking a peer
 * that knows nothing new costs one small frame each way.
 */

export const PRESENCE_SYNC_VERSION = 1
/** Peers one request may list; a swarm larger than this asks about its newest. */
export const MAX_SYNC_HAVE = 1024
export const MAX_SYNC_REQUEST_BYTES = 96 * 1024
/** Records one answer may carry; the rest arrive by gossip. */
export const MAX_SYNC_RECORDS = 512
const AGE_BYTES = 4
export const MAX_SYNC_RECORD_FRAME_BYTES = AGE_BYTES + MAX_PRESENCE_BYTES
const MAX_AGE_MS = 0xffff_ffff

const requestSchema = z.object({
  v: z.literal(PRESENCE_SYNC_VERSION),
  have: z.record(z.string().min(1).max(128), z.number().int().nonnegative())
})

export interface SyncRecord {
  /** The presence envelope as its author signed it. */
  envelope: Uint8Array
  /** How long ago the sender heard it (ms). */
  ageMs: number
}

export class SyncMessageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'SyncMessageError'
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeSyncRequest (have: Map<string, number>): Uint8Array {
  return encoder.encode(JSON.stringify({ v: PRESENCE_SYNC_VERSION, have: Object.fromEntries(have) }))
}

/** The request's `have`; throws SyncMessageError naming what is wrong. */
export function decodeSyncRequest (data: Uint8Array): Map<string, number> {
  if (data.byteLength > MAX_SYNC_REQUEST_BYTES) throw new SyncMessageError(`request of ${data.byteLength} bytes, more than ${MAX_SYNC_REQUEST_BYTES}`)
  let raw: unknown
  try {
    raw = JSON.parse(decoder.decode(data))
  } catch (err) {
    throw new SyncMessageError(`request is not JSON: ${(err as Error).message}`)
  }
  const parsed = requestSchema.safeParse(raw)
  if (!parsed.success) throw new SyncMessageError(`request: ${z.prettifyError(parsed.error)}`)
  const entries = Object.entries(parsed.data.have)
  if (entries.length > MAX_SYNC_HAVE) throw new SyncMessageError(`request lists ${entries.length} peers, more than ${MAX_SYNC_HAVE}`)
  return new Map(entries)
}

export function encodeSyncRecord (record: SyncRecord): Uint8Array {
  const out = new Uint8Array(AGE_BYTES + record.envelope.byteLength)
  new DataView(out.buffer).setUint32(0, Math.min(MAX_AGE_MS, Math.max(0, Math.round(record.ageMs))))
  out.set(record.envelope, AGE_BYTES)
  return out
}

/** One answer frame; the envelope inside is checked later, by decodePresence. */
export function decodeSyncRecord (frame: Uint8Array): SyncRecord {
  if (frame.byteLength <= AGE_BYTES) throw new SyncMessageError(`record frame of ${frame.byteLength} bytes holds no envelope`)
  if (frame.byteLength > MAX_SYNC_RECORD_FRAME_BYTES) throw new SyncMessageError(`record frame of ${frame.byteLength} bytes, more than ${MAX_SYNC_RECORD_FRAME_BYTES}`)
  const ageMs = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0)
  return { ageMs, envelope: frame.slice(AGE_BYTES) }
}
