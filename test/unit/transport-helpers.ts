import { pino } from 'pino'
import { createPeerSession } from '../../src/transport/peer-session.ts'
import type { Channel, PeerSession, PeerSessionInit, SessionSignal } from '../../src/transport/types.ts'

/** Silent unless TRANSPORT_LOG=debug (or another pino level) is set. */
export const testLogger = pino({ level: process.env.TRANSPORT_LOG ?? 'silent' })

export interface Pair {
  offerer: PeerSession
  answerer: PeerSession
  /** Every signal each side sent, in order. */
  sent: { offerer: SessionSignal[], answerer: SessionSignal[] }
  /** Errors thrown by handleSignal while relaying (none expected). */
  relayErrors: unknown[]
  close: () => void
}

type Options = Partial<Omit<PeerSessionInit, 'role' | 'sendSignal' | 'logger'>>

/**
 * Two sessions in this process, each one's signals handed to the other on the
 * next turn of the event loop (in order), as a signalling stream would.
 */
export function createPair (options: Options = {}, answererOptions: Options = {}): Pair {
  const sent: Pair['sent'] = { offerer: [], answerer: [] }
  const relayErrors: unknown[] = []
  let offerer: PeerSession | undefined
  let answerer: PeerSession | undefined
  const relay = (to: () => PeerSession | undefined, log: SessionSignal[]) => (signal: SessionSignal) => {
    log.push(signal)
    setImmediate(() => {
      try {
        to()?.handleSignal(signal)
      } catch (err) {
        relayErrors.push(err)
      }
    })
  }
  const base = { remotePeer: 'peer', profile: 'data' as const, bindAddress: '127.0.0.1', logger: testLogger }
  answerer = createPeerSession({ ...base, remotePeer: 'offerer', ...options, ...answererOptions, role: 'answerer', sendSignal: relay(() => offerer, sent.answerer) })
  offerer = createPeerSession({ ...base, remotePeer: 'answerer', ...options, role: 'offerer', sendSignal: relay(() => answerer, sent.offerer) })
  return {
    offerer,
    answerer,
    sent,
    relayErrors,
    close: () => { offerer?.close(); answerer?.close() }
  }
}

export function waitFor<T extends unknown[]> (emitter: { once: (event: any, listener: (...args: T) => void) => unknown }, event: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ${event} within ${timeoutMs} ms`)) }, timeoutMs)
    emitter.once(event, (...args: T) => {
      clearTimeout(timer)
      resolve(args)
    })
  })
}

/** The channel with this label once it is open on the session (now or later). */
export function openChannel (session: PeerSession, label: string, timeoutMs = 10_000): Promise<Channel> {
  const existing = session.channel(label)
  if (existing?.isOpen === true) return Promise.resolve(existing)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`channel ${label} not open within ${timeoutMs} ms`)) }, timeoutMs)
    const onChannel = (channel: Channel): void => {
      if (channel.label !== label) return
      clearTimeout(timer)
      session.off('channel', onChannel)
      resolve(channel)
    }
    session.on('channel', onChannel)
  })
}

export function waitForState (session: PeerSession, state: string, timeoutMs = 10_000): Promise<void> {
  if (session.state === state) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`session not ${state} within ${timeoutMs} ms (is ${session.state})`)) }, timeoutMs)
    const onState = (s: string): void => {
      if (s !== state) return
      clearTimeout(timer)
      session.off('state', onState)
      resolve()
    }
    session.on('state', onState)
  })
}

/**
 * What a source daemon does for one peer watching one source twice: two send
 * tracks on one session, each with its own SSRC, both fed the source's packets
 * (which carry the source's SSRC). Returns, per track, the SSRCs its receiver
 * saw and whether its receiver's PLI reached its sender and no other.
 */
export async function twoTracksOfOneSource (offerer: PeerSession, answerer: PeerSession): Promise<Array<{ ssrcs: number[], packets: number, pliReachedOwn: boolean, pliReachedOther: boolean }>> {
  const base = { kind: 'video' as const, codec: 'h264' as const, payloadType: 96, clockRate: 90000 }
  const inits = [{ ...base, mid: 'w1', ssrc: 1111 }, { ...base, mid: 'w2', ssrc: 2222 }]
  const recvs = inits.map(init => answerer.addRecvTrack(init))
  const sends = inits.map(init => offerer.addSendTrack(init))
  if (offerer.profile !== 'trusted') offerer.negotiate()
  await Promise.all([...sends, ...recvs].map(async t => { if (!t.isOpen) await waitFor(t, 'open') }))
  const seen = recvs.map(recv => {
    const got = { ssrcs: new Set<number>(), packets: 0 }
    recv.on('rtp', packet => { got.ssrcs.add(packet.readUInt32BE(8)); got.packets++ })
    return got
  })
  let seq = 0
  const timer = setInterval(() => {
    const packet = Buffer.alloc(20)
    packet[0] = 0x80; packet[1] = 96; packet.writeUInt16BE(seq++ & 0xffff, 2); packet.writeUInt32BE(777, 8)
    for (const send of sends) send.sendRtp(packet)
  }, 10)
  try {
    const deadline = Date.now() + 10_000
    while (seen.some(s => s.packets < 20) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  } finally {
    clearInterval(timer)
  }
  const result = []
  for (const [i, recv] of recvs.entries()) {
    const other = sends[1 - i]
    const otherBefore = other.stats().keyFrameRequests
    const own = waitFor(sends[i], 'keyframe-request', 3_000).then(() => true, () => false)
    recv.requestKeyFrame()
    const pliReachedOwn = await own
    await new Promise(resolve => setTimeout(resolve, 100))
    result.push({ ssrcs: [...seen[i].ssrcs], packets: seen[i].packets, pliReachedOwn, pliReachedOther: other.stats().keyFrameRequests > otherBefore })
  }
  return result
}
