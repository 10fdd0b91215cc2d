import { afterEach, describe, expect, it } from 'vitest'
import { fingerprintFromSdp } from '../../src/transport/fingerprint.ts'
import { createPeerSession } from '../../src/transport/peer-session.ts'
import type { Channel, PeerSession, SessionSignal } from '../../src/transport/types.ts'
import { createPair, openChannel, testLogger, twoTracksOfOneSource, waitFor, waitForState, type Pair } from './transport-helpers.ts'

const pairs: Pair[] = []
const sessions: PeerSession[] = []
afterEach(() => {
  for (const pair of pairs.splice(0)) pair.close()
  for (const session of sessions.splice(0)) session.close()
})

function pair (...args: Parameters<typeof createPair>): Pair {
  const p = createPair(...args)
  pairs.push(p)
  return p
}

function nameOf (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  return 'no error'
}

function sdpOf (signals: SessionSignal[], type: 'offer' | 'answer'): string {
  const signal = signals.find(s => s.type === type)
  if (signal === undefined || signal.type === 'candidate') throw new Error(`no ${type} sent`)
  return signal.sdp ?? ''
}

function whenOpen (channel: Channel): Promise<unknown> {
  return channel.isOpen ? Promise.resolve() : waitFor(channel, 'open')
}

function timeouts (): number {
  return process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
}

