import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { decodePresence, encodePresence, type DecodedPresence } from '../../src/signalling/presence-codec.ts'
import type { PresenceRecord } from '../../src/signalling/types.ts'

const RUNS = 500
const REJECTIONS = ['size', 'json', 'schema', 'sender', 'swarm', 'stale', 'key', 'signature']
const encoder = new TextEncoder()
const decoder = new TextDecoder()

let key: PrivateKey
let id: string
beforeAll(async () => {
  key = await generateKeyPair('Ed25519')
  id = peerIdFromPrivateKey(key).toString()
})

const recordFields = fc.record({
  instance: fc.string({ minLength: 1, maxLength: 64 }),
  name: fc.string({ maxLength: 128 }),
  version: fc.string({ maxLength: 64 }),
  sources: fc.array(fc.record({ name: fc.string({ minLength: 1, maxLength: 64 }), kind: fc.constantFrom('video' as const, 'audio' as const), codec: fc.string({ maxLength: 32 }) }), { maxLength: 4 }),
  stack: fc.string({ maxLength: 32 }),
  addresses: fc.array(fc.string({ maxLength: 100 }), { maxLength: 4 }),
  seq: fc.nat(),
  ts: fc.nat()
})

function record (fields: Omit<PresenceRecord, 'peerId' | 'swarm'>): PresenceRecord {
  return { peerId: id, swarm: 'fuzz', ...fields }
}

/** decodePresence must resolve (never throw) with a record or a known rejection. */
async function decode (data: Uint8Array, lastSeq?: number): Promise<DecodedPresence> {
  const out = await decodePresence(data, { from: id, swarm: 'fuzz', ...(lastSeq !== undefined ? { lastSeq } : {}) })
  if (!out.ok) {
    expect(REJECTIONS).toContain(out.why)
    expect(typeof out.reason).toBe('string')
  }
  return out
}

describe('decodePresence on hostile input (property-based)', () => {
  it('any valid record signed by its peer round-trips', async () => {
    await fc.assert(fc.asyncProperty(recordFields, async fields => {
      const rec = record(fields)
      const out = await decode(await encodePresence(rec, key))
      expect(out).toEqual({ ok: true, record: rec })
    }), { numRuns: RUNS })
  })

  it('a signed envelope with its record text changed anywhere is never accepted', async () => {
    await fc.assert(fc.asyncProperty(recordFields, fc.nat(), fc.string({ minLength: 1, maxLength: 8 }), async (fields, at, insert) => {
      const env = JSON.parse(decoder.decode(await encodePresence(record(fields), key)))
      const i = at % (env.record.length + 1)
      env.record = env.record.slice(0, i) + insert + env.record.slice(i)
      const out = await decode(encoder.encode(JSON.stringify(env)))
      expect(out.ok).toBe(false)
    }), { numRuns: RUNS })
  })

  it('envelopes with random fields, signatures and records: a rejection, never a throw', async () => {
    const env = fc.record({
      v: fc.oneof(fc.constant(1), fc.jsonValue()),
      record: fc.oneof(fc.jsonValue().map(v => JSON.stringify(v)), fc.string(), recordFields.map(f => JSON.stringify(record(f))), fc.jsonValue()),
      sig: fc.oneof(fc.base64String({ maxLength: 120 }), fc.string({ maxLength: 300 }), fc.jsonValue())
    }, { requiredKeys: [] })
    await fc.assert(fc.asyncProperty(env, async e => {
      const out = await decode(encoder.encode(JSON.stringify(e)))
      expect(out.ok).toBe(false)
    }), { numRuns: RUNS })
  })

  it('bit flips in a valid envelope: a rejection (or, if the flip changed nothing that is signed, the same record)', async () => {
    await fc.assert(fc.asyncProperty(recordFields, fc.nat(), fc.integer({ min: 1, max: 255 }), async (fields, at, flip) => {
      const rec = record(fields)
      const data = await encodePresence(rec, key)
      data[at % data.byteLength] ^= flip
      const out = await decode(data)
      if (out.ok) expect(out.record).toEqual(rec)
    }), { numRuns: RUNS })
  })

  it('replays are refused as stale', async () => {
    await fc.assert(fc.asyncProperty(recordFields, fc.nat(), async (fields, extra) => {
      const data = await encodePresence(record(fields), key)
      const out = await decode(data, fields.seq + extra)
      expect(out).toMatchObject({ ok: false, why: 'stale' })
    }), { numRuns: RUNS })
  })
})
