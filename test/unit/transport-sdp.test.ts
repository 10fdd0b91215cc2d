import { describe, expect, it } from 'vitest'
import { fingerprintFromSdp } from '../../src/transport/fingerprint.ts'
import { takeCandidates } from '../../src/transport/sdp-candidates.ts'
import { checkCandidate, checkSdp, MAX_SDP_BYTES } from '../../src/transport/signal-limits.ts'

const FP = '8D:35:6B:E0:5F:22:4F:B4:A6:C4:F5:02:7B:2A:4A:2D:BC:8B:23:2A:79:B8:9F:4D:C5:8D:6C:EF:BB:38:B6:B8'

function offer (extra: string[] = [], media = 1): string {
  const lines = ['v=0', 'o=rtc 1 0 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', `a=fingerprint:sha-256 ${FP}`]
  for (let i = 0; i < media; i++) {
    lines.push('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', `a=mid:${i}`, 'a=sctp-port:5000',
      'a=setup:actpass', 'a=ice-ufrag:abcd', 'a=ice-pwd:0123456789abcdefghijkl')
  }
  return [...lines, ...extra, ''].join('\r\n')
}

function nameOf (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  return 'no error'
}

const DATA = { dataChannels: true }

describe('fingerprintFromSdp', () => {
  it('reads the first a=fingerprint, normalised', () => {
    expect(fingerprintFromSdp(offer())).toEqual({ algorithm: 'sha-256', value: FP })
    expect(fingerprintFromSdp(`v=0\na=fingerprint:SHA-256 ${FP.toLowerCase()}\n`)).toEqual({ algorithm: 'sha-256', value: FP })
  })

  it('is null without one', () => {
    expect(fingerprintFromSdp('v=0\r\ns=-\r\n')).toBeNull()
    expect(fingerprintFromSdp('a=fingerprint:sha-256 not-hex')).toBeNull()
  })
})

describe('checkSdp', () => {
  it('accepts a data channel offer', () => {
    expect(checkSdp(offer(), 'offer', DATA)).toBe(offer())
  })

  it('refuses garbage, oversize and abuse with InvalidSignalError', () => {
    const cases: unknown[] = [
      undefined, 42, '', 'hello world', 'v=0\r\nnot an sdp line\r\n',
      offer().replace('v=0', 'v=1'),
      offer([`a=x-long:${'x'.repeat(100_000)}`]), // one 100 KB line
      offer([], 1000), // 1000 m-lines
      offer([], 17),
      'v=0\r\n' + 'a=x:y\r\n'.repeat(MAX_SDP_BYTES / 6),
      offer().replace(/a=fingerprint:.*\r\n/, ''),
      offer().replace(/a=ice-pwd:.*\r\n/, ''),
      offer().replace('a=fingerprint:sha-256 8D', 'a=fingerprint:sha-256 ZZ'),
      offer(['a=candidate:1 1 UDP 1 evil.example.com 9 typ host']),
      offer().replace('\r\ns=-', '\r\ns=\u0000'),
      offer().replace('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'm=audio 9 UDP/TLS/RTP/SAVPF 111')
    ]
    for (const sdp of cases) expect(nameOf(() => checkSdp(sdp, 'offer', DATA)), String(sdp).slice(0, 80)).toBe('InvalidSignalError')
  })

  it('lets a media-only description through when no data channels are needed', () => {
    const audio = offer().replace('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'm=audio 9 UDP/TLS/RTP/SAVPF 111')
    expect(checkSdp(audio, 'offer', { dataChannels: false })).toBe(audio)
  })
})

describe('checkCandidate', () => {
  it('accepts host, srflx and relay candidates with or without a=', () => {
    expect(checkCandidate('a=candidate:1 1 UDP 2114977791 127.0.0.1 34370 typ host', '0'))
      .toEqual({ usable: true, candidate: 'candidate:1 1 UDP 2114977791 127.0.0.1 34370 typ host', mid: '0' })
    expect(checkCandidate('candidate:2 1 udp 1 203.0.113.7 5000 typ srflx raddr 0.0.0.0 rport 0', '0').usable).toBe(true)
    expect(checkCandidate('candidate:3 1 UDP 1 2001:db8::1 3478 typ relay raddr :: rport 0', 'data').usable).toBe(true)
  })

  it('skips end-of-candidates and mDNS candidates', () => {
    expect(checkCandidate('', '0').usable).toBe(false)
    expect(checkCandidate('candidate:1 1 UDP 1 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 5000 typ host', '0').usable).toBe(false)
  })

  it('refuses malformed ones with InvalidSignalError', () => {
    const cases: Array<[unknown, unknown]> = [
      ['garbage', '0'], [42, '0'], ['candidate:1 1 UDP 1 127.0.0.1 5000 typ host', 7],
      ['candidate:1 1 UDP 1 127.0.0.1 5000 typ host', ''], ['candidate:1 1 UDP 1 127.0.0.1 5000 typ host', 'm'.repeat(65)],
      ['candidate:1 1 UDP 1 127.0.0.1 70000 typ host', '0'], ['candidate:1 1 SCTP 1 127.0.0.1 5000 typ host', '0'],
      ['candidate:1 1 UDP 1 example.com 5000 typ host', '0'], [`candidate:1 1 UDP 1 127.0.0.1 5000 typ host ${'x'.repeat(2000)}`, '0'],
      ['candidate:1 1 UDP 1 127.0.0.1 5000 typ host\r\na=evil', '0']
    ]
    for (const [candidate, mid] of cases) expect(nameOf(() => checkCandidate(candidate, mid)), String(candidate).slice(0, 60)).toBe('InvalidSignalError')
  })
})

describe('takeCandidates', () => {
  it('moves candidates out of a description, keeping their mid', () => {
    const sdp = offer(['a=candidate:1 1 UDP 2114977791 127.0.0.1 34370 typ host', 'a=end-of-candidates'])
    const { sdp: bare, candidates } = takeCandidates(sdp)
    expect(candidates).toEqual([{ candidate: 'candidate:1 1 UDP 2114977791 127.0.0.1 34370 typ host', mid: '0' }])
    expect(bare).toBe(offer())
  })
})
