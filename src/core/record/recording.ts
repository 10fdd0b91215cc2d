import type { Logger } from 'pino'
import type { ChannelEndpoint, Payload } from '../sessions/channel-endpoint.ts'
import type { ChannelHub } from '../sessions/channel-hub.ts'
import { channelTopic } from './channel-topics.ts'
import { isJsonObject } from '../../util/json-object.ts'
import { McapFile, receiveTimeNs, type McapChannelSpec } from './mcap-file.ts'
import type { RecordedSourceInfo, RecordedUnit, RecordingInfo, RecordingState, VideoInput, VideoInputSubscription } from './record-types.ts'
import { VideoClock } from '../watch/video-clock.ts'
import { videoTopic } from './video-topic.ts'
import { compressedVideoMessage } from '../watch/compressed-video.ts'

/** A source's feed that ended (or did not start) is asked for again after this. */
export const VIDEO_RETRY_MS = 2_000

export interface RecordingInit {
  id: string
  peer: string
  /** H.264 video sources of the peer. */
  sources: string[]
  /** Channel labels; undefined: every channel with the peer. */
  channels?: string[]
  /** Absolute path of the new .mcap file. */
  file: string
  hub: Pick<ChannelHub, 'onEndpoint'>
  video: VideoInput
  logger: Logger
}

/** One source's video in the recording. */
interface VideoTrack {
  source: string
  sub: VideoInputSubscription | undefined
  retry: NodeJS.Timeout | undefined
  frames: number
  error: { name: string, message: string } | null
  clock: VideoClock
}

/**
 * One MCAP recording of a peer: its sources' video (foxglove.CompressedVideo,
 * one access unit a message, from the in-process video feed) and its data
 * channels' messages both ways (taps on the channel endpoints, which outlive
 * sessions: a recording goes on through a remade session, and takes no
 * message from the programs that listen), all on the daemon's receive clock.
 * stop() finalises the file.
 */
export class Recording {
  readonly id: string
  readonly peer: string
  readonly file: string
  readonly createdAt = new Date()
  readonly #init: RecordingInit
  readonly #log: Logger
  #mcap: McapFile | undefined
  readonly #videos: VideoTrack[]
  readonly #untaps: Array<() => void> = []
  #stopListening: () => void = () => {}
  /** MCAP channel specs by topic key: one object (and one schema buffer) per topic, not per message. */
  readonly #specs = new Map<string, McapChannelSpec>()
  #channelMessages = 0
  #state: RecordingState = 'recording'
  #error: { name: string, message: string } | null = null
  #stopping: Promise<void> | undefined

  constructor (init: RecordingInit) {
    this.#init = init
    this.id = init.id
    this.peer = init.peer
    this.file = init.file
    this.#log = init.logger.child({ recording: init.id, peer: init.peer })
    this.#videos = init.sources.map(source => ({ source, sub: undefined, retry: undefined, frames: 0, error: null, clock: new VideoClock() }))
  }

  /**
   * Create the file and start taking messages. The sources' feeds start in the
   * background (a source that cannot start now is asked for again: info() says why).
   */
  async start (): Promise<void> {
    const mcap = this.#mcap = await McapFile.create(this.file)
    mcap.on('failed', err => { this.#fail(err) })
    const labels = this.#init.channels
    this.#stopListening = this.#init.hub.onEndpoint(
      e => e.peer === this.peer && (labels === undefined || labels.includes(e.label)),
      e => { this.#tap(e) }
    )
    for (const video of this.#videos) void this.#subscribe(video)
    this.#log.info({ file: this.file, sources: this.#init.sources, channels: labels ?? 'all' }, 'recording')
  }

  /** Stop taking messages and finalise the file (index, summary, footer); idempotent. */
  async stop (): Promise<void> {
    this.#stopping ??= (async () => {
      this.#release()
      await this.#mcap?.close()
      const stats = this.#mcap?.stats
      this.#log.info({ file: this.file, messages: stats?.messages, bytes: stats?.bytes, dropped: stats?.dropped }, 'recording finalised')
    })()
    await this.#stopping
  }

  /** Stopping or failed: nothing more is taken or started. */
  get #done (): boolean {
    return this.#stopping !== undefined || this.#state === 'failed'
  }

