import type { KeyFrameKind } from '../../media/keyframe-throttle.ts'
import type { MediaSources } from '../../media/media-sources.ts'
import { isControllable, type ControllableSource, type RunningSource } from '../../media/running-source.ts'
import type { ProducerOrigin, ProducerOutput } from './producer.ts'
import type { ProducerKind } from './router-info.ts'

export type SourceOriginMedia = Pick<MediaSources, 'acquire' | 'release' | 'list' | 'on' | 'off'>

/**
 * A source of this daemon (a configured GStreamer pipeline or a WHIP
 * publication) as a producer's origin. Each consumer is one hold on
 * MediaSources, which starts the source on the first and stops it on the
 * last (alwaysOn sources keep running). It follows a restart by a config
 * reload (same SSRC: the consumers see one stream) and ends the stream when
 * the source fails or goes away.
 */
export class SourceOrigin implements ProducerOrigin {
  readonly #media: SourceOriginMedia
  readonly #name: string
  readonly #output: ProducerOutput
  #source: RunningSource | undefined
  #closed = false

  constructor (media: SourceOriginMedia, name: string, output: ProducerOutput) {
    this.#media = media
    this.#name = name
    this.#output = output
    media.on('restarted', this.#onRestarted)
    media.on('removed', this.#onRemoved)
  }

  get kind (): ProducerKind {
    return this.#media.list().find(s => s.name === this.#name)?.published === true ? 'published' : 'source'
  }

  get source (): RunningSource | undefined { return this.#source }

  get controllable (): ControllableSource | undefined {
    return this.#source !== undefined && isControllable(this.#source) ? this.#source : undefined
  }

  async hold (): Promise<void> {
    const source = await this.#media.acquire(this.#name)
    if (!this.#closed) this.#follow(source)
  }

  async release (): Promise<void> {
    await this.#media.release(this.#name)
  }

  requestKeyFrame (kind: KeyFrameKind): void {
    this.#source?.requestKeyFrame(kind)
  }

  stats (): object | null {
    return this.#source?.stats() ?? null
  }

  close (): void {
    this.#closed = true
    this.#media.off('restarted', this.#onRestarted)
    this.#media.off('removed', this.#onRemoved)
    this.#unhook()
  }

  #follow (source: RunningSource): void {
    if (source === this.#source) return
    this.#unhook()
    this.#source = source
    source.on('rtp', this.#output.write)
    source.on('failed', this.#onFailed)
  }

  #unhook (): void {
    this.#source?.off('rtp', this.#output.write)
    this.#source?.off('failed', this.#onFailed)
    this.#source = undefined
  }

  readonly #onFailed = (err: Error): void => {
    this.#output.end('source-failed', `${err.name}: ${err.message}`.slice(0, 256))
  }

  /** A config reload restarted the source (same SSRC): feed the consumers from the new one. */
  readonly #onRestarted = (name: string, source: RunningSource): void => {
    if (name !== this.#name || this.#source === undefined || this.#closed) return
    this.#follow(source)
    this.#output.requestKeyFrame('pli')
  }

  readonly #onRemoved = (name: string, reason: string): void => {
    if (name === this.#name) this.#output.end('source-removed', reason.slice(0, 256))
  }
}
