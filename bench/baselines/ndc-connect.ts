/**
 * Connect baseline (the floor): two node-datachannel PeerConnections in this
 * one plain Node process, bound to 127.0.0.1, offer/answer/candidates handed
 * over directly (no network signalling, no libp2p). Driven by
 * bench/lib/json-lines.ts: `{"cmd":"try"}` makes both, times
 * createPeerConnection → the "control" DataChannel open on both sides, then
 * closes both and waits for them to report closed. With
 * `"dtlsServer":"answerer"` the answerer applies the offer rewritten as edged's
 * an answerer-as-DTLS-server rewrite would (an approach the transport tried and dropped);
 * otherwise libdatachannel's defaults decide the DTLS roles.
 */
import { PeerConnection, cleanup, type DataChannel, type DescriptionType } from 'node-datachannel'
import { say, serveCommands } from '../lib/stdio-commands.ts'

const TRY_TIMEOUT_MS = 15_000

/** The answerer answers setup:passive, so it is the DTLS server (a stall workaround the transport tried; it now orders candidates instead). */
const answerAsDtlsServer = (offerSdp: string): string => offerSdp.replace(/^a=setup:actpass(\r?)$/gm, 'a=setup:active$1')
const CONFIG = { iceServers: [], bindAddress: '127.0.0.1', enableIceUdpMux: false, enableIceTcp: false }

function closed (pc: PeerConnection): Promise<void> {
  return new Promise(resolve => {
    if (pc.state() === 'closed') { resolve(); return }
    pc.onStateChange(state => { if (state === 'closed') resolve() })
  })
}

/**
 * Descriptions and candidates for `to`. node-datachannel delivers a candidate
 * and its description through different native queues, so a candidate can come
 * first: it waits for the description (adding it earlier throws, and a throw in
 * a native callback aborts the process).
 */
function handOver (to: PeerConnection, rewrite: (sdp: string) => string, fail: (err: Error) => void): {
  description: (sdp: string, type: DescriptionType) => void
  candidate: (candidate: string, mid: string) => void
} {
  let described = false
  const early: Array<[string, string]> = []
  const guard = (fn: () => void): void => { try { fn() } catch (err) { fail(err as Error) } }
  return {
    description: (sdp, type) => {
      guard(() => {
        to.setRemoteDescription(rewrite(sdp), type)
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

async function connectOnce (answererIsDtlsServer: boolean): Promise<Record<string, unknown>> {
  const started = performance.now()
  const offerer = new PeerConnection('offerer', CONFIG)
  const answerer = new PeerConnection('answerer', CONFIG)
  const channels: DataChannel[] = []
  let connectedMs = 0
  /** ms since `started` at which each connect phase was first seen (the same names as the edged trace). */
  const phases: Record<string, number> = {}
  const mark = (phase: string): void => { phases[phase] ??= performance.now() - started }
  try {
    const opened = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`not open after ${TRY_TIMEOUT_MS} ms`)) }, TRY_TIMEOUT_MS)
      let open = 0
      const one = (): void => { if (++open === 2) { clearTimeout(timer); resolve() } }
      offerer.onStateChange(state => {
        if (state === 'connected' && connectedMs === 0) connectedMs = performance.now() - started
        if (state === 'connected') mark('connected at the offerer')
      })
      answerer.onStateChange(state => { if (state === 'connected') mark('connected at the answerer') })
      offerer.onIceStateChange(state => { if (state === 'connected') mark('ICE connected at the offerer') })
      answerer.onIceStateChange(state => { if (state === 'connected') mark('ICE connected at the answerer') })
      const toAnswerer = handOver(answerer, sdp => answererIsDtlsServer ? answerAsDtlsServer(sdp) : sdp, reject)
      const toOfferer = handOver(offerer, sdp => sdp, reject)
      offerer.onLocalDescription((sdp, type) => {
        mark('offer created')
        toAnswerer.description(sdp, type)
        mark('offer applied at the answerer')
      })
      offerer.onLocalCandidate(toAnswerer.candidate)
      answerer.onLocalDescription((sdp, type) => {
        mark('answer created')
        toOfferer.description(sdp, type)
        mark('answer applied at the offerer')
      })
      answerer.onLocalCandidate(toOfferer.candidate)
      // The answerer's channel is announced (DCEP OPEN arrived) in the open state.
      answerer.onDataChannel(dc => { channels.push(dc); mark('control open at the answerer'); one() })
      const dc = offerer.createDataChannel('control', { unordered: false })
      channels.push(dc)
      dc.onOpen(() => { mark('control open at the offerer'); one() })
    })
    await opened
    return { ms: performance.now() - started, connectedMs, phases }
  } finally {
    for (const dc of channels) dc.close()
    const both = Promise.all([closed(offerer), closed(answerer)])
    offerer.close()
    answerer.close()
    await both
  }
}

serveCommands(async command => {
  if (command.cmd === 'try') return await connectOnce(command.dtlsServer === 'answerer')
  throw new Error(`unknown command ${command.cmd}`)
}, () => { cleanup() })
say({ ready: true })
