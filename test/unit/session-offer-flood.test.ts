import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createSessionManager, OFFER_BURST, type SessionManager } from '../../src/core/sessions/session-manager.ts'
import { AllowPolicy } from '../../src/signalling/allow-policy.ts'
import type { SignalMessage } from '../../src/signalling/signal-messages.ts'
import type { SignalService } from '../../src/signalling/signal-service.ts'
import type { SignalStream } from '../../src/signalling/signal-stream.ts'
import type { PeerSession, SessionState } from '../../src/transport/types.ts'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'

const LOCAL = 'local-peer-zzzz'
const ATTACKER = 'attacker-peer-aaaa'

/** An inbound signal stream from `remotePeer`; what we answer is recorded. */
class FakeStream extends TypedEmitter<{ message: [SignalMessage], close: [Error?] }> {
  closed = false
  rejected: string[] = []
  readonly remotePeer: string
  constructor (remotePeer: string) {
    super()
    this.remotePeer = remotePeer
  }
  async send (): Promise<void> {}
  async reject (code: string): Promise<void> { this.rejected.push(code); this.close() }
  close (): void {
    if (this.closed) return
    this.closed = true
    this.emit('close', undefined)
  }
}

/** PeerSessions that never connect unless told; counts the open ones (each would hold UDP sockets). */
class Sessions {
  open = new Set<PeerSession>()
  created = 0
  make (): PeerSession {
    const s = new TypedEmitter() as unknown as PeerSession & { state: SessionState }
    Object.assign(s, {
      state: 'connecting',
      close: () => { this.open.delete(s) },
      handleSignal: () => {},
      stats: () => ({ channels: [] }),
      pair: () => undefined,
      remoteFingerprint: () => ({ algorithm: 'sha-256', value: 'AB:CD:EF' })
    })
    this.created++
    this.open.add(s)
    return s
  }
}

function setup (maxSessions = 4): { manager: SessionManager, signal: SignalService, sessions: Sessions } {
  const sessions = new Sessions()
  const signal = new TypedEmitter() as unknown as SignalService
  Object.assign(signal, { start: async () => {}, stop: async () => {}, open: async () => { throw new Error('no dialling here') } })
  const swarm = new TypedEmitter() as any
  Object.assign(swarm, { peers: () => [], peer: () => undefined, localHosts: () => new Set<string>(), checkConnection: async () => {} })
  const manager = createSessionManager({
    localPeer: LOCAL,
    swarm,
    signal,
    autoconnect: true,
    maxSessions,
    allow: new AllowPolicy([]),
    profileFor: () => 'webrtc',
    createSession: () => sessions.make(),
    logger: pino({ level: 'silent' })
  })
  return { manager, signal, sessions }
}

function offer (signal: SignalService, peer: string, n: number): FakeStream {
  const stream = new FakeStream(peer)
  signal.emit('stream', stream as unknown as SignalStream)
  stream.emit('message', { type: 'offer', session: `session-${peer.slice(0, 4)}-${n}`, profile: 'webrtc', sdp: 'v=0\r\na=fingerprint:sha-256 AB:CD:EF\r\n' } as SignalMessage)
  return stream
}

let manager: SessionManager | undefined
afterEach(async () => { await manager?.stop() })

describe('session manager under an offer flood', () => {
  it('keeps one negotiating attempt per peer: each new offer closes the one it replaces', async () => {
    const t = setup()
    manager = t.manager
    await manager.start()
    const streams = Array.from({ length: OFFER_BURST }, (_, i) => offer(t.signal, ATTACKER, i))
    expect(t.sessions.created).toBe(OFFER_BURST)
    expect(t.sessions.open.size).toBe(1)
    await new Promise(resolve => setImmediate(resolve))
    // Every replaced attempt's stream was closed too (no half-open streams behind it).
    expect(streams.slice(0, -1).every(s => s.closed)).toBe(true)
    expect(streams.at(-1)?.closed).toBe(false)
  })

  it('refuses offers over the per-peer rate with "busy" and builds no PeerConnection for them', async () => {
    const t = setup()
    manager = t.manager
    await manager.start()
    const streams = Array.from({ length: OFFER_BURST + 20 }, (_, i) => offer(t.signal, ATTACKER, i))
    expect(t.sessions.created).toBe(OFFER_BURST)
    expect(streams.slice(OFFER_BURST).every(s => s.rejected[0] === 'busy')).toBe(true)
    expect(t.sessions.open.size).toBe(1)
  })

  it('does not count offers whose sessions connect: a peer reconnecting often is not refused', async () => {
    const t = setup()
    manager = t.manager
    await manager.start()
    const streams: FakeStream[] = []
    for (let i = 0; i < OFFER_BURST * 3; i++) {
      streams.push(offer(t.signal, ATTACKER, i))
      const session = [...t.sessions.open].at(-1) as PeerSession & { state: SessionState }
      session.state = 'connected'
      session.emit('state', 'connected')
    }
    expect(streams.every(s => s.rejected.length === 0)).toBe(true)
    expect(t.sessions.created).toBe(OFFER_BURST * 3)
    // Offers that go nowhere still run out: a burst, then "busy".
    const flood = Array.from({ length: OFFER_BURST + 4 }, (_, i) => offer(t.signal, ATTACKER, 100 + i))
    expect(flood.filter(s => s.rejected[0] === 'busy').length).toBe(4)
  })

  it('bounds attempts in total by swarm.maxSessions: offers from more peers are refused as "full"', async () => {
    const t = setup(3)
    manager = t.manager
    await manager.start()
    const streams = Array.from({ length: 10 }, (_, i) => offer(t.signal, `sybil-${String(i).padStart(2, '0')}-peer`, 0))
    expect(t.sessions.open.size).toBe(3)
    expect(streams.slice(3).every(s => s.rejected[0] === 'full')).toBe(true)
  })
})
