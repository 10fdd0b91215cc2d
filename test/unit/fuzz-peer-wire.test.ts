import net from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseEdgeMessage, type EdgeMessage } from '../../src/core/sessions/edge-messages.ts'
import { parseRtpHeader } from '../../src/rtp/rtp-header.ts'
import { decodeTrustedHeader, TrustedHeaderError, type TrustedHeader } from '../../src/signalling/trusted-channel-header.ts'
import { decodeChannelProtocol, encodeChannelProtocol } from '../../src/transport/channel-protocol.ts'
import { parseTrustedParams } from '../../src/transport/trusted-params.ts'
import { buildPli, feedbackMediaSsrcs, keyFrameRequests } from '../../src/rtp/rtcp-feedback.ts'
import { datagramKind, decodeMessageDatagram, encodeMessageDatagram } from '../../src/transport/trusted-wire.ts'
import type { ChannelOptions } from '../../src/transport/types.ts'
import { MAX_CHANNEL_RELIABILITY } from '../../src/util/channel-reliability.ts'
import { InvalidSignalError } from '../../src/util/errors.ts'

// Issue 8, bad input: the decoders of what a peer sends inside a session
// (the trusted channel header, `_edge` messages, a data channel's protocol
// string, trusted-profile datagrams, RTP and RTCP, trusted offer params) on
// random and mutated input. Each returns what it understood or says no
// (undefined, or its one typed error); none throws anything else, and what
// it accepts is within the bounds its users rely on.

const RUNS = 2_000
const encoder = new TextEncoder()
const bytes = fc.uint8Array({ maxLength: 1500 })
/** Bytes, JSON text of any value, and JSON objects with the fields decoders look for. */
const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map(v => JSON.stringify(v)),
  fc.record({
    t: fc.oneof(fc.constantFrom('flow', 'resume', 'ack'), fc.jsonValue()),
    label: fc.oneof(fc.string(), fc.jsonValue()),
    paused: fc.oneof(fc.boolean(), fc.jsonValue()),
    session: fc.oneof(fc.string(), fc.constant(null), fc.jsonValue()),
    received: fc.oneof(fc.nat(), fc.double(), fc.integer({ min: -5, max: -1 }), fc.jsonValue()),
    ordered: fc.oneof(fc.boolean(), fc.jsonValue()),
    maxRetransmits: fc.oneof(fc.integer({ min: -2, max: 70_000 }), fc.jsonValue()),
    maxPacketLifeTime: fc.oneof(fc.integer({ min: -2, max: 70_000 }), fc.jsonValue())
  }, { requiredKeys: [] }).map(v => JSON.stringify(v)),
  fc.string({ maxLength: 300 })
)

const channelLabel = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/)
const reliability = fc.integer({ min: 0, max: MAX_CHANNEL_RELIABILITY })
const channelOptions: fc.Arbitrary<ChannelOptions> = fc.oneof(
  fc.record({ ordered: fc.boolean() }),
  fc.record({ ordered: fc.boolean(), maxRetransmits: reliability }),
  fc.record({ ordered: fc.boolean(), maxPacketLifeTime: fc.integer({ min: 1, max: MAX_CHANNEL_RELIABILITY }) })
)

describe('the trusted channel header (a peer\'s first frame) on hostile input', () => {
  const decodeOrRefuse = (input: Uint8Array): TrustedHeader | undefined => {
    try {
      return decodeTrustedHeader(input)
    } catch (err) {
      expect(err).toBeInstanceOf(TrustedHeaderError)
      expect((err as Error).message).toMatch(/trusted channel header/)
      return undefined
    }
  }

  it('random bytes and JSON: a header within bounds, or a TrustedHeaderError that says what is wrong', () => {
    fc.assert(fc.property(fc.oneof(bytes, jsonish.map(t => encoder.encode(t))), input => {
      const header = decodeOrRefuse(input)
      if (header === undefined) return
      expect(header.maxRetransmits ?? 0).toBeLessThanOrEqual(MAX_CHANNEL_RELIABILITY)
      expect(header.maxPacketLifeTime ?? 1).toBeLessThanOrEqual(MAX_CHANNEL_RELIABILITY)
    }), { numRuns: RUNS })
  })

  it('valid headers round-trip; one field replaced by anything is taken only if still valid', () => {
    const header = fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/), channelLabel, channelOptions)
      .map(([session, label, options]) => ({ session, label, ...options }))
    fc.assert(fc.property(header, fc.constantFrom('session', 'label', 'ordered', 'maxRetransmits', 'maxPacketLifeTime', 'extra'), fc.jsonValue({ maxDepth: 2 }), (h, key, value) => {
      expect(decodeTrustedHeader(encoder.encode(JSON.stringify(h)))).toEqual(h)
      const mutated = decodeOrRefuse(encoder.encode(JSON.stringify({ ...h, [key]: value })))
      if (mutated !== undefined) expect(Object.keys(mutated).every(k => ['session', 'label', 'ordered', 'maxRetransmits', 'maxPacketLifeTime'].includes(k))).toBe(true)
    }), { numRuns: RUNS })
  })
})

