import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { pino } from 'pino'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'
import type { PeerSession, PeerSessionEvents } from '../../src/transport/types.ts'
import { sameSubnet, standbyBindAddress, type LocalAddress } from '../../src/transport/standby-path.ts'
import { ACTIVE_SILENCE_FLOOR_MS, PathHeartbeat, STANDBY_BEAT_MS } from '../../src/core/sessions/path-heartbeat.ts'
import { parseEdgeMessage } from '../../src/core/sessions/edge-messages.ts'
import { decodeSignal } from '../../src/signalling/signal-messages.ts'
import { StandbyPaths } from '../../src/core/sessions/standby.ts'
import { pairOf, type FakeChannel } from '../helpers/fake-channel.ts'

const v4 = (iface: string, address: string, netmask = '255.255.255.0', internal = false): LocalAddress =>
  ({ iface, address, netmask, family: 'IPv4', internal })
const v6 = (iface: string, address: string): LocalAddress => ({ iface, address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', internal: false })
const robot = [v4('lo', '127.0.0.1', '255.0.0.0', true), v4('wlan0', '192.168.1.20'), v6('wlan0', 'fe80::1'), v4('wwan0', '10.64.3.7', '255.255.255.252'), v4('eth0', '10.95.2.1')]

describe('the standby path\'s local address', () => {
  it('is on another interface than the active path, on a subnet of the peer first', () => {
    expect(standbyBindAddress({ activeLocal: '192.168.1.20', activeRemote: '192.168.1.30', peerHosts: ['192.168.1.30', '10.95.2.2'], addresses: robot })).toBe('10.95.2.1')
    // No second route known: another interface still (an LTE modem reaches the peer through the internet).
    expect(standbyBindAddress({ activeLocal: '192.168.1.20', peerHosts: [], addresses: robot })).toBe('10.64.3.7')
  })

  it('is none with one interface, over loopback, or for an address on the active interface only', () => {
    const one = [v4('lo', '127.0.0.1', '255.0.0.0', true), v4('eth0', '10.0.0.5'), v4('eth0', '10.0.0.6'), v6('eth0', 'fe80::2')]
    expect(standbyBindAddress({ activeLocal: '10.0.0.5', peerHosts: ['10.0.0.9'], addresses: one })).toBeUndefined()
    expect(standbyBindAddress({ activeLocal: '127.0.0.1', peerHosts: [], addresses: robot })).toBeUndefined()
  })

  it('keeps to the active path\'s address family', () => {
    const dual = [v6('eth0', '2001:db8::5'), v4('eth1', '10.1.0.5'), v6('eth1', '2001:db8:1::5')]
    expect(standbyBindAddress({ activeLocal: '2001:db8::5', peerHosts: [], addresses: dual })).toBe('2001:db8:1::5')
  })

  it('compares subnets as unsigned numbers', () => {
    expect(sameSubnet('200.1.2.3', '200.1.2.77', '255.255.255.0')).toBe(true)
    expect(sameSubnet('200.1.2.3', '200.1.3.3', '255.255.255.0')).toBe(false)
    expect(sameSubnet('::1', '::1', 'ffff::')).toBe(false)
  })
})

describe('path messages on _edge and standby offers', () => {
  it('parses beat and switch, with nothing else', () => {
    expect(parseEdgeMessage('{"t":"beat","label":"x","extra":1}')).toEqual({ t: 'beat' })
    expect(parseEdgeMessage('{"t":"switch"}')).toEqual({ t: 'switch' })
    expect(parseEdgeMessage('{"t":"flow"}')).toBeUndefined()
  })

  it('takes a standby offer that names its session, and refuses one that does not', () => {
    const enc = (m: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(m))
    const offer = { type: 'offer', session: 'standby-123', profile: 'webrtc', sdp: 'v=0' }
    expect(decodeSignal(enc({ ...offer, path: 'standby', of: 'main-session-1' }))).toMatchObject({ path: 'standby', of: 'main-session-1' })
    expect(() => decodeSignal(enc({ ...offer, path: 'standby' }))).toThrow(expect.objectContaining({ name: 'SignalRejectedError', code: 'malformed' }))
    expect(() => decodeSignal(enc({ ...offer, of: 'main-session-1' }))).toThrow(expect.objectContaining({ name: 'SignalRejectedError' }))
    expect(() => decodeSignal(enc({ ...offer, path: 'spare', of: 'main-session-1' }))).toThrow(expect.objectContaining({ name: 'SignalRejectedError' }))
  })
})

class FakeSession extends TypedEmitter<PeerSessionEvents> {
  readonly edge: FakeChannel
  constructor (edge: FakeChannel) { super(); this.edge = edge }
  channel (label: string): FakeChannel | undefined { return label === '_edge' ? this.edge : undefined }
  stats (): { rttMs: number } { return { rttMs: 2 } }
}

describe('PathHeartbeat', () => {
  const log = pino({ level: 'silent' })
  let ends: [FakeChannel, FakeChannel]
  let beats: [PathHeartbeat, PathHeartbeat]
  const make = (active: boolean): void => {
    ends = pairOf('_edge')
    beats = ends.map(e => new PathHeartbeat({ session: new FakeSession(e) as unknown as PeerSession, active, logger: log })) as [PathHeartbeat, PathHeartbeat]
  }
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { for (const b of beats) b.close(); vi.useRealTimers() })

  it('an active path that stops answering is silent after its floor, once, on both ends', async () => {
    make(true)
    const silent: number[][] = [[], []]
    beats.forEach((b, i) => b.on('silent', ms => { silent[i].push(ms) }))
    await vi.advanceTimersByTimeAsync(1_000)
    expect(silent).toEqual([[], []])
    expect(beats.every(b => b.alive)).toBe(true)
    for (const e of ends) e.dropping = true
    await vi.advanceTimersByTimeAsync(1_000)
    for (const s of silent) {
      expect(s).toHaveLength(1)
      expect(s[0]).toBeGreaterThan(ACTIVE_SILENCE_FLOOR_MS)
      expect(s[0]).toBeLessThanOrEqual(ACTIVE_SILENCE_FLOOR_MS + 60)
    }
    expect(beats.some(b => b.alive)).toBe(false)
  })

  it('a standby beats a few times a second and hears a switch', async () => {
    make(false)
    let sent = 0
    const send = ends[0].send.bind(ends[0])
    ends[0].send = (data) => { sent++; return send(data) }
    const switched = vi.fn()
    beats[1].on('switch', switched)
    await vi.advanceTimersByTimeAsync(2_000)
    expect(sent).toBeLessThanOrEqual(2_000 / STANDBY_BEAT_MS)
    expect(sent).toBeGreaterThanOrEqual(2_000 / STANDBY_BEAT_MS - 1)
    beats[0].sendSwitch()
    await vi.advanceTimersByTimeAsync(10)
    expect(switched).toHaveBeenCalledOnce()
    expect(beats.every(b => b.alive)).toBe(true)
  })
})

describe('StandbyPaths: standby offers it cannot take', () => {
  const log = pino({ level: 'silent' })
  const offer = { type: 'offer' as const, session: 'standby-offer-1', profile: 'webrtc' as const, sdp: 'v=0', path: 'standby' as const, of: 'main-session-1' }
  const fakeStream = (): { remotePeer: string, reject: ReturnType<typeof vi.fn> } => ({ remotePeer: 'peerB', reject: vi.fn(async () => {}) })
  const paths = (): StandbyPaths => new StandbyPaths({
    localPeer: 'peerA',
    signal: { open: async () => { throw new Error('not in this test') } },
    peer: () => undefined,
    createSession: () => { throw new Error('no session may be made for a refused offer') },
    logger: log
  })

  it('refuses one for a session it has not got, or for another profile, and makes no PeerConnection', async () => {
    const standby = paths()
    await standby.start()
    const none = fakeStream()
    standby.offer(none as any, offer)
    expect(none.reject).toHaveBeenCalledWith('unknown-session', expect.stringContaining('main-session-1'), offer.session)
    const active = Object.assign(new TypedEmitter(), { id: 'main-session-1', profile: 'media', state: 'connected', session: new FakeSession(pairOf('_edge')[0]) })
    standby.active('peerB', active as any)
    const other = fakeStream()
    standby.offer(other as any, offer)
    expect(other.reject).toHaveBeenCalledWith('profile-mismatch', expect.any(String), offer.session)
    const stale = fakeStream()
    standby.offer(stale as any, { ...offer, of: 'an-older-session' })
    expect(stale.reject).toHaveBeenCalledWith('unknown-session', expect.any(String), offer.session)
    expect(standby.info('peerB')).toBeNull()
    await standby.stop()
  })

  it('refuses everything once stopped', async () => {
    const standby = paths()
    const stream = fakeStream()
    standby.offer(stream as any, offer)
    expect(stream.reject).toHaveBeenCalledWith('unknown-session', expect.any(String), offer.session)
  })
})