  info (): RecordingInfo {
    const stats = this.#mcap?.stats ?? { messages: 0, bytes: 0, dropped: 0 }
    const sources: RecordedSourceInfo[] = this.#videos.map(v => ({ source: v.source, frames: v.frames, live: v.sub !== undefined, error: v.error }))
    return {
      id: this.id,
      peer: this.peer,
      file: this.file,
      state: this.#state,
      error: this.#error,
      createdAt: this.createdAt.toISOString(),
      sources,
      channels: this.#init.channels ?? null,
      stats: { ...stats, channelMessages: this.#channelMessages }
    }
  }

  #tap (endpoint: ChannelEndpoint): void {
    if (this.#done) return
    this.#log.debug({ channel: endpoint.label }, 'recording channel')
    this.#untaps.push(endpoint.tap((direction, data) => { this.#onChannelMessage(endpoint.label, direction, data) }))
  }

  #onChannelMessage (label: string, direction: 'received' | 'sent', data: Payload): void {
    const now = receiveTimeNs()
    const json = typeof data === 'string' && isJsonObject(data)
    const bytes = typeof data === 'string' ? Buffer.from(data) : data
    if (this.#mcap?.write(this.#spec(`${label}\n${direction}\n${json}`, () => channelTopic(label, direction, json)), bytes, now) === true) this.#channelMessages++
  }

  async #subscribe (video: VideoTrack): Promise<void> {
    video.retry = undefined
    if (this.#done) return
    let sub: VideoInputSubscription
    try {
      sub = await this.#init.video.subscribe(this.peer, video.source, unit => { this.#onUnit(video, unit) }, `recording ${this.id}`)
    } catch (err) {
      const error = { name: (err as Error).name, message: (err as Error).message }
      // Once a reason, not every VIDEO_RETRY_MS while a peer stays away.
      const again = video.error?.message === error.message
      video.error = error
      this.#log[again ? 'debug' : 'warn']({ source: video.source, err: error.message }, `video feed did not start: asking again every ${VIDEO_RETRY_MS} ms`)
      this.#retry(video)
      return
    }
    if (this.#done) { sub.close(); return }
    video.sub = sub
    video.error = null
    sub.once('end', () => {
      if (video.sub !== sub) return
      video.sub = undefined
      video.error = { name: 'FeedEndedError', message: `the feed of ${video.source} ended` }
      this.#log.info({ source: video.source }, `video feed ended: asking again in ${VIDEO_RETRY_MS} ms`)
      this.#retry(video)
    })
  }

  #retry (video: VideoTrack): void {
    if (this.#done || video.retry !== undefined) return
    video.retry = setTimeout(() => { void this.#subscribe(video) }, VIDEO_RETRY_MS)
  }

  #onUnit (video: VideoTrack, unit: RecordedUnit): void {
    const now = receiveTimeNs()
    const captured = video.clock.timestamp(unit.rtpTimestamp, now)
    const message = compressedVideoMessage(video.source, unit.data, captured)
    if (this.#mcap?.write(this.#spec(`video\n${video.source}`, () => videoTopic(video.source)), message, now, captured) === true) video.frames++
  }

  #spec (key: string, make: () => McapChannelSpec): McapChannelSpec {
    let spec = this.#specs.get(key)
    if (spec === undefined) {
      spec = make()
      this.#specs.set(key, spec)
    }
    return spec
  }

  /** Stop every tap, listener, feed and retry timer. */
  #release (): void {
    this.#stopListening()
    for (const untap of this.#untaps.splice(0)) untap()
    for (const video of this.#videos) {
      clearTimeout(video.retry)
      video.retry = undefined
      video.sub?.close()
      video.sub = undefined
    }
  }

  #fail (err: Error): void {
    if (this.#state === 'failed') return
    this.#state = 'failed'
    this.#error = { name: err.name, message: err.message }
    this.#log.error({ file: this.file, err: err.message }, 'recording failed')
    this.#release()
  }
}
