import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BACKOFF_PERMANENT_MS } from '../../src/core/sessions/backoff.ts'
import { ANSWER_TIMEOUT_MS } from '../../src/core/sessions/session-attempt.ts'
import { createSessionManager, type SessionManager, type SlotTransition } from '../../src/core/sessions/session-manager.ts'
import { AllowPolicy } from '../../src/signalling/allow-policy.ts'
import type { SignalMessage } from '../../src/signalling/signal-messages.ts'
import type { SignalService } from '../../src/signalling/signal-service.ts'
import type { SignalStream } from '../../src/signalling/signal-stream.ts'
import type { PathChange, PeerInfo, Swarm, SwarmEvents } from '../../src/signalling/types.ts'
import type { PeerSession, SelectedPair, SessionState } from '../../src/transport/types.ts'
import { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS } from '../../src/util/backoff.ts'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'

// The per-peer state machine (PeerSlot) driven through the session manager,
// with a fake signal service, fake PeerSessions and fake timers: nothing here
// opens a socket, and every wait is a timer the test advances.

const LOCAL = 'peer-m'
/** Larger than LOCAL: we offer to it. */
const HIGH = 'peer-z'
/** Smaller than LOCAL: it offers to us. */
const LOW = 'peer-a'
const FINGERPRINT = 'sha-256 AB:CD:EF'
const SDP = `v=0\r\na=fingerprint:${FINGERPRINT}\r\n`

/** A signal stream; what we send and refuse on it is recorded. */
class FakeStream extends TypedEmitter<{ message: [SignalMessage], close: [Error?] }> {
  closed = false
  sent: SignalMessage[] = []
  rejected: string[] = []
  readonly remotePeer: string
  constructor (remotePeer: string) {
    super()
    this.remotePeer = remotePeer
  }

  async send (m: SignalMessage): Promise<void> { this.sent.push(m) }
  async reject (code: string): Promise<void> { this.rejected.push(code); this.close() }
  close (): void {
    if (this.closed) return
    this.closed = true
    this.emit('close', undefined)
  }

  /** The offer we sent on it (offerer side). */
  offer (): Extract<SignalMessage, { type: 'offer' }> | undefined {
    return this.sent.find(m => m.type === 'offer') as Extract<SignalMessage, { type: 'offer' }> | undefined
  }
}

/** A PeerSession without a PeerConnection: it connects when the test says so. */
class FakeSession extends TypedEmitter<{ state: [SessionState], channel: [never], close: [] }> {
  state: SessionState = 'connecting'
  closed = false
  localAddress = '10.0.0.1'
  readonly remotePeer: string
  readonly role: 'offerer' | 'answerer'
  readonly sendSignal: (s: any) => void
  constructor (remotePeer: string, role: 'offerer' | 'answerer', sendSignal: (s: any) => void) {
    super()
    this.remotePeer = remotePeer
    this.role = role
    this.sendSignal = sendSignal
  }

  handleSignal (signal: { type: string }): void {
    // The answerer answers an offer at once, as libdatachannel does.
    if (signal.type === 'offer' && this.role === 'answerer') this.sendSignal({ type: 'answer', sdp: SDP })
  }

  close (): void { this.closed = true }
  stats (): object { return { channels: [], pair: this.pair() } }
  pair (): SelectedPair | null {
    return this.state === 'connected' ? { local: { type: 'host', address: this.localAddress, port: 1 }, remote: { type: 'host', address: '10.0.0.2', port: 2 } } as SelectedPair : null
  }

  remoteFingerprint (): object { return { algorithm: 'sha-256', value: 'AB:CD:EF' } }
  connect (): void { this.state = 'connected'; this.emit('state', 'connected') }
}

