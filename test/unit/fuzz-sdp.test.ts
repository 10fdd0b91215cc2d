import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkCandidate, checkSdp, MAX_SDP_BYTES } from '../../src/transport/signal-limits.ts'

const RUNS = 2_000

const GOOD_SDP = [
  'v=0',
  'o=rtc 2854102352 0 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=msid-semantic:WMS *',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendrecv',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
  'a=setup:actpass',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:0123456789abcdefghijklmn',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 ' + Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase()).join(':'),
  'a=candidate:1 1 UDP 2122317823 127.0.0.1 50000 typ host',
  ''
].join('\r\n')

/** checkSdp/checkCandidate either accept or throw InvalidSignalError: libdatachannel never sees the rest. */
function accepted (fn: () => unknown): boolean {
  try {
    fn()
    return true
  } catch (err) {
    expect((err as Error).name).toBe('InvalidSignalError')
    expect((err as Error).message.length).toBeGreaterThan(0)
    return false
  }
}

describe('SDP and candidate checks on hostile input (property-based)', () => {
  it('a real description passes', () => {
    expect(checkSdp(GOOD_SDP, 'offer', { dataChannels: true })).toBe(GOOD_SDP)
  })

  it('random values and strings: accepted or InvalidSignalError', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 2000 }), fc.anything()), v => {
      accepted(() => checkSdp(v, 'offer', { dataChannels: true }))
      accepted(() => checkCandidate(v, '0'))
      accepted(() => checkCandidate('candidate:1 1 UDP 1 127.0.0.1 1 typ host', v))
    }), { numRuns: RUNS })
  })

  it('a real description with lines deleted, duplicated or replaced: whatever passes still has what libdatachannel needs', () => {
    const lines = GOOD_SDP.split('\r\n')
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(lines.length - 1), fc.constantFrom('delete', 'dup', 'replace'), fc.string({ maxLength: 300 })), { maxLength: 6 }), edits => {
      const out = [...lines]
      for (const [at, op, text] of edits) {
        const i = at % Math.max(out.length, 1)
        if (op === 'delete') out.splice(i, 1)
        else if (op === 'dup') out.splice(i, 0, out[i] ?? '')
        else out[i] = text
      }
      const sdp = out.join('\r\n')
      if (accepted(() => checkSdp(sdp, 'answer', { dataChannels: true }))) {
        expect(sdp.startsWith('v=0')).toBe(true)
        expect(sdp).toMatch(/a=ice-ufrag:/)
        expect(sdp).toMatch(/a=fingerprint:/)
        expect(sdp).toMatch(/m=application/)
      }
    }), { numRuns: RUNS })
  })

  it('huge inputs are refused by size, quickly', () => {
    const started = Date.now()
    expect(accepted(() => checkSdp(GOOD_SDP + 'a=x:' + 'y'.repeat(MAX_SDP_BYTES), 'offer', { dataChannels: true }))).toBe(false)
    expect(accepted(() => checkSdp(GOOD_SDP + 'm=audio 9 RTP/AVP 0\r\n'.repeat(20), 'offer', { dataChannels: true }))).toBe(false)
    expect(accepted(() => checkCandidate('candidate:1 1 UDP 1 ' + '1'.repeat(5000) + ' 1 typ host', '0'))).toBe(false)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('candidates: random fields in the candidate grammar; accepted ones carry an IP literal and a valid port', () => {
    const candidate = fc.tuple(
      fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: -1, max: 1000 }), fc.constantFrom('udp', 'tcp', 'UDP', 'sctp'),
      fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), fc.string({ maxLength: 40 })), fc.integer({ min: -1, max: 100_000 }),
      fc.constantFrom('host', 'srflx', 'prflx', 'relay', 'bogus'), fc.string({ maxLength: 80 })
    ).map(([f, c, t, a, p, typ, rest]) => `candidate:${f} ${c} ${t} 2122317823 ${a} ${p} typ ${typ}${rest}`)
    fc.assert(fc.property(candidate, fc.string({ maxLength: 70 }), (text, mid) => {
      let result: ReturnType<typeof checkCandidate> | undefined
      if (accepted(() => { result = checkCandidate(text, mid) }) && result?.usable === true) {
        const [, , , , address, port] = result.candidate.split(' ')
        expect(address.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(address)).toBe(true)
        expect(Number(port)).toBeLessThanOrEqual(65535)
      }
    }), { numRuns: RUNS })
  })
})
