import { describe, expect, it } from 'vitest'
import { decodeSignal, encodeSignal } from '../../src/signalling/signal-messages.ts'
import { createTrustedSession } from '../../src/transport/trusted-session.ts'
import { parseTrustedParams } from '../../src/transport/trusted-params.ts'
import { buildPli, feedbackMediaSsrcs } from '../../src/rtp/rtcp-feedback.ts'
import { datagramKind, decodeMessageDatagram, encodeMessageDatagram } from '../../src/transport/trusted-wire.ts'
import type { PeerSession, SessionSignal } from '../../src/transport/types.ts'
import { testLogger, twoTracksOfOneSource, waitFor, waitForState } from './transport-helpers.ts'

function nameOf (fn: () => unknown): string {
  try { fn() } catch (err) { return (err as Error).name }
  return 'no error'
}

describe('trusted profile: wire and params', () => {
  it('parses the peer\'s UDP address and names what is wrong', () => {
    expect(parseTrustedParams({ udpHost: '127.0.0.1', udpPort: 4000 }, 'offer')).toEqual({ host: '127.0.0.1', port: 4000 })
    expect(() => parseTrustedParams(undefined, 'offer')).toThrow(/needs params udpHost and udpPort/)
    expect(() => parseTrustedParams({ udpHost: 'robot.local', udpPort: 4000 }, 'offer')).toThrow(/udpHost must be an IP address/)
    expect(() => parseTrustedParams({ udpHost: '0.0.0.0', udpPort: 4000 }, 'offer')).toThrow(/unspecified/)
    expect(() => parseTrustedParams({ udpHost: '10.0.0.1', udpPort: 70000 }, 'answer')).toThrow(/udpPort must be a port/)
    expect(() => parseTrustedParams({ udpHost: '10.0.0.1', udpPort: 5, extra: 1 }, 'answer')).toThrow(/unknown param "extra"/)
    expect(nameOf(() => parseTrustedParams({}, 'offer'))).toBe('InvalidSignalError')
  })

  it('tells RTP, RTCP, messages and pings apart; messages round-trip', () => {
    const rtp = Buffer.alloc(20); rtp[0] = 0x80; rtp[1] = 96
    expect(datagramKind(rtp)).toBe('rtp')
    expect(datagramKind(buildPli(1, 2))).toBe('rtcp')
    expect(feedbackMediaSsrcs(buildPli(1, 0xdeadbeef))).toEqual([0xdeadbeef])
    const text = encodeMessageDatagram('telemetry', 'héllo')
    expect(datagramKind(text)).toBe('message')
    expect(decodeMessageDatagram(text)).toEqual({ label: 'telemetry', data: 'héllo' })
    expect(decodeMessageDatagram(encodeMessageDatagram('b', Uint8Array.of(1, 2)))).toEqual({ label: 'b', data: Buffer.from([1, 2]) })
    expect(datagramKind(Buffer.from([0x7f, 1, 2]))).toBe('unknown')
  })

  it('signal schema: trusted offers carry params and no sdp; the others an sdp', () => {
    const session = 'abcdefgh12345678'
    expect(decodeSignal(encodeSignal({ type: 'offer', session, profile: 'trusted', params: { udpHost: '127.0.0.1', udpPort: 9 } })).type).toBe('offer')
    const bad = (m: unknown): string => { try { decodeSignal(new TextEncoder().encode(JSON.stringify(m))); return 'ok' } catch (err) { return (err as Error).message } }
    expect(bad({ type: 'offer', session, profile: 'trusted', sdp: 'v=0' })).toMatch(/params and no sdp \(profile trusted\)/)
    expect(bad({ type: 'answer', session, profile: 'data' })).toMatch(/carries an sdp/)
  })
})

