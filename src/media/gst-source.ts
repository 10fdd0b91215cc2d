import { randomInt } from 'node:crypto'
import type dgram from 'node:dgram'
import type { Logger } from 'pino'
import { isRtcp, parseRtpHeader } from '../rtp/rtp-header.ts'
import { BadRequestError, BitrateNotAdjustableError, PipelineError, PipelineNotRunningError, PipelineStartTimeoutError, VideoFormatUnsupportedError } from '../util/errors.ts'
import type { Startable } from '../util/startable.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { CODECS, type Codec, type MediaKind } from './codecs.ts'
import { bitrateControl, bitrateKbpsOf, bitrateSetting, encoderElement } from './encoder-bitrate.ts'
import { elementNames, gstElements, missingElementIn, type GstElements } from './gst-elements.ts'
import { DEFAULT_START_TIMEOUT_MS, type GstProcessInit } from './gst-process.ts'
import { PipelineHost } from './pipeline-host.ts'
import { RtpStats } from './rtp-stats.ts'
import { sourceStats, type AdaptiveRange, type ControllableSource, type ElementStats, type SourceStats, type VideoFormat, type VideoFormatChange } from './running-source.ts'
import { buildSourcePipeline, DEFAULT_MIN_VIDEO_BITRATE_KBPS, RTCP_IN, sourceSettings, type SourceConfig, type SourcePipelineOptions } from './source-pipeline.ts'
import { bindLoopback, closeSocket, LOOPBACK } from './udp-socket.ts'


/** Limits of setBitrate() and setVideoFormat(): what any encoder here takes. */
export const MIN_BITRATE_KBPS = 8
export const MAX_BITRATE_KBPS = 100_000
export const MAX_VIDEO_SIDE = 7680
export const MAX_FPS = 240
/** The element that sends RTP to the daemon (its bytes-served is the pipeline's own count). */
const RTP_SINK = 'udpsink'

export interface GstSourceInit {
  name: string
  source: SourceConfig
  /** From chooseEncoder(): an element name or "element prop=value …". */
  encoder: string
  /** rtc.mtu */
  mtu: number
  payloadType?: number
  /** Kept across restarts; random by default. */
  ssrc?: number
  /** Until the first RTP packet arrives. */
  startTimeoutMs?: number
  /** Supervision settings passed to GstProcess (restart back-off, stop timeouts…). */
  process?: Partial<Omit<GstProcessInit, 'label' | 'pipeline'>>
  elements?: GstElements
  logger?: Logger
}

export interface GstSourceEvents {
  /** One RTP packet from the encoder (payloaded to rtc.mtu): write it into the track. */
  rtp: [packet: Buffer]
  /** A key frame starts in the packet just emitted as 'rtp'. */
  keyframe: [rtpTimestamp: number]
  started: [pid: number]
  restart: [attempt: number]
  exit: [code: number | null, signal: NodeJS.Signals | null, stderrTail: string]
  failed: [err: Error]
}

/**
 * A running local source: a supervised pipeline (pipeline-host.py) that
 * encodes and payloads to RTP on a Node socket, re-emitted as 'rtp' events.
 * The same SSRC and a continuous sequence survive pipeline restarts, so
 * viewers see one stream. While it plays, its encoder takes a new bit rate,
 * its capsfilter a new resolution or frame rate, and key-frame requests go
 * straight to the encoder (GstForceKeyUnit); none of these restarts it.
 * Viewers' other RTCP goes to the pipeline's rtpbin (sendRtcp).
 */
export class GstSource extends TypedEmitter<GstSourceEvents> implements Startable, ControllableSource {
  readonly name: string
  readonly kind: MediaKind
  readonly codec: Codec
  readonly ssrc: number
  readonly payloadType: number
  readonly clockRate: number
  readonly encoder: string
  /** The encoder's element factory (commands name it). */
  readonly encoderElement: string
  readonly #init: GstSourceInit
  /** What the next (re)start builds: setBitrate()/setVideoFormat() update it, so a restart keeps them. */
  #options: Omit<SourcePipelineOptions, 'rtpPort'>
  #socket: dgram.Socket | undefined
  #host: PipelineHost | undefined
  #stats: RtpStats
  #rtcpPort: number | undefined
  #last: { seq: number, ts: number, at: number } | undefined
  #restarts = 0
  #keyFrameRequests = 0
  #stopping: Promise<void> | undefined
  readonly #adaptiveRange: AdaptiveRange | undefined