describe('`_edge` messages (daemon to daemon, inside a session) on hostile input', () => {
  const edgeMessage: fc.Arbitrary<EdgeMessage> = fc.oneof(
    fc.record({ t: fc.constant('flow' as const), label: fc.string(), paused: fc.boolean() }),
    fc.record({ t: fc.constant('resume' as const), label: fc.string(), session: fc.oneof(fc.string(), fc.constant(null)), received: fc.maxSafeNat() }),
    fc.record({ t: fc.constant('ack' as const), label: fc.string(), session: fc.string(), received: fc.maxSafeNat() }),
    fc.constant({ t: 'beat' as const }),
    fc.constant({ t: 'switch' as const })
  )

  it('random text and bytes: undefined, or a message whose fields have their types', () => {
    fc.assert(fc.property(fc.oneof(jsonish, bytes.map(b => Buffer.from(b))), input => {
      const m = parseEdgeMessage(input)
      if (m === undefined) return
      // The path's own messages (heartbeat, switch) carry nothing else.
      if (m.t === 'beat' || m.t === 'switch') { expect(Object.keys(m)).toEqual(['t']); return }
      expect(typeof m.label).toBe('string')
      if (m.t === 'flow') expect(typeof m.paused).toBe('boolean')
      else {
        expect(Number.isSafeInteger(m.received) && m.received >= 0, `received ${m.received}`).toBe(true)
        if (m.t === 'ack') expect(typeof m.session).toBe('string')
        else expect(m.session === null || typeof m.session === 'string').toBe(true)
      }
    }), { numRuns: RUNS })
  })

  it('valid messages round-trip, as text and as bytes', () => {
    fc.assert(fc.property(edgeMessage, m => {
      expect(parseEdgeMessage(JSON.stringify(m))).toEqual(m)
      expect(parseEdgeMessage(Buffer.from(JSON.stringify(m)))).toEqual(m)
    }), { numRuns: RUNS })
  })
})

describe('a data channel\'s protocol string (written by the peer that opened it)', () => {
  it('random strings: undefined, or options a channel we open could have', () => {
    const near = fc.tuple(fc.constantFrom('0', '1', '2', ''), fc.option(fc.stringMatching(/^\d{1,6}$/)), fc.option(fc.stringMatching(/^\d{1,6}$/)))
      .map(([o, r, l]) => `edge-stack/1;ordered=${o}${r === null ? '' : `;maxRetransmits=${r}`}${l === null ? '' : `;maxPacketLifeTime=${l}`}`)
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), near), protocol => {
      const options = decodeChannelProtocol(protocol)
      if (options === undefined) return
      expect(typeof options.ordered).toBe('boolean')
      expect(options.maxRetransmits === undefined || options.maxPacketLifeTime === undefined).toBe(true)
      expect(options.maxRetransmits ?? 0).toBeLessThanOrEqual(MAX_CHANNEL_RELIABILITY)
      expect(options.maxPacketLifeTime ?? 1).toBeGreaterThanOrEqual(1)
      expect(options.maxPacketLifeTime ?? 1).toBeLessThanOrEqual(MAX_CHANNEL_RELIABILITY)
    }), { numRuns: RUNS })
  })

  it('every channel we may open round-trips', () => {
    fc.assert(fc.property(channelOptions, options => {
      expect(decodeChannelProtocol(encodeChannelProtocol(options))).toEqual(options)
    }), { numRuns: RUNS })
  })

  it('refuses limits beyond what we may open', () => {
    expect(decodeChannelProtocol(`edge-stack/1;ordered=0;maxRetransmits=${MAX_CHANNEL_RELIABILITY + 1}`)).toBeUndefined()
    expect(decodeChannelProtocol('edge-stack/1;ordered=0;maxPacketLifeTime=0')).toBeUndefined()
    expect(decodeChannelProtocol('edge-stack/1;ordered=0;maxRetransmits=1;maxPacketLifeTime=5')).toBeUndefined()
  })
})