describe('trusted session (in one process, no libp2p: media and lossy datagrams)', () => {
  function pair (): { offerer: PeerSession, answerer: PeerSession, close: () => void } {
    let offerer: PeerSession | undefined
    let answerer: PeerSession | undefined
    const relay = (to: () => PeerSession | undefined) => (signal: SessionSignal) => { setImmediate(() => { to()?.handleSignal(signal) }) }
    const base = { bindAddress: '127.0.0.1', logger: testLogger, profile: 'trusted' as const, openStream: async () => { throw new Error('no libp2p here') } }
    answerer = createTrustedSession({ ...base, remotePeer: 'offerer', role: 'answerer', sendSignal: relay(() => offerer) })
    offerer = createTrustedSession({ ...base, remotePeer: 'answerer', role: 'offerer', sendSignal: relay(() => answerer) })
    return { offerer, answerer, close: () => { offerer?.close(); answerer?.close() } }
  }

  it('connects on the agreed UDP sockets and carries plain RTP with key-frame requests back', async () => {
    const p = pair()
    try {
      await Promise.all([waitForState(p.offerer, 'connected'), waitForState(p.answerer, 'connected')])
      const stats = p.offerer.stats()
      expect(stats.pair?.remote.port).toBe(p.answerer.stats().pair?.local.port)
      expect(stats.sections).toEqual({ local: [], remote: [] })
      const init = { mid: 'w1', kind: 'video' as const, codec: 'h264' as const, payloadType: 96, ssrc: 4242, clockRate: 90000 }
      const send = p.offerer.addSendTrack(init)
      const recv = p.answerer.addRecvTrack(init)
      await Promise.all([waitFor(send, 'open'), waitFor(recv, 'open')])
      const got = waitFor<[Buffer]>(recv, 'rtp')
      const packet = Buffer.alloc(16); packet[0] = 0x80; packet[1] = 100; packet.writeUInt32BE(7, 8)
      expect(send.sendRtp(packet)).toBe(true)
      const [received] = await got
      // Rewritten to the track's payload type and SSRC, otherwise as sent.
      expect(received[1] & 0x7f).toBe(96)
      expect(received.readUInt32BE(8)).toBe(4242)
      const asked = waitFor<[string]>(send, 'keyframe-request')
      expect(recv.requestKeyFrame()).toBe(true)
      expect((await asked)[0]).toBe('pli')
      expect(nameOf(() => p.offerer.handleSignal({ type: 'candidate', candidate: 'x', mid: '0' }))).toBe('InvalidSignalError')
      expect(nameOf(() => p.answerer.handleSignal({ type: 'offer', params: { udpHost: '127.0.0.1', udpPort: 1 } }))).toBe('InvalidSignalError')
    } finally {
      p.close()
    }
  })

  it('two send tracks fed one source, each with its own SSRC: each receiver gets its stream and its PLI reaches its sender only', async () => {
    const p = pair()
    try {
      await Promise.all([waitForState(p.offerer, 'connected'), waitForState(p.answerer, 'connected')])
      const [w1, w2] = await twoTracksOfOneSource(p.offerer, p.answerer)
      expect(w1).toMatchObject({ ssrcs: [1111], pliReachedOwn: true, pliReachedOther: false })
      expect(w2).toMatchObject({ ssrcs: [2222], pliReachedOwn: true, pliReachedOther: false })
      expect(Math.min(w1.packets, w2.packets)).toBeGreaterThanOrEqual(20)
    } finally {
      p.close()
    }
  })

  it('refuses an sdp and bad params from the peer with InvalidSignalError', () => {
    const s = createTrustedSession({ remotePeer: 'x', role: 'answerer', profile: 'trusted', bindAddress: '127.0.0.1', logger: testLogger, sendSignal: () => {}, openStream: async () => { throw new Error('no') } })
    try {
      expect(nameOf(() => s.handleSignal({ type: 'offer', sdp: 'v=0' }))).toBe('InvalidSignalError')
      expect(nameOf(() => s.handleSignal({ type: 'offer', params: { udpHost: 'nope', udpPort: 1 } }))).toBe('InvalidSignalError')
    } finally {
      s.close()
    }
  })
})