class FakeSignal extends TypedEmitter<{ stream: [SignalStream] }> {
  /** Streams we opened (our offers), in order, with the time of each. */
  opened: Array<{ stream: FakeStream, at: number }> = []
  /** Dials that fail now (an Error), or hang until aborted ('hang'). */
  mode: 'ok' | 'fail' | 'hang' = 'ok'
  async start (): Promise<void> {}
  async stop (): Promise<void> {}
  async open (peer: string, signal?: AbortSignal): Promise<SignalStream> {
    if (this.mode === 'fail') {
      this.opened.push({ stream: new FakeStream(peer), at: Date.now() })
      throw new Error('no route to peer')
    }
    if (this.mode === 'hang') {
      return await new Promise((_resolve, reject) => { signal?.addEventListener('abort', () => { reject(new Error('aborted')) }) })
    }
    const stream = new FakeStream(peer)
    this.opened.push({ stream, at: Date.now() })
    return stream as unknown as SignalStream
  }

  /** The peer opens a stream and offers on it. */
  offerFrom (peer: string, session: string): FakeStream {
    const stream = new FakeStream(peer)
    this.emit('stream', stream as unknown as SignalStream)
    stream.emit('message', { type: 'offer', session, profile: 'webrtc', sdp: SDP } as SignalMessage)
    return stream
  }
}

class FakeSwarm extends TypedEmitter<SwarmEvents> {
  known = new Map<string, PeerInfo>()
  checked: string[] = []
  peers (): PeerInfo[] { return [...this.known.values()] }
  peer (id: string): PeerInfo | undefined { return this.known.get(id) }
  async checkConnection (peer: string): Promise<void> { this.checked.push(peer) }
  /** The peer's presence came or changed. */
  presence (peerId: string, change: Partial<PeerInfo> = {}): void {
    const before = this.known.get(peerId)
    const info: PeerInfo = {
      peerId, name: peerId, version: '0', sources: [], stack: 'webrtc', instance: 'i1', addresses: ['/ip4/10.0.0.2/tcp/1'],
      lastSeen: new Date().toISOString(), connected: true, ...before, ...change
    }
    this.known.set(peerId, info)
    this.emit(before === undefined ? 'peer:discovered' : 'peer:updated', info)
  }

  path (event: 'path:lost' | 'path:added', hosts: string[], now: string[]): void {
    const change: PathChange = { hosts, now: new Set(now) }
    this.emit(event, change)
  }
}

interface Rig {
  manager: SessionManager
  signal: FakeSignal
  swarm: FakeSwarm
  sessions: FakeSession[]
  transitions: SlotTransition[]
  /** The states `peer` went through. */
  states: (peer: string) => string[]
}

let rig: Rig | undefined

async function setup (opts: { maxSessions?: number, autoconnect?: boolean, allow?: AllowPolicy } = {}): Promise<Rig> {
  const signal = new FakeSignal()
  const swarm = new FakeSwarm()
  const sessions: FakeSession[] = []
  const transitions: SlotTransition[] = []
  const manager = createSessionManager({
    localPeer: LOCAL,
    swarm: swarm as unknown as Swarm,
    signal: signal as unknown as SignalService,
    autoconnect: opts.autoconnect ?? true,
    maxSessions: opts.maxSessions ?? 8,
    allow: opts.allow ?? new AllowPolicy([]),
    profileFor: () => 'webrtc',
    createSession: ({ remotePeer, role, sendSignal }) => {
      const s = new FakeSession(remotePeer, role, sendSignal)
      sessions.push(s)
      return s as unknown as PeerSession
    },
    logger: pino({ level: 'silent' })
  })
  manager.on('transition', t => { transitions.push(t) })
  await manager.start()
  rig = { manager, signal, swarm, sessions, transitions, states: peer => transitions.filter(t => t.peer === peer).map(t => t.to) }
  return rig
}

/** Let promise chains (a dial, a send) run, without moving the clock. */
const settle = async (): Promise<void> => { await vi.advanceTimersByTimeAsync(0) }

