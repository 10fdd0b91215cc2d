import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_PRESENCE_BYTES } from '../../src/signalling/presence-codec.ts'
import {
  decodeSyncRecord, decodeSyncRequest, encodeSyncRecord, encodeSyncRequest,
  MAX_SYNC_HAVE, MAX_SYNC_REQUEST_BYTES, SyncMessageError
} from '../../src/signalling/presence-sync-messages.ts'

const text = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value))

describe('presence sync messages', () => {
  it('round-trips a request and a record frame', () => {
    const have = new Map([['12D3KooWA', 5], ['12D3KooWB', 1_700_000_000_000]])
    expect(decodeSyncRequest(encodeSyncRequest(have))).toEqual(have)
    const envelope = text({ v: 1, record: '{}', sig: 'x' })
    expect(decodeSyncRecord(encodeSyncRecord({ envelope, ageMs: 1234 }))).toEqual({ envelope, ageMs: 1234 })
  })

  it('clamps an age that does not fit (negative, or beyond 49 days)', () => {
    const envelope = text('e')
    expect(decodeSyncRecord(encodeSyncRecord({ envelope, ageMs: -5 })).ageMs).toBe(0)
    expect(decodeSyncRecord(encodeSyncRecord({ envelope, ageMs: 2 ** 40 })).ageMs).toBe(0xffff_ffff)
  })

  it('refuses bad requests, naming what is wrong', () => {
    expect(() => decodeSyncRequest(text('not json'))).toThrow(/request is not JSON/)
    expect(() => decodeSyncRequest(text({ v: 2, have: {} }))).toThrow(/request: .*v/s)
    expect(() => decodeSyncRequest(text({ v: 1, have: { a: -1 } }))).toThrow(/request: .*have/s)
    expect(() => decodeSyncRequest(text({ v: 1, have: [] }))).toThrow(SyncMessageError)
    expect(() => decodeSyncRequest(new Uint8Array(MAX_SYNC_REQUEST_BYTES + 1))).toThrow(/more than/)
    const many = Object.fromEntries(Array.from({ length: MAX_SYNC_HAVE + 1 }, (_, i) => [`p${i}`, i]))
    expect(() => decodeSyncRequest(text({ v: 1, have: many }))).toThrow(`more than ${MAX_SYNC_HAVE}`)
  })

  it('refuses record frames with no envelope or too large for one', () => {
    expect(() => decodeSyncRecord(new Uint8Array(4))).toThrow(/holds no envelope/)
    expect(() => decodeSyncRecord(new Uint8Array(4 + MAX_PRESENCE_BYTES + 1))).toThrow(/more than/)
  })

  it('never throws anything but SyncMessageError, whatever the bytes (property-based)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), data => {
      for (const decode of [decodeSyncRequest, decodeSyncRecord]) {
        try { decode(data) } catch (err) { expect(err).toBeInstanceOf(SyncMessageError) }
      }
    }), { numRuns: 500 })
  })
})
