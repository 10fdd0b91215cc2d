import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { decodePresence, encodePresence, MAX_PRESENCE_BYTES } from '../../src/signalling/presence-codec.ts'
import type { PresenceRecord } from '../../src/signalling/types.ts'

let key: PrivateKey
let other: PrivateKey
let id: string
let otherId: string

beforeAll(async () => {
  key = await generateKeyPair('Ed25519')
  other = await generateKeyPair('Ed25519')
  id = peerIdFromPrivateKey(key).toString()
  otherId = peerIdFromPrivateKey(other).toString()
})

function record (over: Partial<PresenceRecord> = {}): PresenceRecord {
  return {
    peerId: id,
    swarm: 'unit',
    instance: 'i-1',
    name: 'robot-1',
    version: '1.2.3',
    sources: [{ name: 'video', kind: 'video', codec: 'h264' }],
    stack: 'webrtc',
    addresses: [`/ip4/127.0.0.1/tcp/4001/p2p/${id}`],
    seq: 1000,
    ts: Date.now(),
    ...over
  }
}

function envelope (data: Uint8Array): { v: number, record: string, sig: string } {
  return JSON.parse(new TextDecoder().decode(data))
}

function bytes (value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value))
}

describe('presence codec', () => {
  it('round-trips a record signed by its own peer', async () => {
    const r = record({ leaving: true })
    const result = await decodePresence(await encodePresence(r, key), { from: id, swarm: 'unit' })
    expect(result).toEqual({ ok: true, record: r })
  })

  it('rejects a bad signature', async () => {
    // Signed by another key than the one the record's peer id embeds.
    const forged = await decodePresence(await encodePresence(record(), other), { from: id, swarm: 'unit' })
    expect(forged).toMatchObject({ ok: false, why: 'signature' })

    // Correctly signed, then the record text is altered.
    const env = envelope(await encodePresence(record(), key))
    const tampered = bytes({ ...env, record: env.record.replace('robot-1', 'robot-2') })
    expect(await decodePresence(tampered, { from: id, swarm: 'unit' })).toMatchObject({ ok: false, why: 'signature' })

    const garbageSig = bytes({ ...env, sig: Buffer.from('nope').toString('base64') })
    expect(await decodePresence(garbageSig, { from: id, swarm: 'unit' })).toMatchObject({ ok: false, why: 'signature' })
  })

  it('rejects a record whose peer id is not the sender', async () => {
    // A valid record of `id`, relayed as if `other` had published it.
    const data = await encodePresence(record(), key)
    expect(await decodePresence(data, { from: otherId, swarm: 'unit' })).toMatchObject({ ok: false, why: 'sender' })
    // `other` signing a record that claims to be `id`.
    const claim = await encodePresence(record(), other)
    expect(await decodePresence(claim, { from: otherId, swarm: 'unit' })).toMatchObject({ ok: false, why: 'sender' })
  })

  it('rejects oversized input before parsing it', async () => {
    const big = await encodePresence(record({ name: 'x'.repeat(MAX_PRESENCE_BYTES) }), key)
    expect(big.byteLength).toBeGreaterThan(MAX_PRESENCE_BYTES)
    expect(await decodePresence(big, { from: id, swarm: 'unit' })).toMatchObject({ ok: false, why: 'size' })
    const junk = new Uint8Array(MAX_PRESENCE_BYTES + 1).fill(0x7b)
    expect(await decodePresence(junk, { from: id, swarm: 'unit' })).toMatchObject({ ok: false, why: 'size' })
  })

  it('rejects a record of another swarm', async () => {
    const data = await encodePresence(record({ swarm: 'other-swarm' }), key)
    expect(await decodePresence(data, { from: id, swarm: 'unit' })).toMatchObject({ ok: false, why: 'swarm' })
  })

  it('rejects a stale or replayed seq and takes a newer one', async () => {
    const data = await encodePresence(record({ seq: 1000 }), key)
    expect(await decodePresence(data, { from: id, swarm: 'unit', lastSeq: 1000 })).toMatchObject({ ok: false, why: 'stale' })
    expect(await decodePresence(data, { from: id, swarm: 'unit', lastSeq: 2000 })).toMatchObject({ ok: false, why: 'stale' })
    expect(await decodePresence(data, { from: id, swarm: 'unit', lastSeq: 999 })).toMatchObject({ ok: true })
  })

  it('rejects records that do not match the schema', async () => {
    const env = envelope(await encodePresence(record(), key))
    const noSeq = JSON.parse(env.record) as Record<string, unknown>
    delete noSeq.seq
    expect(await decodePresence(bytes({ ...env, record: JSON.stringify(noSeq) }), { from: id, swarm: 'unit' }))
      .toMatchObject({ ok: false, why: 'schema' })
    const badKind = await encodePresence(record({ sources: [{ name: 'v', kind: 'smell' as 'video', codec: 'x' }] }), key)
    expect(await decodePresence(badKind, { from: id, swarm: 'unit' })).toMatchObject({ ok: false, why: 'schema' })
    expect(await decodePresence(bytes({ v: 2, record: env.record, sig: env.sig }), { from: id, swarm: 'unit' }))
      .toMatchObject({ ok: false, why: 'schema' })
    expect(await decodePresence(new TextEncoder().encode('not json'), { from: id, swarm: 'unit' }))
      .toMatchObject({ ok: false, why: 'json' })
  })

  it('rejects a peer id that does not embed its public key', async () => {
    const rsaStyle = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'
    const data = await encodePresence(record({ peerId: rsaStyle }), key)
    expect(await decodePresence(data, { from: rsaStyle, swarm: 'unit' })).toMatchObject({ ok: false, why: 'key' })
  })

  it('never throws, whatever the bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (data) => {
      const result = await decodePresence(data, { from: id, swarm: 'unit' })
      expect(result.ok).toBe(false)
    }), { numRuns: 300 })
    await fc.assert(fc.asyncProperty(fc.jsonValue(), fc.jsonValue(), async (rec, sig) => {
      const result = await decodePresence(bytes({ v: 1, record: JSON.stringify(rec), sig }), { from: id, swarm: 'unit' })
      expect(result.ok).toBe(false)
    }), { numRuns: 300 })
  })

  it('takes a record relayed by another peer on its author\'s signature alone (presence sync)', async () => {
    const data = await encodePresence(record(), key)
    expect(await decodePresence(data, { swarm: 'unit' })).toMatchObject({ ok: true, record: { peerId: id } })
    // The stale check looks the author up.
    const lastSeq = (peer: string): number | undefined => peer === id ? 1000 : undefined
    expect(await decodePresence(data, { swarm: 'unit', lastSeq })).toMatchObject({ ok: false, why: 'stale' })
    // A relayer cannot pass off a record signed by someone else.
    const forged = await encodePresence(record(), other)
    expect(await decodePresence(forged, { swarm: 'unit' })).toMatchObject({ ok: false, why: 'signature' })
  })
})
