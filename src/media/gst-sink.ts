import type dgram from 'node:dgram'
import type { Logger } from 'pino'
import { NoDisplayError } from '../util/errors.ts'
import type { Startable } from '../util/startable.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { CODECS, type Codec, type MediaKind } from './codecs.ts'
import { elementNames, gstElements, missingElement, type GstElements } from './gst-elements.ts'
import { isRenderedBuffer, udpSrcPort } from './gst-output.ts'
import { GstProcess, PLAYING_REQUESTED_LINE, type GstProcessInit, type GstProcessState } from './gst-process.ts'
import { isRtcp } from '../rtp/rtp-header.ts'
import { RtpStats, type RtpStatsSnapshot } from './rtp-stats.ts'
import { buildSinkPipeline, FRAME_COUNTER, RTP_IN } from './sink-pipeline.ts'
import { formatSinkSpec, parseSinkSpec, type SinkSpec } from './sink-spec.ts'
import { bindLoopback, closeSocket, LOOPBACK } from './udp-socket.ts'

/** How often 'keyframe-needed' repeats while the decoder waits for one. */
export const KEYFRAME_REQUEST_INTERVAL_MS = 500
/** A stream's first key frame usually follows its first packets closely: wait this long before asking. */
export const FIRST_KEYFRAME_GRACE_MS = 200
/** Lost packets get this long to come back (NACK) before the decoder is given up on and a key frame asked for. */
export const LOSS_REPAIR_WINDOW_MS = 60
const FPS_WINDOW_MS = 1_000

export interface GstSinkInit {
  /** "count", "file:PATH", "rtp://HOST:PORT", "display", or parsed. */
  sink: string | SinkSpec
  codec: Codec
  /** The payload type the packets carry (as negotiated on the track). */
  payloadType?: number
  jitterLatencyMs?: number
  /** Supervision settings passed to GstProcess. */
  process?: Partial<Omit<GstProcessInit, 'label' | 'pipeline'>>
  elements?: GstElements
  env?: NodeJS.ProcessEnv
  logger?: Logger
}

export interface GstSinkEvents {
  /** The decoder needs a key frame (start, restart, loss): send PLI to the remote sender. */
  'keyframe-needed': []
  started: [pid: number]
  restart: [attempt: number]
  exit: [code: number | null, signal: NodeJS.Signals | null, stderrTail: string]
  failed: [err: Error]
}

export interface SinkStats extends RtpStatsSnapshot {
  sink: string
  kind: MediaKind
  codec: Codec
  state: GstProcessState
  pid: number | null
  /** Frames (audio: Opus frames) decoded by the count sink. */
  framesDecoded: number
  /** Decoded frames per second over the last second. */
  fps: number
  /** Packets handed to GStreamer (or to the rtp:// target). */
  forwarded: number
  /** Packets that came while GStreamer was not listening (starting, restarting). */
  discarded: number
  restarts: number
}

/**
 * A sink for one remote track: RTP comes in through write() (or UDP to
 * inputPort), is counted in Node (packets, loss, key frames, bit rate) and
 * forwarded to a supervised gst-launch that decodes, records or displays it.
 * rtp://HOST:PORT needs no GStreamer: Node forwards the packets there itself.
 */
export class GstSink extends TypedEmitter<GstSinkEvents> implements Startable {
  readonly spec: SinkSpec
  readonly codec: Codec
  readonly kind: MediaKind
  readonly payloadType: number
  readonly #init: GstSinkInit
  readonly #stats: RtpStats
  #socket: dgram.Socket | undefined
  #process: GstProcess | undefined
  #target: { host: string, port: number } | undefined
  #framesDecoded = 0
  #decodedAt: number[] = []
  #forwarded = 0
  #discarded = 0
  #restarts = 0
  #needKeyFrame = true
  #lossAt: number | undefined
  #lastKeyFrameRequest = 0
  #lostSeen = 0
  #firstPacketAt: number | undefined
  #stopping: Promise<void> | undefined

  constructor (init: GstSinkInit) {
    super()
    this.#init = init
    this.spec = typeof init.sink === 'string' ? parseSinkSpec(init.sink) : init.sink
    this.codec = init.codec
    this.kind = CODECS[init.codec].kind
    this.payloadType = init.payloadType ?? CODECS[init.codec].defaultPayloadType
    this.#stats = new RtpStats(init.codec)
  }

