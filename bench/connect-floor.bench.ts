/**
 * Connect time of the transport layer alone: two PeerSessions in this process
 * (signals handed over on the next turn of the event loop) against two bare
 * node-datachannel PeerConnections with libdatachannel's defaults and plain
 * trickle (every candidate handed over as soon as it and its description are
 * there). Both bound to 127.0.0.1, tries interleaved. Timed from "both sides
 * created" to the 'control' channel open on both sides.
 */
import { PeerConnection, type DataChannel, type DescriptionType } from 'node-datachannel'
import { pino } from 'pino'
import { createPeerSession } from '../src/transport/peer-session.ts'
import type { Channel, PeerSession, SessionSignal } from '../src/transport/types.ts'
import { median, p95, round } from './lib/stats.ts'
import type { Benchmark, Figure } from './lib/types.ts'

const DEFAULT_TRIES = 50
const WARMUP_TRIES = 3
const TRY_TIMEOUT_MS = 15_000
const SLOW_MS = 500
const LABEL = 'control'
const BASELINE = 'bare node-datachannel, libdatachannel defaults, plain trickle (same process)'
const logger = pino({ level: 'silent' })

function withTimeout<T> (promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what}: not open after ${TRY_TIMEOUT_MS} ms`)) }, TRY_TIMEOUT_MS)
  })
  return Promise.race([promise, timeout]).finally(() => { clearTimeout(timer) })
}

function opened (session: PeerSession): Promise<Channel> {
  return new Promise(resolve => {
    const onChannel = (channel: Channel): void => {
      if (channel.label !== LABEL) return
      session.off('channel', onChannel)
      resolve(channel)
    }
    session.on('channel', onChannel)
  })
}

function closed (session: PeerSession): Promise<void> {
  return session.state === 'closed' ? Promise.resolve() : new Promise(resolve => { session.once('close', resolve) })
}

async function sessionTry (): Promise<number> {
  const sessions: { offerer?: PeerSession, answerer?: PeerSession } = {}
  const relay = (to: 'offerer' | 'answerer') => (signal: SessionSignal) => {
    setImmediate(() => { sessions[to]?.handleSignal(signal) })
  }
  const base = { profile: 'data' as const, bindAddress: '127.0.0.1', channels: { [LABEL]: { ordered: true } }, logger }
  const started = performance.now()
  const answerer = sessions.answerer = createPeerSession({ ...base, remotePeer: 'offerer', role: 'answerer', sendSignal: relay('offerer') })
  const offerer = sessions.offerer = createPeerSession({ ...base, remotePeer: 'answerer', role: 'offerer', sendSignal: relay('answerer') })
  try {
    await withTimeout(Promise.all([opened(offerer), opened(answerer)]), 'PeerSession')
    return performance.now() - started
  } finally {
    const both = Promise.all([closed(offerer), closed(answerer)])
    offerer.close()
    answerer.close()
    await both
  }
}

/** Hands descriptions and candidates to `to`; a candidate that comes first waits for its description. */
function handOver (to: PeerConnection, fail: (err: unknown) => void): {
  description: (sdp: string, type: DescriptionType) => void
  candidate: (candidate: string, mid: string) => void
} {
  let described = false
  const early: Array<[string, string]> = []
  // A throw inside a node-datachannel callback aborts the process.
  const guard = (fn: () => void): void => { try { fn() } catch (err) { fail(err) } }
  return {
    description: (sdp, type) => {
      guard(() => {
        to.setRemoteDescription(sdp, type)
        described = true
        for (const [candidate, mid] of early.splice(0)) to.addRemoteCandidate(candidate, mid)
      })
    },
    candidate: (candidate, mid) => {
      if (described) guard(() => { to.addRemoteCandidate(candidate, mid) })
      else early.push([candidate, mid])
    }
  }
}

function pcClosed (pc: PeerConnection): Promise<void> {
  return new Promise(resolve => {
    if (pc.state() === 'closed') resolve()
    else pc.onStateChange(state => { if (state === 'closed') resolve() })
  })
}

async function bareTry (): Promise<number> {
  const config = { iceServers: [], bindAddress: '127.0.0.1', enableIceUdpMux: false, enableIceTcp: false }
  const started = performance.now()
  const offerer = new PeerConnection('offerer', config)
  const answerer = new PeerConnection('answerer', config)
  const channels: DataChannel[] = []
  try {
    await withTimeout(new Promise<void>((resolve, reject) => {
      let open = 0
      const one = (): void => { if (++open === 2) resolve() }
      const toAnswerer = handOver(answerer, reject)
      const toOfferer = handOver(offerer, reject)
      offerer.onLocalDescription(toAnswerer.description)
      offerer.onLocalCandidate(toAnswerer.candidate)
      answerer.onLocalDescription(toOfferer.description)
      answerer.onLocalCandidate(toOfferer.candidate)
      answerer.onDataChannel(dc => {
        channels.push(dc)
        dc.onClosed(() => {})
        one()
      })
      const dc = offerer.createDataChannel(LABEL)
      channels.push(dc)
      dc.onClosed(() => {})
      dc.onOpen(one)
    }), 'bare')
    return performance.now() - started
  } finally {
    // The PeerConnections' state callbacks (set here or not) must see 'closed' for node-datachannel to let go.
    const both = Promise.all([pcClosed(offerer), pcClosed(answerer)])
    for (const dc of channels) dc.close()
    offerer.close()
    answerer.close()
    await both
  }
}

function row (name: string, unit: string, samples: number[], valueOf: (s: number[]) => number, baselineSamples: number[]): Figure {
  return {
    name,
    unit,
    value: round(valueOf(samples), 2),
    samples: samples.map(v => round(v, 2)),
    baseline: BASELINE,
    baselineValue: round(valueOf(baselineSamples), 2),
    baselineSamples: baselineSamples.map(v => round(v, 2))
  }
}

const slow = (samples: number[]): number => samples.filter(ms => ms > SLOW_MS).length

export const benchmark: Benchmark = {
  name: 'connect-floor',
  description: 'transport layer alone: two PeerSessions in one process against bare node-datachannel, created → channel open',
  run: async ctx => {
    const tries = ctx.runs ?? DEFAULT_TRIES
    for (let i = 0; i < WARMUP_TRIES; i++) {
      await sessionTry()
      await bareTry()
    }
    const session: number[] = []
    const bare: number[] = []
    for (let i = 0; i < tries; i++) {
      // alternate who goes first so drift over the run hits both alike
      if (i % 2 === 0) {
        session.push(await sessionTry())
        bare.push(await bareTry())
      } else {
        bare.push(await bareTry())
        session.push(await sessionTry())
      }
      if ((i + 1) % 10 === 0) ctx.log(`${i + 1}/${tries}: PeerSession ${median(session).toFixed(1)} ms, bare ${median(bare).toFixed(1)} ms`)
    }
    const what = `both created → '${LABEL}' open on both`
    return [
      row(`PeerSession pair: ${what}, median`, 'ms', session, median, bare),
      row(`PeerSession pair: ${what}, p95`, 'ms', session, p95, bare),
      row(`PeerSession pair: tries over ${SLOW_MS} ms (of ${tries})`, 'tries', session, slow, bare)
    ]
  }
}
