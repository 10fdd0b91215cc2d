import { randomInt } from 'node:crypto'
import type dgram from 'node:dgram'
import type { Logger } from 'pino'
import { PipelineError, PipelineStartTimeoutError } from '../util/errors.ts'
import type { Startable } from '../util/startable.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { CODECS, type Codec, type MediaKind } from './codecs.ts'
import { elementNames, gstElements, missingElementIn, type GstElements } from './gst-elements.ts'
import { udpSrcPort } from './gst-output.ts'
import { DEFAULT_START_TIMEOUT_MS, GstProcess, type GstProcessInit, type GstProcessState } from './gst-process.ts'
import { buildFir, buildPli } from '../rtp/rtcp-feedback.ts'
import { isRtcp, parseRtpHeader } from '../rtp/rtp-header.ts'
import { RtpStats, type RtpStatsSnapshot } from './rtp-stats.ts'
import { sourceStats, type RunningSource } from './running-source.ts'
import { buildSourcePipeline, RTCP_IN, sourceSettings, type SourceConfig, type SourcePipelineOptions } from './source-pipeline.ts'
import { bindLoopback, closeSocket, LOOPBACK } from './udp-socket.ts'

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

export interface SourceStats extends RtpStatsSnapshot {
  name: string
  kind: MediaKind
  codec: Codec
  encoder: string
  ssrc: number
  payloadType: number
  state: GstProcessState
  pid: number | null
  restarts: number
  keyFrameRequests: number
  /** The daemon's socket the pipeline sends its RTP to (benchmarks inject timed packets there). */
  rtpPort: number | null
}

/**
 * A running local source: a supervised gst-launch that encodes and payloads
 * to RTP on a Node socket, re-emitted as 'rtp' events. The same SSRC and a
 * continuous sequence survive pipeline restarts, so viewers see one stream.
 * requestKeyFrame() sends an RTCP PLI to the pipeline's rtpbin.
 */
export class GstSource extends TypedEmitter<GstSourceEvents> implements Startable, RunningSource {
  readonly name: string
  readonly kind: MediaKind
  readonly codec: Codec
  readonly ssrc: number
  readonly payloadType: number
  readonly clockRate: number
  readonly encoder: string
  readonly #init: GstSourceInit
  readonly #options: Omit<SourcePipelineOptions, 'rtpPort'>
  readonly #feedbackSsrc = randomInt(1, 0xffffffff)
  #socket: dgram.Socket | undefined
  #process: GstProcess | undefined
  #stats: RtpStats
  #rtcpPort: number | undefined
  #last: { seq: number, ts: number, at: number } | undefined
  #restarts = 0
  #keyFrameRequests = 0
  #firSequence = 0
  #stopping: Promise<void> | undefined

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
    this.#options = { ...settings, encoder: init.encoder, mtu: init.mtu, payloadType: this.payloadType, ssrc: this.ssrc }
    this.#stats = new RtpStats(this.codec)
  }

  /** Where gst-launch sends RTP (Node's socket). */
  get rtpPort (): number | undefined { return this.#socket?.address().port }
  /** Where the pipeline's rtpbin takes RTCP (PLI/FIR); changes when it restarts. */
  get rtcpPort (): number | undefined { return this.#rtcpPort }
  get pid (): number | undefined { return this.#process?.pid }

  async start (): Promise<void> {
    if (this.#process !== undefined) return
    this.#stopping = undefined
    const elements = this.#init.elements ?? gstElements
    await elements.require(elementNames(buildSourcePipeline({ ...this.#options, rtpPort: 1 })))
    const socket = await bindLoopback()
    this.#socket = socket
    socket.on('message', packet => this.#onPacket(packet))
    const rtpPort = socket.address().port
    const proc = new GstProcess({
      logger: this.#init.logger,
      ...this.#init.process,
      label: `source ${this.name}`,
      pipeline: () => buildSourcePipeline({ ...this.#options, rtpPort, ...this.#continuation() })
    })
    this.#process = proc
    proc.on('line', line => { this.#rtcpPort = udpSrcPort(line, RTCP_IN) ?? this.#rtcpPort })
    proc.on('started', pid => this.emit('started', pid))
    proc.on('exit', (code, signal, tail) => {
      this.#rtcpPort = undefined
      this.emit('exit', code, signal, tail)
    })
    proc.on('restart', attempt => {
      this.#restarts++
      this.emit('restart', attempt)
    })
    proc.on('failed', err => this.emit('failed', err))
    try {
      await proc.start()
      await this.#firstPacket(proc)
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  async stop (): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#process?.stop()
      await closeSocket(this.#socket)
      this.#process = undefined
      this.#socket = undefined
      this.#rtcpPort = undefined
    })()
    await this.#stopping
  }

  /**
   * Ask the encoder for a key frame now (a viewer's PLI/FIR, a new viewer).
   * False when there is no video pipeline running to ask.
   */
  requestKeyFrame (kind: 'pli' | 'fir' = 'pli'): boolean {
    if (this.kind !== 'video') return false
    const packet = kind === 'pli' ? buildPli(this.#feedbackSsrc, this.ssrc) : buildFir(this.#feedbackSsrc, this.ssrc, this.#firSequence++)
    if (!this.sendRtcp(packet)) return false
    this.#keyFrameRequests++
    return true
  }

  /** Hand RTCP from a viewer (RR, PLI, FIR, NACK…) to the pipeline's rtpbin. */
  sendRtcp (packet: Uint8Array): boolean {
    if (this.#socket === undefined || this.#rtcpPort === undefined) return false
    this.#socket.send(packet, this.#rtcpPort, LOOPBACK)
    return true
  }

  stats (): SourceStats {
    return sourceStats(this, this.#stats.snapshot(), {
      state: this.#process?.state ?? 'stopped',
      pid: this.#process?.pid ?? null,
      restarts: this.#restarts,
      keyFrameRequests: this.#keyFrameRequests,
      rtpPort: this.rtpPort ?? null
    })
  }

  #onPacket (packet: Buffer): void {
    if (isRtcp(packet)) return
    const header = parseRtpHeader(packet)
    if (header === undefined) return
    this.#last = { seq: header.sequenceNumber, ts: header.timestamp, at: performance.now() }
    const key = this.#stats.add(packet)
    this.emit('rtp', packet)
    if (key) this.emit('keyframe', header.timestamp)
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

  async #firstPacket (proc: GstProcess): Promise<void> {
    if (this.#stats.snapshot().packets > 0) return
    const timeoutMs = this.#init.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS
    let onRtp = (): void => {}
    let onExit = (_code: number | null, _signal: NodeJS.Signals | null, _tail: string): void => {}
    let timer: NodeJS.Timeout | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        onRtp = () => resolve()
        onExit = (code, signal, tail) => reject(missingElementIn(tail) ??
          new PipelineError(`source ${this.name}: gst-launch exited before its first packet`, tail, code, signal))
        timer = setTimeout(() => reject(new PipelineStartTimeoutError(`source ${this.name} (first RTP packet)`, timeoutMs, proc.stderrTail)), timeoutMs)
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