/** The peer answers our latest offer to it and the PeerConnection connects. */
async function answerAndConnect (r: Rig, peer: string): Promise<FakeSession> {
  const { stream } = r.signal.opened.filter(o => o.stream.remotePeer === peer).at(-1) ?? {}
  const offer = stream?.offer()
  if (stream === undefined || offer === undefined) throw new Error(`no offer to ${peer}`)
  stream.emit('message', { type: 'answer', session: offer.session, profile: 'webrtc', sdp: SDP } as SignalMessage)
  const session = r.sessions.filter(s => s.remotePeer === peer).at(-1)
  session?.connect()
  await settle()
  if (session === undefined) throw new Error('no session')
  return session
}

/** Our offer went out: the PeerSession made it. */
function offerOut (r: Rig, peer: string): FakeStream {
  const { stream } = r.signal.opened.filter(o => o.stream.remotePeer === peer).at(-1) ?? {}
  if (stream === undefined) throw new Error(`nothing opened to ${peer}`)
  const session = r.sessions.filter(s => s.remotePeer === peer).at(-1)
  session?.sendSignal({ type: 'offer', sdp: SDP })
  return stream
}

beforeEach(() => { vi.useFakeTimers() })
afterEach(async () => {
  await rig?.manager.stop()
  rig = undefined
  vi.useRealTimers()
})