  constructor (init: GstSourceInit) {
    super()
    this.#init = init
    this.name = init.name
    const settings = sourceSettings(init.source)
    const info = CODECS[settings.codec]
    this.kind = settings.kind
    this.codec = settings.codec
    this.clockRate = info.clockRate
    this.payloadType = init.payloadType ?? info.defaultPayloadType
    this.ssrc = init.ssrc ?? randomInt(1, 0xffffffff)
    this.encoder = init.encoder
    this.encoderElement = encoderElement(init.encoder)
    this.#options = { ...settings, encoder: init.encoder, mtu: init.mtu, payloadType: this.payloadType, ssrc: this.ssrc }
    this.#stats = new RtpStats(this.codec)
    if (this.kind === 'video' && init.source.adaptive !== false && bitrateControl(this.encoderElement)?.live === true) {
      const maxKbps = settings.bitrateKbps
      const floorKbps = Math.min(init.source.minBitrate ?? DEFAULT_MIN_VIDEO_BITRATE_KBPS, maxKbps)
      this.#adaptiveRange = { minKbps: Math.min(MIN_BITRATE_KBPS, floorKbps), floorKbps, maxKbps }
    }
  }

  /** Where the pipeline sends RTP (Node's socket). */
  get rtpPort (): number | undefined { return this.#socket?.address().port }
  /** Where the pipeline's rtpbin takes RTCP; changes when it restarts. */
  get rtcpPort (): number | undefined { return this.#rtcpPort }
  get pid (): number | undefined { return this.#host?.pid }
  /** Where adaptation may take the bit rate (video with a live bit-rate property, unless `adaptive: false`). */
  get adaptiveRange (): AdaptiveRange | undefined { return this.#adaptiveRange }
  /** The target bit rate (kbit/s) the encoder was last given. */
  get bitrateKbps (): number { return this.#options.bitrateKbps }
  /** The format the encoder is fed now (configured, or the last setVideoFormat()); undefined for audio. */
  get videoFormat (): VideoFormat | undefined {
    return this.kind === 'video' ? { width: this.#options.width, height: this.#options.height, fps: this.#options.fps } : undefined
  }

  async start (): Promise<void> {
    if (this.#host !== undefined) return
    this.#stopping = undefined
    const elements = this.#init.elements ?? gstElements
    await elements.require(elementNames(buildSourcePipeline({ ...this.#options, rtpPort: 1 })))
    const socket = await bindLoopback()
    this.#socket = socket
    socket.on('message', packet => this.#onPacket(packet))
    const rtpPort = socket.address().port
    const host = new PipelineHost({
      logger: this.#init.logger,
      ...this.#init.process,
      label: `source ${this.name}`,
      count: [this.encoderElement],
      pipeline: () => buildSourcePipeline({ ...this.#options, rtpPort, ...this.#continuation() })
    })
    this.#host = host
    host.on('playing', ports => { this.#rtcpPort = ports[RTCP_IN] })
    host.on('started', pid => this.emit('started', pid))
    host.on('exit', (code, signal, tail) => {
      this.#rtcpPort = undefined
      this.emit('exit', code, signal, tail)
    })
    host.on('restart', attempt => {
      this.#restarts++
      this.emit('restart', attempt)
    })
    host.on('failed', err => this.emit('failed', err))
    try {
      await host.start()
      await this.#firstPacket(host)
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  async stop (): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#host?.stop()
      await closeSocket(this.#socket)
      this.#host = undefined
      this.#socket = undefined
      this.#rtcpPort = undefined
    })()
    await this.#stopping
  }

  /**
   * Ask the encoder for a key frame now (a viewer's PLI/FIR, a new viewer):
   * a GstForceKeyUnit event straight into it. False when there is no video
   * pipeline running to ask.
   */
  requestKeyFrame (_kind: 'pli' | 'fir' = 'pli'): boolean {
    const host = this.#host
    if (this.kind !== 'video' || host === undefined || host.state !== 'running') return false
    host.request({ cmd: 'keyframe', element: this.encoderElement }).catch((err: Error) => {
      this.#init.logger?.debug({ err: err.message }, 'key-frame request not taken')
    })
    this.#keyFrameRequests++
    return true
  }

  /** Hand RTCP from a viewer (RR, NACK…) to the pipeline's rtpbin. */
  sendRtcp (packet: Uint8Array): boolean {
    if (this.#socket === undefined || this.#rtcpPort === undefined) return false
    this.#socket.send(packet, this.#rtcpPort, LOOPBACK)
    return true
  }

  /** A new target bit rate for the running encoder (and for its restarts). */
  async setBitrate (kbps: number): Promise<void> {
    if (!Number.isFinite(kbps) || kbps < MIN_BITRATE_KBPS || kbps > MAX_BITRATE_KBPS) {
      throw new BadRequestError(`bit rate ${kbps} kbit/s for source ${this.name}: give ${MIN_BITRATE_KBPS}-${MAX_BITRATE_KBPS}`)
    }
    const control = bitrateControl(this.encoderElement)
    if (control === undefined) throw new BitrateNotAdjustableError(`source ${this.name}: the daemon does not know how to set the bit rate of ${this.encoderElement}`)
    if (!control.live) throw new BitrateNotAdjustableError(`source ${this.name}: ${this.encoderElement} takes its bit rate only when it starts`)
    const { property, value } = bitrateSetting(control, kbps)
    await this.#running().request({ cmd: 'set', element: this.encoderElement, property, value })
    this.#options = { ...this.#options, bitrateKbps: kbps }
  }

  /**
   * A new resolution and/or frame rate: the capsfilter before the encoder
   * gets new caps and the pipeline renegotiates (videoscale scales; the frame
   * rate is the source's own, so only what it can produce). The host refuses,
   * with VideoFormatUnsupportedError, what the source cannot produce.
   */
  async setVideoFormat (change: VideoFormatChange): Promise<VideoFormat> {
    if (this.kind !== 'video') throw new VideoFormatUnsupportedError(`source ${this.name} is ${this.kind}: it has no resolution or frame rate`)
    for (const [key, value, max] of [['width', change.width, MAX_VIDEO_SIDE], ['height', change.height, MAX_VIDEO_SIDE], ['fps', change.fps, MAX_FPS]] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > max)) throw new BadRequestError(`${key} ${value} for source ${this.name}: give a whole number 1-${max}`)
    }
    const next = {
      width: change.width ?? this.#options.width,
      height: change.height ?? this.#options.height,
      fps: change.fps ?? this.#options.fps
    }
    const fields = [
      ...(next.width !== undefined ? [`width=${next.width}`] : []),
      ...(next.height !== undefined ? [`height=${next.height}`] : []),
      `framerate=${next.fps}/1`
    ]
    await this.#running().request({ cmd: 'caps', before: this.encoderElement, caps: `video/x-raw,${fields.join(',')}` })
    this.#options = { ...this.#options, ...next }
    return next
  }

  /** What the pipeline's elements count now: encoder frames in and out, its target, the format, bytes sent. */
  async elementStats (): Promise<ElementStats> {
    const control = bitrateControl(this.encoderElement)
    const properties: Array<[string, string]> = [[RTP_SINK, 'bytes-served']]
    if (control !== undefined) properties.push([this.encoderElement, control.property])
    const result = await this.#running().request({ cmd: 'stats', properties, caps: [this.encoderElement] })
    const counters = result.counters[this.encoderElement] ?? { framesIn: 0, framesOut: 0, bytesOut: 0 }
    const caps = result.caps[this.encoderElement]
    const served = result.properties[`${RTP_SINK}.bytes-served`]
    return {
      encoder: {
        element: this.encoderElement,
        targetKbps: control === undefined ? null : bitrateKbpsOf(control, result.properties[`${this.encoderElement}.${control.property}`]),
        ...counters
      },
      format: caps?.width !== undefined && caps.height !== undefined && caps.fps !== undefined ? { width: caps.width, height: caps.height, fps: caps.fps } : null,
      sinkBytes: typeof served === 'number' ? served : 0
    }
  }

  stats (): SourceStats {
    return sourceStats(this, this.#stats.snapshot(), {
      state: this.#host?.state ?? 'stopped',
      pid: this.#host?.pid ?? null,
      restarts: this.#restarts,
      keyFrameRequests: this.#keyFrameRequests,
      rtpPort: this.rtpPort ?? null
    })
  }

  #running (): PipelineHost {
    if (this.#host === undefined) throw new PipelineNotRunningError(`source ${this.name} is not running`)
    return this.#host
  }

  #onPacket (packet: Buffer): void {
    if (isRtcp(packet)) return
    const header = parseRtpHeader(packet)
    if (header === undefined) return
    // The consumers first (their tracks send it from here), the figures after.
    this.emit('rtp', packet)
    this.#last = { seq: header.sequenceNumber, ts: header.timestamp, at: performance.now() }
    if (this.#stats.add(packet)) this.emit('keyframe', header.timestamp)
  }

  /** After a restart, carry on where the last pipeline stopped. */
  #continuation (): Pick<SourcePipelineOptions, 'seqnumOffset' | 'timestampOffset'> {
    if (this.#last === undefined) return {}
    const elapsed = (performance.now() - this.#last.at) / 1000
    return {
      seqnumOffset: (this.#last.seq + 1) & 0xffff,
      timestampOffset: (this.#last.ts + Math.round(elapsed * this.clockRate)) >>> 0
    }
  }

  async #firstPacket (host: PipelineHost): Promise<void> {
    if (this.#stats.snapshot().packets > 0) return
    const timeoutMs = this.#init.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS
    let onRtp = (): void => {}
    let onExit = (_code: number | null, _signal: NodeJS.Signals | null, _tail: string): void => {}
    let timer: NodeJS.Timeout | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        onRtp = () => resolve()
        onExit = (code, signal, tail) => reject(missingElementIn(tail) ??
          new PipelineError(`source ${this.name}: the pipeline exited before its first packet`, tail, code, signal))
        timer = setTimeout(() => reject(new PipelineStartTimeoutError(`source ${this.name} (first RTP packet)`, timeoutMs, host.stderrTail)), timeoutMs)
        this.once('rtp', onRtp)
        this.once('exit', onExit)
      })
    } finally {
      clearTimeout(timer)
      this.off('rtp', onRtp)
      this.off('exit', onExit)
    }
  }
}