describe('trusted-profile datagrams (plain UDP from the peer)', () => {
  it('random datagrams: a kind for every one, and a message only with a label and a known payload kind', () => {
    const messageLike = fc.tuple(fc.nat(255), bytes).map(([n, rest]) => Buffer.concat([Buffer.from([0x01, n]), Buffer.from(rest)]))
    fc.assert(fc.property(fc.oneof(bytes.map(b => Buffer.from(b)), messageLike), packet => {
      expect(['rtp', 'rtcp', 'message', 'ping', 'pong', 'unknown']).toContain(datagramKind(packet))
      const message = decodeMessageDatagram(packet)
      if (message === undefined) return
      expect(datagramKind(packet)).toBe('message')
      expect(message.label.length).toBeGreaterThan(0)
      expect(Buffer.byteLength(message.label)).toBeLessThanOrEqual(255 * 3)
      expect(typeof message.data === 'string' || Buffer.isBuffer(message.data)).toBe(true)
    }), { numRuns: RUNS })
    expect(decodeMessageDatagram(Buffer.from([0x01]))).toBeUndefined()
    expect(decodeMessageDatagram(Buffer.from([0x01, 0x00, 0x00]))).toBeUndefined()
  })

  it('lossy messages round-trip, text and binary', () => {
    fc.assert(fc.property(channelLabel, fc.oneof(fc.string({ maxLength: 500 }), fc.uint8Array({ maxLength: 500 })), (label, data) => {
      const decoded = decodeMessageDatagram(encodeMessageDatagram(label, data))
      expect(decoded?.label).toBe(label)
      expect(typeof data === 'string' ? decoded?.data : new Uint8Array(decoded?.data as Buffer)).toEqual(data)
    }), { numRuns: RUNS })
  })

  it('RTCP feedback: media SSRCs read inside the packet only; a PLI we build is read back', () => {
    fc.assert(fc.property(bytes, packet => {
      const ssrcs = feedbackMediaSsrcs(packet)
      expect(ssrcs.length).toBeLessThanOrEqual(Math.floor(packet.length / 12))
      for (const s of ssrcs) expect(Number.isInteger(s) && s >= 0 && s <= 0xffffffff).toBe(true)
    }), { numRuns: RUNS })
    fc.assert(fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), (sender, media) => {
      expect(feedbackMediaSsrcs(buildPli(sender, media))).toEqual([media])
      expect(keyFrameRequests(buildPli(sender, media))).toEqual(['pli'])
    }), { numRuns: 200 })
  })
})

describe('RTP and RTCP from a peer\'s track', () => {
  /** RTP-looking packets: version 2, random flags, CSRC count, extension length and padding. */
  const rtpLike = fc.tuple(fc.nat(63), bytes).map(([flags, rest]) => Buffer.concat([Buffer.from([0x80 | flags]), Buffer.from(rest)]))

  it('random packets: no header, or one whose payload lies inside the packet', () => {
    fc.assert(fc.property(fc.oneof(bytes, rtpLike), packet => {
      const header = parseRtpHeader(packet)
      if (header === undefined) return
      expect(header.payloadOffset).toBeGreaterThanOrEqual(12)
      expect(header.payloadOffset).toBeLessThanOrEqual(header.payloadEnd)
      expect(header.payloadEnd).toBeLessThanOrEqual(packet.length)
      expect(header.payloadType).toBeLessThan(128)
    }), { numRuns: RUNS })
  })

  it('random compound RTCP: key-frame requests counted from whole packets only', () => {
    fc.assert(fc.property(fc.oneof(bytes, rtpLike), packet => {
      const requests = keyFrameRequests(packet)
      expect(requests.length).toBeLessThanOrEqual(Math.floor(packet.length / 4))
      for (const r of requests) expect(['pli', 'fir']).toContain(r)
    }), { numRuns: RUNS })
  })
})

describe('trusted offer params (the peer\'s UDP address)', () => {
  it('random params: a usable IP address and port, or an InvalidSignalError naming the param', () => {
    const params = fc.oneof(
      // What decodeSignal lets through (signal-messages.ts): strings and numbers.
      fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string(), fc.double(), fc.integer())),
      fc.record({ udpHost: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string(), fc.constantFrom('0.0.0.0', '::'), fc.integer()), udpPort: fc.oneof(fc.integer({ min: -1, max: 70_000 }), fc.double(), fc.string()) }, { requiredKeys: [] })
    )
    fc.assert(fc.property(fc.option(params, { nil: undefined }), p => {
      try {
        const address = parseTrustedParams(p, 'offer')
        expect(net.isIP(address.host)).not.toBe(0)
        expect(['0.0.0.0', '::']).not.toContain(address.host)
        expect(Number.isInteger(address.port) && address.port >= 1 && address.port <= 65535).toBe(true)
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidSignalError)
        expect((err as Error).message).toMatch(/^offer: .*(udpHost|udpPort|param)/)
      }
    }), { numRuns: RUNS })
  })
})
