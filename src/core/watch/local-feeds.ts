import type { Logger } from 'pino'
import type { RunningSource } from '../../media/running-source.ts'
import type { MediaSources } from '../../media/media-sources.ts'
import type { SendTrack } from '../../transport/track-types.ts'
import { NotFoundError } from '../../util/errors.ts'
import { TrackFanout } from './track-fanout.ts'

interface Feed {
  gst: RunningSource
  fanout: TrackFanout
  onRtp: (packet: Buffer) => void
}

export interface LocalFeedsInit {
  media: Pick<MediaSources, 'acquire' | 'release' | 'list' | 'on' | 'off'>
  logger: Logger
}

/**
 * This daemon's own sources for browsers and in-process consumers (a
 * SendTrack each): one encoder per source however many of them (and peers)
 * watch it, held through MediaSources while any track is fed from it.
 */
export class LocalFeeds {
  readonly #init: LocalFeedsInit
  readonly #feeds = new Map<string, Feed>()

  constructor (init: LocalFeedsInit) {
    this.#init = init
    init.media.on('restarted', this.#onRestarted)
    init.media.on('removed', this.#onRemoved)
  }

  /** Kind and codec of a local source; NotFoundError when there is none of that name. */
  describe (name: string): { kind: 'video' | 'audio', codec: SendTrack['init']['codec'] } {
    const info = this.#init.media.list().find(s => s.name === name)
    if (info === undefined) throw new NotFoundError(`no source named ${name} on this daemon`)
    return { kind: info.kind, codec: info.codec }
  }

  /** Start the source if needed (a failure throws); pair with feed() or release(). */
  async acquire (name: string): Promise<RunningSource> {
    return await this.#init.media.acquire(name)
  }

  async release (name: string): Promise<void> {
    await this.#init.media.release(name)
  }

  /** After acquire(): write the source's RTP into `track` until it closes, then release the hold. */
  feed (name: string, gst: RunningSource, track: SendTrack): void {
    if (track.isClosed) {
      void this.#init.media.release(name)
      return
    }
    const feed = this.#feed(name, gst)
    feed.fanout.add(track, () => { void this.#left(name) })
  }

  close (): void {
    this.#init.media.off('restarted', this.#onRestarted)
    this.#init.media.off('removed', this.#onRemoved)
    for (const feed of this.#feeds.values()) this.#unhook(feed)
    this.#feeds.clear()
  }

  #feed (name: string, gst: RunningSource): Feed {
    const existing = this.#feeds.get(name)
    if (existing !== undefined && existing.gst === gst) return existing
    if (existing !== undefined) this.#unhook(existing)
    const fanout = existing?.fanout ?? new TrackFanout(kind => { this.#feeds.get(name)?.gst.requestKeyFrame(kind) })
    const feed: Feed = { gst, fanout, onRtp: packet => { fanout.write(packet) } }
    gst.on('rtp', feed.onRtp)
    this.#feeds.set(name, feed)
    return feed
  }

  #unhook (feed: Feed): void {
    feed.gst.off('rtp', feed.onRtp)
  }

  async #left (name: string): Promise<void> {
    const feed = this.#feeds.get(name)
    if (feed !== undefined && feed.fanout.size === 0) {
      this.#unhook(feed)
      feed.fanout.close()
      this.#feeds.delete(name)
    }
    await this.#init.media.release(name)
  }

  /** The source went away (its publisher left, a reload removed it): its browsers' tracks close, and their sessions. */
  readonly #onRemoved = (name: string): void => {
    const feed = this.#feeds.get(name)
    if (feed === undefined) return
    this.#unhook(feed)
    this.#feeds.delete(name)
    feed.fanout.end()
  }

  /** A config reload restarted a source (same SSRC): feed the browsers from the new one. */
  readonly #onRestarted = (name: string, gst: RunningSource): void => {
    if (this.#feeds.has(name)) this.#feed(name, gst).fanout.requestKeyFrame()
  }
}
