import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeSignal, encodeSignal, MAX_SIGNAL_MESSAGE_BYTES, SIGNAL_ERROR_CODES, type SignalMessage } from '../../src/signalling/signal-messages.ts'

const RUNS = 2_000
const encoder = new TextEncoder()

const sessionId = fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/)
const profile = fc.constantFrom('webrtc', 'media', 'data')
const trustedParams = fc.record({ udpHost: fc.ipV4(), udpPort: fc.integer({ min: 1, max: 65535 }) })
const validMessage: fc.Arbitrary<SignalMessage> = fc.oneof(
  fc.record({ type: fc.constant('offer' as const), session: sessionId, profile, sdp: fc.string({ minLength: 1, maxLength: 200 }) }),
  fc.record({ type: fc.constant('answer' as const), session: sessionId, profile, sdp: fc.string({ minLength: 1, maxLength: 200 }) }),
  // trusted: params (the UDP address), no sdp
  fc.record({ type: fc.constantFrom('offer' as const, 'answer' as const), session: sessionId, profile: fc.constant('trusted' as const), params: trustedParams }),
  fc.record({ type: fc.constant('candidate' as const), session: sessionId, candidate: fc.string({ maxLength: 100 }), mid: fc.string({ maxLength: 64 }) }),
  fc.record({ type: fc.constant('bye' as const), session: sessionId }, { requiredKeys: ['type', 'session'] }),
  fc.record({ type: fc.constant('error' as const), code: fc.constantFrom(...SIGNAL_ERROR_CODES), message: fc.string({ maxLength: 100 }) })
)

/** decodeSignal either returns a message or throws the one typed error with a code. */
function decodeOrRejection (bytes: Uint8Array): SignalMessage | { name: string, code: string } {
  try {
    return decodeSignal(bytes)
  } catch (err) {
    const e = err as { name: string, code: string }
    expect(e.name).toBe('SignalRejectedError')
    expect(['malformed', 'too-large']).toContain(e.code)
    return { name: e.name, code: e.code }
  }
}

describe('decodeSignal on hostile input (property-based)', () => {
  it('random bytes: a message or a SignalRejectedError, never anything else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), bytes => { decodeOrRejection(bytes) }), { numRuns: RUNS })
  })

  it('random JSON values: a message or a SignalRejectedError', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), value => {
      decodeOrRejection(encoder.encode(JSON.stringify(value)))
    }), { numRuns: RUNS })
  })

  it('valid messages round-trip exactly', () => {
    fc.assert(fc.property(validMessage, message => {
      expect(decodeSignal(encodeSignal(message))).toEqual(message)
    }), { numRuns: RUNS })
  })

  it('valid messages with one field replaced by anything: decoded only if still valid', () => {
    fc.assert(fc.property(validMessage, fc.constantFrom('type', 'session', 'profile', 'sdp', 'candidate', 'mid', 'code', 'message', 'extra', '__proto__'), fc.jsonValue({ maxDepth: 2 }), (message, key, value) => {
      const mutated = JSON.stringify({ ...message, [key]: value })
      const out = decodeOrRejection(encoder.encode(mutated))
      // Whatever is accepted has a known type and no unknown keys.
      if ('type' in out) expect(Object.keys(out).every(k => ['type', 'session', 'profile', 'sdp', 'params', 'candidate', 'mid', 'reason', 'code', 'message'].includes(k))).toBe(true)
    }), { numRuns: RUNS })
  })

  it('truncated and bit-flipped encodings: never a crash', () => {
    fc.assert(fc.property(validMessage, fc.nat(), fc.nat(255), (message, at, flip) => {
      const bytes = encodeSignal(message)
      decodeOrRejection(bytes.slice(0, at % (bytes.byteLength + 1)))
      const flipped = bytes.slice()
      flipped[at % flipped.byteLength] ^= flip
      decodeOrRejection(flipped)
    }), { numRuns: RUNS })
  })

  it('oversized input is refused as too-large before it is parsed', () => {
    const big = new Uint8Array(MAX_SIGNAL_MESSAGE_BYTES + 1).fill(0x20)
    expect(decodeOrRejection(big)).toEqual({ name: 'SignalRejectedError', code: 'too-large' })
    // Deeply nested JSON inside the limit: rejected, not a stack overflow.
    const deep = encoder.encode('['.repeat(60_000) + ']'.repeat(60_000))
    expect(decodeOrRejection(deep)).toMatchObject({ name: 'SignalRejectedError' })
  })
})