  /** The Node socket's port: sending RTP here is the same as write(). */
  get inputPort (): number | undefined { return this.#socket?.address().port }
  /** Where GStreamer listens (changes when it restarts). */
  get gstPort (): number | undefined { return this.spec.kind === 'rtp' ? undefined : this.#target?.port }
  get pid (): number | undefined { return this.#process?.pid }

  async start (): Promise<void> {
    if (this.#socket !== undefined) return
    this.#stopping = undefined
    const spec = this.spec
    if (spec.kind === 'display' && this.kind === 'video' && !hasDisplay(this.#init.env ?? process.env)) {
      throw new NoDisplayError('the display sink needs a display (DISPLAY or WAYLAND_DISPLAY); use count, file: or rtp:// instead')
    }
    const socket = await bindLoopback()
    this.#socket = socket
    socket.on('message', packet => this.write(packet))
    if (spec.kind === 'rtp') {
      this.#target = { host: spec.host, port: spec.port }
      return
    }
    try {
      await this.#startPipeline(spec)
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  async #startPipeline (spec: Exclude<SinkSpec, { kind: 'rtp' }>): Promise<void> {
    const elements = this.#init.elements ?? gstElements
    const info = CODECS[this.codec]
    let decoder: string | undefined
    if (spec.kind !== 'file') {
      decoder = await elements.first(info.decoders)
      if (decoder === undefined) throw missingElement(info.decoders[0])
    }
    const description = buildSinkPipeline({ spec, codec: this.codec, payloadType: this.payloadType, decoder, jitterLatencyMs: this.#init.jitterLatencyMs })
    await elements.require(elementNames(description))
    const proc = new GstProcess({
      logger: this.#init.logger,
      env: this.#init.env,
      ...this.#init.process,
      label: `sink ${formatSinkSpec(spec)}`,
      pipeline: description,
      // autovideosink/autoaudiosink wait for a first frame before PLAYING
      ...(spec.kind === 'display' ? { readyLine: PLAYING_REQUESTED_LINE } : {})
    })
    this.#process = proc
    proc.on('line', line => this.#onLine(line))
    proc.on('started', pid => {
      this.#needKeyFrame = true
      this.emit('started', pid)
    })
    proc.on('exit', (code, signal, tail) => {
      this.#target = undefined
      this.emit('exit', code, signal, tail)
    })
    proc.on('restart', attempt => {
      this.#restarts++
      this.emit('restart', attempt)
    })
    proc.on('failed', err => this.emit('failed', err))
    await proc.start()
  }

  /** One RTP packet from the track (RTCP is ignored): forwarded first, counted after. */
  write (packet: Uint8Array): void {
    if (isRtcp(packet)) return
    const target = this.#target
    if (this.#socket === undefined || target === undefined) {
      this.#discarded++
    } else {
      this.#socket.send(packet, target.port, target.host)
      this.#forwarded++
    }
    const key = this.#stats.add(packet)
    if (this.kind === 'video') this.#keyFrameBookkeeping(key)
  }

  async stop (): Promise<void> {
    this.#stopping ??= (async () => {
      // SIGINT first: gst-launch -e sends EOS and the muxer finalises the file
      await this.#process?.stop()
      await closeSocket(this.#socket)
      this.#process = undefined
      this.#socket = undefined
      this.#target = undefined
    })()
    await this.#stopping
  }

  stats (): SinkStats {
    return {
      ...this.#stats.snapshot(),
      sink: formatSinkSpec(this.spec),
      kind: this.kind,
      codec: this.codec,
      state: this.spec.kind === 'rtp' ? (this.#socket !== undefined ? 'running' : 'stopped') : this.#process?.state ?? 'stopped',
      pid: this.#process?.pid ?? null,
      framesDecoded: this.#framesDecoded,
      fps: this.#fps(),
      forwarded: this.#forwarded,
      discarded: this.#discarded,
      restarts: this.#restarts
    }
  }

  #onLine (line: string): void {
    const port = udpSrcPort(line, RTP_IN)
    if (port !== undefined) {
      this.#target = { host: LOOPBACK, port }
      return
    }
    if (isRenderedBuffer(line, FRAME_COUNTER)) {
      this.#framesDecoded++
      this.#decodedAt.push(Date.now())
      if (this.#decodedAt.length > 1_000) this.#decodedAt.splice(0, 500)
    }
  }

  #fps (): number {
    const since = Date.now() - FPS_WINDOW_MS
    return this.#decodedAt.filter(t => t > since).length
  }

  #keyFrameBookkeeping (key: boolean): void {
    if (key) {
      this.#needKeyFrame = false
      return
    }
    const lost = this.#stats.lost
    const now = Date.now()
    // A gap may still be repaired (NACK): ask for a key frame only if it outlasts the repair window.
    if (lost > this.#lostSeen) {
      this.#lossAt ??= now
      if (now - this.#lossAt >= LOSS_REPAIR_WINDOW_MS) {
        this.#lostSeen = lost
        this.#lossAt = undefined
        this.#needKeyFrame = true
      }
    } else {
      this.#lossAt = undefined
    }
    this.#firstPacketAt ??= now
    if (now - this.#firstPacketAt < FIRST_KEYFRAME_GRACE_MS && lost === 0) return
    if (this.#needKeyFrame && now - this.#lastKeyFrameRequest >= KEYFRAME_REQUEST_INTERVAL_MS) {
      this.#lastKeyFrameRequest = now
      this.emit('keyframe-needed')
    }
  }
}

function hasDisplay (env: NodeJS.ProcessEnv): boolean {
  return (env.DISPLAY ?? '') !== '' || (env.WAYLAND_DISPLAY ?? '') !== ''
}