describe('PeerSlot: the session state machine of one peer', () => {
  it('offers to a peer it should (smaller peer id offers): idle → offering → connecting → connected, each with its reason', async () => {
    const r = await setup()
    r.swarm.presence(HIGH)
    r.swarm.presence(LOW)
    await settle()
    expect(r.signal.opened.map(o => o.stream.remotePeer)).toEqual([HIGH])
    offerOut(r, HIGH)
    await answerAndConnect(r, HIGH)
    expect(r.transitions.filter(t => t.peer === HIGH).map(t => `${t.from}→${t.to}:${t.reason}`)).toEqual([
      'idle→offering:presence',
      'offering→connecting:negotiated',
      'connecting→connected:connected'
    ])
    expect(r.manager.get(HIGH).state).toBe('connected')
    expect(r.manager.count()).toBe(1)
  })

  it('answers a peer that offers: answering → connecting → connected', async () => {
    const r = await setup()
    r.swarm.presence(LOW)
    const stream = r.signal.offerFrom(LOW, 's-low-1')
    expect(stream.sent.map(m => m.type)).toContain('answer')
    r.sessions[0].connect()
    await settle()
    expect(r.transitions.filter(t => t.peer === LOW).map(t => `${t.to}:${t.reason}`)).toEqual(['answering:offer-taken', 'connecting:negotiated', 'connected:connected'])
  })

  describe('glare (both offer at once)', () => {
    it('our offer wins against a peer with a larger id: theirs is refused "busy"', async () => {
      const r = await setup()
      r.swarm.presence(HIGH)
      await settle()
      offerOut(r, HIGH)
      const theirs = r.signal.offerFrom(HIGH, 's-high-1')
      expect(theirs.rejected).toEqual(['busy'])
      expect(r.sessions).toHaveLength(1)
      await answerAndConnect(r, HIGH)
      expect(r.manager.get(HIGH).role).toBe('offerer')
    })

    it('an offer of ours still dialling is no glare: the peer\'s offer (which came over a working connection) is taken, ours dropped unsent', async () => {
      const r = await setup()
      r.signal.mode = 'hang'
      r.swarm.presence(HIGH)
      await settle()
      expect(r.manager.count()).toBe(1)
      // A larger peer id: had our offer been out, ours would win.
      const theirs = r.signal.offerFrom(HIGH, 's-high-1')
      expect(theirs.rejected).toEqual([])
      expect(r.transitions.filter(t => t.peer === HIGH).slice(-2)).toMatchObject([
        { from: 'offering', to: 'answering', reason: 'offer-taken' },
        { from: 'answering', to: 'connecting', reason: 'negotiated' }
      ])
      r.sessions[0].connect()
      await settle()
      expect(r.manager.get(HIGH)).toMatchObject({ state: 'connected', role: 'answerer' })
      // The aborted dial left nothing behind.
      expect(r.manager.count()).toBe(1)
      expect(r.signal.opened).toHaveLength(0)
    })

    it('a peer with a smaller id wins: our offer out is dropped and theirs taken', async () => {
      const r = await setup()
      r.swarm.presence(LOW)
      r.manager.connect(LOW)
      await settle()
      offerOut(r, LOW)
      const theirs = r.signal.offerFrom(LOW, 's-low-1')
      expect(theirs.rejected).toEqual([])
      expect(r.transitions.filter(t => t.peer === LOW).slice(-2)).toMatchObject([
        { from: 'offering', to: 'answering', reason: 'glare-lost' },
        { from: 'answering', to: 'connecting', reason: 'negotiated' }
      ])
      r.sessions[1].connect()
      await settle()
      expect(r.manager.get(LOW)).toMatchObject({ state: 'connected', role: 'answerer' })
      expect(r.manager.count()).toBe(1)
    })

    it('an offer of ours the peer already answered is no glare: a new offer from it means it dropped ours (the flaky address-change test)', async () => {
      const r = await setup()
      r.swarm.presence(HIGH)
      await settle()
      const ours = offerOut(r, HIGH)
      const offer = ours.offer()
      ours.emit('message', { type: 'answer', session: offer?.session, profile: 'webrtc', sdp: SDP } as SignalMessage)
      // Its path went; the bye for ours was lost with the stream. Its new offer is taken at once.
      const theirs = r.signal.offerFrom(HIGH, 's-high-2')
      expect(theirs.rejected).toEqual([])
      expect(r.sessions[0].closed).toBe(true)
      r.sessions[1].connect()
      await settle()
      expect(r.manager.get(HIGH)).toMatchObject({ state: 'connected', role: 'answerer', session: 's-high-2' })
    })

    it('also against an offer of ours already out: it is closed, theirs taken', async () => {
      const r = await setup()
      r.swarm.presence(LOW)
      r.manager.connect(LOW)
      await settle()
      const ours = offerOut(r, LOW)
      r.signal.offerFrom(LOW, 's-low-1')
      await settle()
      expect(ours.closed).toBe(true)
      expect(r.sessions[0].closed).toBe(true)
      expect(r.sessions[1].role).toBe('answerer')
      expect(r.transitions.filter(t => t.peer === LOW).map(t => `${t.from}→${t.to}:${t.reason}`)).toEqual([
        'idle→offering:manual-on',
        'offering→answering:glare-lost',
        'answering→connecting:negotiated'
      ])
    })
  })

  it(`an offer nobody answers fails after ${ANSWER_TIMEOUT_MS} ms, backs off, and is made again`, async () => {
    const r = await setup()
    r.swarm.presence(HIGH)
    await settle()
    offerOut(r, HIGH)
    await vi.advanceTimersByTimeAsync(ANSWER_TIMEOUT_MS)
    expect(r.transitions.at(-1)).toMatchObject({ peer: HIGH, from: 'offering', to: 'backoff', reason: 'failed' })
    expect(r.manager.get(HIGH).lastError?.code).toBe('timeout')
    expect(r.sessions[0].closed).toBe(true)
    expect(r.signal.opened).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(BACKOFF_INITIAL_MS * 1.2)
    expect(r.signal.opened).toHaveLength(2)
    expect(r.transitions.at(-1)).toMatchObject({ peer: HIGH, from: 'backoff', to: 'offering', reason: 'backoff-elapsed' })
  })

  describe('full', () => {
    it('a peer that refuses us as full is asked again only once its presence has room (or after the long back-off)', async () => {
      const r = await setup()
      r.swarm.presence(HIGH)
      await settle()
      const stream = offerOut(r, HIGH)
      stream.emit('message', { type: 'error', code: 'full', message: 'session limit of 1 reached' } as SignalMessage)
      expect(r.manager.get(HIGH).lastError?.code).toBe('full')
      r.swarm.presence(HIGH, { full: true })
      await vi.advanceTimersByTimeAsync(BACKOFF_PERMANENT_MS * 0.8 - 1)
      expect(r.signal.opened).toHaveLength(1)
      r.swarm.presence(HIGH, { full: false })
      await settle()
      expect(r.signal.opened).toHaveLength(2)
    })

    it('holds back from a peer whose presence says full (never connected); edgectl connect still offers', async () => {
      const r = await setup()
      r.swarm.presence(HIGH, { full: true })
      await vi.advanceTimersByTimeAsync(30_000)
      expect(r.signal.opened).toHaveLength(0)
      expect(r.manager.list()).toEqual([])
      r.manager.connect(HIGH)
      await settle()
      expect(r.signal.opened).toHaveLength(1)
    })

    it('at swarm.maxSessions, refuses offers "full"; a place freed lets a waiting peer start at once (no poll)', async () => {
      const r = await setup({ maxSessions: 1 })
      r.swarm.presence(HIGH)
      await settle()
      offerOut(r, HIGH)
      const first = await answerAndConnect(r, HIGH)
      r.swarm.presence('peer-zz')
      await settle()
      expect(r.signal.opened.map(o => o.stream.remotePeer)).toEqual([HIGH])
      expect(r.signal.offerFrom(LOW, 's-low-1').rejected).toEqual(['full'])
      expect(r.manager.full()).toBe(true)
      // The session with HIGH ends: peer-zz gets its place on that event, not at a later tick.
      first.state = 'closed'
      first.emit('state', 'closed')
      await settle()
      expect(r.signal.opened.map(o => o.stream.remotePeer)).toEqual([HIGH, 'peer-zz'])
    })
  })

  it('a restarted peer (new presence instance) gets a new PeerConnection at once; the old one holds until it connects', async () => {
    const r = await setup()
    r.swarm.presence(HIGH)
    await settle()
    offerOut(r, HIGH)
    const old = await answerAndConnect(r, HIGH)
    r.swarm.presence(HIGH, { instance: 'i2' })
    await settle()
    expect(r.signal.opened).toHaveLength(2)
    expect(r.transitions.at(-1)).toMatchObject({ from: 'connected', to: 'remaking', reason: 'peer-restarted' })
    expect(old.closed).toBe(false)
    expect(r.manager.session(HIGH)).toBe(old)
    offerOut(r, HIGH)
    const fresh = await answerAndConnect(r, HIGH)
    expect(old.closed).toBe(true)
    expect(r.manager.session(HIGH)).toBe(fresh)
    expect(r.transitions.at(-1)).toMatchObject({ from: 'remaking', to: 'connected', reason: 'connected' })
  })

  describe('a lost path (the swarm\'s path:lost / path:added)', () => {
    it('re-makes a session whose local address is gone, whichever side offered it', async () => {
      const r = await setup()
      r.swarm.presence(LOW)
      r.signal.offerFrom(LOW, 's-low-1')
      const old = r.sessions[0]
      old.connect()
      await settle()
      r.swarm.path('path:lost', ['10.0.0.9'], ['10.0.0.1'])
      await settle()
      expect(r.signal.opened).toHaveLength(0)
      r.swarm.path('path:lost', ['10.0.0.1'], ['10.0.0.5'])
      await settle()
      expect(r.swarm.checked).toEqual([LOW])
      expect(r.signal.opened.map(o => o.stream.remotePeer)).toEqual([LOW])
      expect(r.transitions.at(-1)).toMatchObject({ from: 'connected', to: 'remaking', reason: 'path-lost' })
      offerOut(r, LOW)
      r.sessions[1].localAddress = '10.0.0.5'
      await answerAndConnect(r, LOW)
      expect(old.closed).toBe(true)
      expect(r.manager.get(LOW).pair?.local.address).toBe('10.0.0.5')
    })

    it('a remake that fails is tried again under back-off while the old session holds, and at once when an address comes', async () => {
      const r = await setup()
      r.swarm.presence(HIGH)
      await settle()
      offerOut(r, HIGH)
      await answerAndConnect(r, HIGH)
      r.signal.mode = 'fail'
      r.swarm.path('path:lost', ['10.0.0.1'], [])
      await settle()
      expect(r.signal.opened).toHaveLength(2)
      expect(r.transitions.at(-1)).toMatchObject({ to: 'remaking', reason: 'path-lost' })
      await vi.advanceTimersByTimeAsync(BACKOFF_INITIAL_MS * 1.2)
      expect(r.signal.opened).toHaveLength(3)
      r.signal.mode = 'ok'
      // Long before the third back-off is over, a new address: try now.
      r.swarm.path('path:added', ['10.0.0.7'], ['10.0.0.7'])
      await settle()
      expect(r.signal.opened).toHaveLength(4)
      offerOut(r, HIGH)
      r.sessions[1].localAddress = '10.0.0.7'
      await answerAndConnect(r, HIGH)
      expect(r.manager.get(HIGH).pair?.local.address).toBe('10.0.0.7')
      expect(r.states(HIGH).at(-1)).toBe('connected')
    })

    it('a negotiation under way when an address goes is replaced, not waited out (the flaky address-change test)', async () => {
      const r = await setup()
      r.swarm.presence(HIGH)
      await settle()
      offerOut(r, HIGH)
      const first = await answerAndConnect(r, HIGH)
      // A remake is under way (the peer restarted), its candidates gathered on the address about to go.
      r.swarm.presence(HIGH, { instance: 'i2' })
      await settle()
      offerOut(r, HIGH)
      const doomed = r.sessions[1]
      r.swarm.path('path:lost', ['10.0.0.1'], ['10.0.0.11'])
      await settle()
      expect(r.signal.opened).toHaveLength(3)
      expect(doomed.closed).toBe(true)
      expect(first.closed).toBe(false)
      expect(r.manager.session(HIGH)).toBe(first)
      offerOut(r, HIGH)
      r.sessions[2].localAddress = '10.0.0.11'
      await answerAndConnect(r, HIGH)
      expect(first.closed).toBe(true)
      expect(r.manager.get(HIGH).pair?.local.address).toBe('10.0.0.11')
      // No ICE timeout was waited out: the whole remake took no time on the clock.
      expect(vi.getTimerCount()).toBeLessThanOrEqual(1)
    })

    it('the peer moved while our offer to it was under way: that offer (to its old address) is replaced', async () => {
      const r = await setup()
      r.swarm.presence(HIGH)
      await settle()
      offerOut(r, HIGH)
      r.swarm.presence(HIGH, { addresses: ['/ip4/10.0.0.22/tcp/1'] })
      await settle()
      expect(r.signal.opened).toHaveLength(2)
      expect(r.sessions[0].closed).toBe(true)
    })

    it('the peer lost an address: only a session whose remote end was on it is re-made', async () => {
      const r = await setup()
      r.swarm.presence(HIGH, { addresses: ['/ip4/10.0.0.2/tcp/1', '/ip4/10.0.0.3/tcp/1'] })
      await settle()
      offerOut(r, HIGH)
      await answerAndConnect(r, HIGH)
      r.swarm.presence(HIGH, { addresses: ['/ip4/10.0.0.2/tcp/1'] })
      await settle()
      expect(r.signal.opened).toHaveLength(1)
      r.swarm.presence(HIGH, { addresses: ['/ip4/10.0.0.4/tcp/1'] })
      await settle()
      expect(r.signal.opened).toHaveLength(2)
      expect(r.transitions.at(-1)).toMatchObject({ from: 'connected', to: 'remaking', reason: 'peer-moved' })
    })

    it('an address that went and came between two looks (only a gain seen) still re-makes the session', async () => {
      const r = await setup()
      r.swarm.presence(HIGH)
      await settle()
      offerOut(r, HIGH)
      await answerAndConnect(r, HIGH)
      r.swarm.path('path:added', ['10.0.0.12'], ['10.0.0.12'])
      await settle()
      expect(r.signal.opened).toHaveLength(2)
      expect(r.transitions.at(-1)).toMatchObject({ to: 'remaking', reason: 'path-lost' })
    })
  })

  it('edgectl disconnect closes everything and keeps it off (offers refused, no retry); connect brings it back', async () => {
    const r = await setup()
    r.swarm.presence(HIGH)
    await settle()
    offerOut(r, HIGH)
    const session = await answerAndConnect(r, HIGH)
    r.manager.disconnect(HIGH)
    expect(session.closed).toBe(true)
    expect(r.transitions.at(-1)).toMatchObject({ from: 'connected', to: 'off', reason: 'manual-off' })
    expect(r.signal.offerFrom(HIGH, 's-high-1').rejected).toEqual(['busy'])
    r.swarm.presence(HIGH, { instance: 'i2' })
    await vi.advanceTimersByTimeAsync(120_000)
    expect(r.signal.opened).toHaveLength(1)
    expect(r.manager.count()).toBe(0)
    r.manager.connect(HIGH)
    await settle()
    expect(r.signal.opened).toHaveLength(2)
    expect(r.transitions.at(-1)).toMatchObject({ from: 'off', to: 'offering', reason: 'manual-on' })
  })

  it('edgectl connect to a peer that would offer itself: we offer by hand', async () => {
    const r = await setup({ autoconnect: false })
    r.swarm.presence(HIGH)
    r.swarm.presence(LOW)
    await settle()
    expect(r.signal.opened).toHaveLength(0)
    r.manager.connect(LOW)
    await settle()
    expect(r.signal.opened.map(o => o.stream.remotePeer)).toEqual([LOW])
  })

  it('backs off between failed tries: doubling from 250 ms (±20 %) up to 10 s, each on the slot\'s own timer', async () => {
    const r = await setup()
    r.signal.mode = 'fail'
    r.swarm.presence(HIGH)
    await settle()
    while (r.signal.opened.length < 10) await vi.advanceTimersByTimeAsync(50)
    const gaps = r.signal.opened.slice(1).map((o, i) => o.at - r.signal.opened[i].at)
    for (const [i, gap] of gaps.entries()) {
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** i)
      expect(gap).toBeGreaterThanOrEqual(Math.floor(base * 0.8))
      expect(gap).toBeLessThanOrEqual(Math.ceil(base * 1.2) + 50)
    }
    expect(r.states(HIGH).slice(0, 3)).toEqual(['offering', 'backoff', 'offering'])
    // The peer going away stops the retries: nothing is armed for it any more.
    r.swarm.known.delete(HIGH)
    r.swarm.emit('peer:lost', { peerId: HIGH } as PeerInfo)
    const before = r.signal.opened.length
    await vi.advanceTimersByTimeAsync(60_000)
    expect(r.signal.opened.length).toBe(before)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a reload that takes the peer off swarm.allow closes its session and forgets it (one AllowPolicy, changed in one place)', async () => {
    const allow = new AllowPolicy([])
    const r = await setup({ allow })
    r.swarm.presence(HIGH)
    await settle()
    offerOut(r, HIGH)
    const session = await answerAndConnect(r, HIGH)
    allow.set([LOW])
    expect(session.closed).toBe(true)
    expect(() => r.manager.get(HIGH)).toThrow(expect.objectContaining({ name: 'NotFoundError' }))
    expect(() => r.manager.connect(HIGH)).toThrow(expect.objectContaining({ name: 'ConflictError' }))
    r.swarm.presence(HIGH, { instance: 'i2' })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(r.signal.opened).toHaveLength(1)
  })
})