describe('PeerSession', () => {
  it('connects two sessions on 127.0.0.1 and reports the pair, profile and fingerprints', async () => {
    const p = pair({ profile: 'webrtc', channels: { control: { ordered: true } } })
    await Promise.all([waitForState(p.offerer, 'connected'), waitForState(p.answerer, 'connected')])
    expect(p.relayErrors).toEqual([])

    for (const [session, role] of [[p.offerer, 'offerer'], [p.answerer, 'answerer']] as const) {
      const stats = session.stats()
      expect(stats).toMatchObject({ state: 'connected', profile: 'webrtc', role })
      expect(stats.pair?.local).toMatchObject({ address: '127.0.0.1', transport: 'udp' })
      expect(stats.pair?.remote.address).toBe('127.0.0.1')
      expect(['host', 'prflx']).toContain(stats.pair?.local.type)
      expect(stats.connectedAt).not.toBeNull()
    }

    // What DTLS presented is what the signalled description promised, on both ends.
    expect(p.offerer.remoteFingerprint()).toEqual(fingerprintFromSdp(sdpOf(p.sent.answerer, 'answer')))
    expect(p.answerer.remoteFingerprint()).toEqual(fingerprintFromSdp(sdpOf(p.sent.offerer, 'offer')))
    expect(p.offerer.remoteFingerprint()).toEqual(p.answerer.localFingerprint())
    expect(p.answerer.remoteFingerprint()).toEqual(p.offerer.localFingerprint())
    expect(p.offerer.localFingerprint()).not.toEqual(p.answerer.localFingerprint())
  })

  it('opens the offerer-declared channels on the answerer, with their reliability', async () => {
    const channels = { control: { ordered: true }, telemetry: { ordered: false, maxRetransmits: 0 }, video: { ordered: true, maxPacketLifeTime: 200 } }
    const p = pair({ channels })
    const opened = await Promise.all(Object.keys(channels).map(label => openChannel(p.answerer, label)))
    expect(opened.map(c => [c.label, c.options])).toEqual(Object.entries(channels))
    expect(p.answerer.channel('telemetry')?.lossy).toBe(true)
    expect(p.answerer.channel('control')?.lossy).toBe(false)
    expect(p.answerer.channels().map(c => c.label).sort()).toEqual(['control', 'telemetry', 'video'])
  })

  it('opens channels on demand from either side, also from an answerer before the offer and with nothing declared', async () => {
    const p = pair({ channels: {} })
    const early = p.answerer.openChannel('early', { ordered: true })
    await Promise.all([waitForState(p.offerer, 'connected'), waitForState(p.answerer, 'connected')])
    const fromOfferer = p.offerer.openChannel('from-offerer')
    const fromAnswerer = p.answerer.openChannel('from-answerer', { ordered: false, maxRetransmits: 2 })
    const [a, b, c] = await Promise.all([openChannel(p.answerer, 'from-offerer'), openChannel(p.offerer, 'from-answerer'), openChannel(p.offerer, 'early')])
    expect(p.relayErrors).toEqual([]) // no second offer from the answerer
    expect(c.label).toBe('early')
    expect(b.options).toEqual({ ordered: false, maxRetransmits: 2 })
    await Promise.all([fromOfferer, fromAnswerer, early].map(whenOpen))
    const got = waitFor<[string | Buffer]>(a, 'message')
    fromOfferer.send('hi')
    expect(await got).toEqual(['hi'])
    expect(nameOf(() => p.offerer.openChannel('from-offerer'))).toBe('ConflictError')
  })

  it('glare: the answerer opens a label the offerer declared; the offerer\'s channel wins on both ends, the answerer\'s own ends refused', async () => {
    const p = pair({ channels: {} }, { channels: {} })
    const own = p.answerer.openChannel('control', { ordered: true })
    // The offerer opens it too, once connected (as a declared channel would be).
    const offererOwn = p.offerer.openChannel('control', { ordered: true })
    const [atAnswerer, atOfferer] = await Promise.all([openChannel(p.answerer, 'control'), openChannel(p.offerer, 'control')])
    // The answerer's own may have opened first (announced, then closed as the offerer's arrived).
    if (atAnswerer === own && !own.isClosed) await waitFor(own, 'close')
    const winner = p.answerer.channel('control')
    expect(winner).not.toBe(own)
    expect(atOfferer).toBe(offererOwn)
    expect([own.isClosed, own.refused]).toEqual([true, true])
    await whenOpen(winner!)
    expect(winner?.refused).toBe(false)
    expect(offererOwn.refused).toBe(false)
    const got = waitFor<[string | Buffer]>(winner!, 'message')
    offererOwn.send('hi')
    expect(await got).toEqual(['hi'])
  })

  it('holds candidates that arrive before their description', async () => {
    const held: SessionSignal[] = []
    const delivered: string[] = []
    const errors: unknown[] = []
    let offerer: PeerSession | undefined
    const answerer = createPeerSession({
      remotePeer: 'offerer', role: 'answerer', profile: 'data', bindAddress: '127.0.0.1', logger: testLogger,
      // Deliver the answer only after the candidates that follow it.
      sendSignal: signal => {
        held.push(signal)
        if (held.some(s => s.type === 'answer') && held.some(s => s.type === 'candidate')) {
          const batch = [...held.filter(s => s.type === 'candidate'), ...held.filter(s => s.type !== 'candidate')]
          held.length = 0
          setImmediate(() => {
            for (const s of batch) {
              delivered.push(s.type)
              try {
                offerer?.handleSignal(s)
              } catch (err) {
                errors.push(err)
              }
            }
          })
        }
      }
    })
    offerer = createPeerSession({
      remotePeer: 'answerer', role: 'offerer', profile: 'data', bindAddress: '127.0.0.1', logger: testLogger,
      channels: { control: { ordered: true } },
      sendSignal: signal => { setImmediate(() => { answerer.handleSignal(signal) }) }
    })
    sessions.push(answerer, offerer)
    await Promise.all([openChannel(offerer, 'control'), openChannel(answerer, 'control')])
    expect(delivered[0]).toBe('candidate')
    expect(delivered).toContain('answer')
    expect(errors).toEqual([])
  })

  it('rejects garbage, oversized and misplaced signals with InvalidSignalError and still connects', async () => {
    const p = pair({ channels: { control: { ordered: true } } })
    const bad: unknown[] = [
      { type: 'offer', sdp: 'garbage' },
      { type: 'offer', sdp: `v=0\r\na=x:${'x'.repeat(100_000)}\r\n` },
      { type: 'offer', sdp: 'v=0\r\n' + 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n'.repeat(1000) },
      { type: 'answer', sdp: 'v=0' },
      { type: 'candidate', candidate: 'candidate:garbage', mid: '0' },
      { type: 'candidate', candidate: `candidate:1 1 UDP 1 127.0.0.1 5000 typ host ${'x'.repeat(2000)}`, mid: '0' },
      { type: 'candidate', candidate: 'candidate:1 1 UDP 1 evil.example.com 5000 typ host', mid: '0' },
      { type: 'bye' },
      null
    ]
    for (const signal of bad) expect(nameOf(() => p.answerer.handleSignal(signal as SessionSignal)), JSON.stringify(signal)?.slice(0, 60)).toBe('InvalidSignalError')
    expect(nameOf(() => p.offerer.handleSignal({ type: 'offer', sdp: 'v=0' }))).toBe('InvalidSignalError')
    await Promise.all([openChannel(p.offerer, 'control'), openChannel(p.answerer, 'control')])
    expect(p.relayErrors).toEqual([])

    // Once connected: a replayed offer, an answer to no offer, and a bad candidate change nothing.
    expect(nameOf(() => p.answerer.handleSignal({ type: 'offer', sdp: sdpOf(p.sent.offerer, 'offer') }))).toBe('InvalidSignalError')
    expect(nameOf(() => p.offerer.handleSignal({ type: 'answer', sdp: sdpOf(p.sent.answerer, 'answer') }))).toBe('InvalidSignalError')
    expect(nameOf(() => p.offerer.handleSignal({ type: 'candidate', candidate: 'candidate:1 1 UDP 1 127.0.0.1 99999 typ host', mid: '0' }))).toBe('InvalidSignalError')
    const got = waitFor<[string | Buffer]>(p.answerer.channel('control')!, 'message')
    p.offerer.channel('control')!.send('still here')
    expect(await got).toEqual(['still here'])
    expect(p.offerer.state).toBe('connected')
  })

  it('turns a description libdatachannel refuses into InvalidSignalError, leaving the session usable', async () => {
    const p = pair({ channels: { control: { ordered: true } } })
    // Passes our checks; libdatachannel refuses the 2-byte sha-256 fingerprint.
    const offer = 'v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AA:BB\r\n' +
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\na=ice-ufrag:a\r\na=ice-pwd:b\r\n'
    expect(nameOf(() => p.answerer.handleSignal({ type: 'offer', sdp: offer }))).toBe('InvalidSignalError')
    await waitForState(p.answerer, 'connected')
    expect(p.relayErrors).toEqual([])
  })

  it('closes idempotently: channels, then the connection, one close event, no timers left; the far end follows', async () => {
    const before = timeouts()
    const p = pair({ channels: { control: { ordered: true } } })
    const [local, remote] = await Promise.all([openChannel(p.offerer, 'control'), openChannel(p.answerer, 'control')])
    let closes = 0
    let channelCloses = 0
    p.offerer.on('close', () => { closes++ })
    local.on('close', () => { channelCloses++ })
    const states: string[] = []
    p.offerer.on('state', s => states.push(s))
    const remoteClosed = waitFor(p.answerer, 'close')
    const remoteChannelClosed = waitFor(remote, 'close')

    p.offerer.close()
    p.offerer.close()
    expect(closes).toBe(1)
    expect(channelCloses).toBe(1)
    expect(states).toEqual(['closed'])
    expect(p.offerer.state).toBe('closed')
    expect(p.offerer.channels()).toEqual([])
    expect(nameOf(() => local.send('x'))).toBe('ChannelNotOpenError')
    expect(nameOf(() => p.offerer.openChannel('late'))).toBe('SessionClosedError')
    expect(() => { p.offerer.handleSignal({ type: 'candidate', candidate: 'x', mid: '0' }) }).not.toThrow()
    expect(p.offerer.stats()).toMatchObject({ state: 'closed', pair: null })

    await Promise.all([remoteClosed, remoteChannelClosed])
    expect(p.answerer.state).toBe('closed')
    p.answerer.close()
    expect(timeouts()).toBeLessThanOrEqual(before)
  })

  it('fails and closes when nothing connects within connectTimeoutMs', async () => {
    const session = createPeerSession({
      remotePeer: 'nobody', role: 'answerer', profile: 'data', bindAddress: '127.0.0.1',
      connectTimeoutMs: 200, sendSignal: () => {}, logger: testLogger
    })
    sessions.push(session)
    const states: string[] = []
    session.on('state', s => states.push(s))
    await waitFor(session, 'close', 5000)
    expect(states).toEqual(['failed', 'closed'])
  })

  it('refuses trusted, which has no PeerConnection', () => {
    const init = { remotePeer: 'x', role: 'offerer' as const, bindAddress: '127.0.0.1', sendSignal: () => {}, logger: testLogger }
    expect(nameOf(() => createPeerSession({ ...init, profile: 'trusted' }))).toBe('UnsupportedProfileError')
  })

  it('media: connects with no SCTP association (an inactive anchor section only), refuses channels, carries tracks', async () => {
    const p = pair({ profile: 'media', channels: { control: { ordered: true } } })
    await Promise.all([waitForState(p.offerer, 'connected'), waitForState(p.answerer, 'connected')])
    for (const s of [p.offerer, p.answerer]) {
      const { sections, channels } = s.stats()
      expect(sections.local).toEqual(['audio'])
      expect(sections.remote).toEqual(['audio'])
      expect(channels).toEqual([])
      expect(nameOf(() => s.openChannel('control'))).toBe('ConflictError')
    }
    const init = { mid: 'v1', kind: 'video' as const, codec: 'h264' as const, payloadType: 96, ssrc: 1234, clockRate: 90000 }
    const recv = p.answerer.addRecvTrack(init)
    const send = p.offerer.addSendTrack(init)
    p.offerer.negotiate()
    await Promise.all([waitFor(send, 'open'), waitFor(recv, 'open')])
    const got = waitFor<[Buffer]>(recv, 'rtp')
    const packet = Buffer.alloc(20)
    packet[0] = 0x80; packet[1] = 96; packet.writeUInt32BE(1234, 8)
    const timer = setInterval(() => { send.sendRtp(packet) }, 20)
    await got
    clearInterval(timer)
    expect(p.offerer.stats().sections.local).toEqual(['audio', 'video'])
    expect(p.relayErrors).toEqual([])
  })

  it('media: two send tracks fed one source, each with its own SSRC: each receiver gets its stream and its PLI reaches its sender only', async () => {
    const p = pair({ profile: 'media' })
    await Promise.all([waitForState(p.offerer, 'connected'), waitForState(p.answerer, 'connected')])
    const [w1, w2] = await twoTracksOfOneSource(p.offerer, p.answerer)
    expect(w1).toMatchObject({ ssrcs: [1111], pliReachedOwn: true, pliReachedOther: false })
    expect(w2).toMatchObject({ ssrcs: [2222], pliReachedOwn: true, pliReachedOther: false })
    expect(Math.min(w1.packets, w2.packets)).toBeGreaterThanOrEqual(20)
  })

  it('data: the description has only the m=application section', async () => {
    const p = pair({ profile: 'data', channels: { control: { ordered: true } } })
    await Promise.all([waitForState(p.offerer, 'connected'), waitForState(p.answerer, 'connected')])
    for (const s of [p.offerer, p.answerer]) expect(s.stats().sections).toEqual({ local: ['application'], remote: ['application'] })
    expect(nameOf(() => p.offerer.addSendTrack({ mid: 'v', kind: 'video', codec: 'h264', payloadType: 96, ssrc: 1, clockRate: 90000 }))).toBe('ConflictError')
  })
})
