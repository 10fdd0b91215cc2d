import { PeerConnection, type DataChannel, type RtcConfig } from 'node-datachannel'
import type { Logger } from 'pino'
import { toRtcIceServer } from '../transport/ice-servers.ts'
import { checkSdp } from '../transport/signal-limits.ts'
import { RtcRecvTrack, RtcSendTrack, trackDescription } from '../transport/track.ts'
import type { TrackInit } from '../transport/track-types.ts'
import type { IceServerConfig, SessionState } from '../transport/types.ts'
import { BadSdpError, TimeoutError } from '../util/errors.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'

/** A browser must connect this long after its answer. */
export const BROWSER_CONNECT_TIMEOUT_MS = 30_000
/** Candidates are gathered into the answer (WHEP/WHIP without trickle): at most this long. */
export const GATHER_TIMEOUT_MS = 5_000

export interface BrowserRtcConfig {
  iceServers?: IceServerConfig[]
  bindAddress?: string
  portRange?: { min: number, max: number }
  mtu: number
}

export interface BrowserSessionInit {
  id: string
  /** The client's SDP offer (WHEP/WHIP POST body). */
  offer: string
  /** Tracks we send (WHEP), each on the mid of an offered section. */
  send?: TrackInit[]
  /** Tracks we receive (WHIP), each on the mid of an offered section. */
  recv?: TrackInit[]
  rtc: BrowserRtcConfig
  /** Called synchronously for each data channel the client opens: attach onMessage at once (later messages are lost). */
  onChannel?: (dc: DataChannel) => void
  connectTimeoutMs?: number
  logger: Logger
}

export interface BrowserSessionEvents {
  state: [SessionState]
  close: []
}

/**
 * One WHEP/WHIP client: a PeerConnection on which edged answers the client's
 * offer. Our tracks are added on the offered mids before the offer is applied,
 * so libdatachannel answers with them; the answer carries every candidate.
 */
export class BrowserSession extends TypedEmitter<BrowserSessionEvents> {
  readonly id: string
  readonly sendTracks: RtcSendTrack[] = []
  readonly recvTracks: RtcRecvTrack[] = []
  readonly createdAt = new Date()
  connectedAt: Date | null = null
  readonly #pc: PeerConnection
  readonly #log: Logger
  #state: SessionState = 'connecting'
  #closed = false
  #timer: NodeJS.Timeout | undefined
  readonly #offer: string

  constructor (init: BrowserSessionInit) {
    super()
    this.id = init.id
    this.#log = init.logger.child({ browser: init.id })
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'browser session listener threw') }
    checkSdpOrBad(init.offer)
    this.#offer = init.offer
    const config: RtcConfig = {
      iceServers: (init.rtc.iceServers ?? []).map(toRtcIceServer),
      mtu: init.rtc.mtu,
      enableIceUdpMux: false,
      enableIceTcp: false,
      forceMediaTransport: true
    }
    if (init.rtc.bindAddress !== undefined) config.bindAddress = init.rtc.bindAddress
    if (init.rtc.portRange !== undefined) { config.portRangeBegin = init.rtc.portRange.min; config.portRangeEnd = init.rtc.portRange.max }
    this.#pc = new PeerConnection(`browser-${init.id}`, config)
    this.#pc.onStateChange(state => { this.#guard(() => { this.#onState(state) }) })
    this.#pc.onDataChannel(dc => { this.#guard(() => { init.onChannel === undefined ? dc.close() : init.onChannel(dc) }) })
    // Sections we did not take (an audio section of a video source, say) get libdatachannel's own
    // reciprocal track; nothing is ever sent on it.
    this.#pc.onTrack(track => { this.#guard(() => { this.#log.debug({ mid: track.mid() }, 'unused offered section') }) })
    try {
      for (const t of init.send ?? []) this.sendTracks.push(new RtcSendTrack(this.#pc.addTrack(trackDescription(t, 'SendOnly')), t, this.#log))
      for (const t of init.recv ?? []) this.recvTracks.push(new RtcRecvTrack(this.#pc.addTrack(trackDescription(t, 'RecvOnly')), t, this.#log))
    } catch (err) {
      this.close()
      throw err
    }
    // A player whose every track has ended (its source went away) has nothing left to play.
    for (const t of this.sendTracks) t.onceClosed(() => { if (this.sendTracks.every(x => x.isClosed)) this.close() })
    const timeoutMs = init.connectTimeoutMs ?? BROWSER_CONNECT_TIMEOUT_MS
    this.#timer = setTimeout(() => {
      this.#log.info({ timeoutMs }, 'browser did not connect in time')
      this.close()
    }, timeoutMs)
  }

  get state (): SessionState { return this.#state }
  get isClosed (): boolean { return this.#closed }

  /** Apply the offer and resolve to our answer, once ICE gathering is complete. */
  async answer (): Promise<string> {
    const gathered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new TimeoutError(`ICE gathering took over ${GATHER_TIMEOUT_MS} ms`)) }, GATHER_TIMEOUT_MS)
      this.#pc.onGatheringStateChange(state => {
        if (state === 'complete') { clearTimeout(timer); resolve() }
      })
    })
    try {
      this.#pc.setRemoteDescription(this.#offer, 'offer')
    } catch (err) {
      this.close()
      throw new BadSdpError(`offer rejected: ${(err as Error).message}`, { cause: err })
    }
    try {
      if (this.#pc.gatheringState() !== 'complete') await gathered
    } catch (err) {
      this.close()
      throw err
    }
    const local = this.#pc.localDescription()
    if (local === null || this.#closed) {
      this.close()
      throw new BadSdpError('no answer to this offer')
    }
    return local.sdp
  }

  stats (): { rttMs: number | null, bytesSent: number, bytesReceived: number } {
    if (this.#closed) return { rttMs: null, bytesSent: 0, bytesReceived: 0 }
    try {
      const rtt = this.#pc.rtt()
      return { rttMs: rtt >= 0 ? rtt : null, bytesSent: this.#pc.bytesSent(), bytesReceived: this.#pc.bytesReceived() }
    } catch {
      return { rttMs: null, bytesSent: 0, bytesReceived: 0 }
    }
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    for (const t of [...this.sendTracks, ...this.recvTracks]) t.closeWithConnection()
    try {
      this.#pc.close()
    } catch (err) {
      this.#log.debug({ err }, 'closing browser peer connection')
    }
    this.#setState('closed')
    this.emit('close')
  }

  #onState (native: string): void {
    if (this.#closed) return
    this.#log.debug({ native }, 'browser peer connection state')
    if (native === 'connected') {
      this.connectedAt ??= new Date()
      clearTimeout(this.#timer)
      this.#setState('connected')
    }
    if (native === 'failed' || native === 'disconnected' || native === 'closed') this.close()
  }

  #setState (state: SessionState): void {
    if (state === this.#state) return
    this.#state = state
    this.emit('state', state)
  }

  /** An exception escaping a node-datachannel callback aborts the process. */
  #guard (fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.#log.error({ err }, 'browser session callback failed')
    }
  }
}

function checkSdpOrBad (sdp: string): void {
  try {
    checkSdp(sdp, 'offer', { dataChannels: false })
  } catch (err) {
    throw new BadSdpError((err as Error).message, { cause: err })
  }
}
