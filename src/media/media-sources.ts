import { isDeepStrictEqual } from 'node:util'
import type { Logger } from 'pino'
import { ConflictError, NotFoundError, PipelineNotRunningError } from '../util/errors.ts'
import type { Startable } from '../util/startable.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import type { Codec, MediaKind } from './codecs.ts'
import { chooseEncoder, probeEncoders, type EncoderChoice, type EncoderTable, type ProbeInit } from './encoder-probe.ts'
import { gstElements, type GstElements } from './gst-elements.ts'
import type { GstProcessInit } from './gst-process.ts'
import { GstSource } from './gst-source.ts'
import type { RunningSource, SourceStats } from './running-source.ts'
import { sourceSettings, type SourceConfig } from './source-pipeline.ts'

/** Sources a daemon can announce (presence-codec.ts caps its list at this). */
export const MAX_SOURCES = 64

export interface MediaSourcesInit {
  /** media.sources */
  sources: Record<string, SourceConfig>
  /** media.encoders */
  encoders?: Partial<Record<Codec, string>>
  /** rtc.mtu */
  mtu: number
  process?: Partial<Omit<GstProcessInit, 'label' | 'pipeline'>>
  elements?: GstElements
  verifyHardware?: ProbeInit['verifyHardware']
  logger?: Logger
}

/** One configured source as `edgectl sources` shows it. */
export interface SourceInfo {
  name: string
  kind: MediaKind
  codec: Codec
  /** The encoder it uses (or would use); null when none is installed. */
  encoder: string | null
  hardware: boolean
  alwaysOn: boolean
  /** Published by a WHIP client (not in the config): there while it publishes. */
  published: boolean
  running: boolean
  /** Holders of acquire() that have not released. */
  users: number
  /** Why it is not running, when its last start failed. */
  error: { name: string, message: string } | null
  stats: SourceStats | null
}

/** What POST /v1/sources/:name/control asks of a running source; what is left out stays as it is. */
export interface SourceControl {
  /** A new target bit rate, kbit/s. */
  bitrateKbps?: number
  width?: number
  height?: number
  fps?: number
  /** A key frame now. */
  keyFrame?: boolean
}

/** What a source holds after a control: its target and format (null where unknown), and whether a key frame was asked for. */
export interface SourceControlResult {
  name: string
  bitrateKbps: number | null
  width: number | null
  height: number | null
  fps: number | null
  keyFrame: boolean
}

export interface MediaSourcesEvents {
  /** A config reload changed a running source: holders should follow the new GstSource (same SSRC). */
  restarted: [name: string, source: RunningSource]
  /** A source went away (a config reload, its publisher left): holders should drop it (release() is then a no-op). */
  removed: [name: string, reason: string]
  /** The list of sources changed (a publisher came or went): presence should say so. */
  changed: []
}

/** A stream published into MediaSources (WHIP): it runs while its publisher does. */
export interface Publication {
  source: RunningSource
  /** Called when MediaSources drops it (a config source of the same name came, stop()). */
  onRemoved: (reason: string) => void
}

interface Entry {
  /** Undefined for a published source. */
  config?: SourceConfig
  published?: Publication
  users: number
  source?: GstSource
  starting?: Promise<GstSource>
  error?: Error
  /** Kept when a reload restarts the source, so viewers see one stream. */
  ssrc?: number
}

/**
 * The daemon's local sources: probes encoders at start, runs alwaysOn sources
 * from then on and the others while someone (a viewer's track) holds them.
 * A source that cannot start is reported (list(), logs), never fatal.
 */
export class MediaSources extends TypedEmitter<MediaSourcesEvents> implements Startable {
  readonly #init: MediaSourcesInit
  readonly #entries = new Map<string, Entry>()
  #table: EncoderTable | undefined

  constructor (init: MediaSourcesInit) {
    super()
    this.#init = init
    for (const [name, config] of Object.entries(init.sources)) this.#entries.set(name, { config, users: 0 })
  }

  async start (): Promise<void> {
    this.#table = await probeEncoders({ overrides: this.#init.encoders, elements: this.#init.elements, verifyHardware: this.#init.verifyHardware })
    this.#init.logger?.info({ encoders: Object.values(this.#table).map(c => `${c.codec}=${c.encoder ?? 'none'}`) }, 'encoders probed')
    await Promise.all([...this.#entries].filter(([, e]) => e.config?.alwaysOn === true).map(async ([name]) => {
      await this.#ensure(name).catch(() => {}) // reported by #ensure
    }))
  }

  async stop (): Promise<void> {
    for (const [name, entry] of [...this.#entries]) if (entry.published !== undefined) this.#unpublish(name, entry, 'this daemon is stopping')
    await Promise.all([...this.#entries.values()].map(async entry => {
      const source = entry.source ?? await entry.starting?.catch(() => undefined)
      entry.source = undefined
      entry.starting = undefined
      entry.users = 0
      await source?.stop()
    }))
  }

  /** The probed encoder per codec (after start). */
  encoders (): EncoderChoice[] {
    return this.#table === undefined ? [] : Object.values(this.#table)
  }

  list (): SourceInfo[] {
    return [...this.#entries].map(([name, entry]) => {
      if (entry.config === undefined) return this.#publishedInfo(name, entry)
      const settings = sourceSettings(entry.config)
      const choice = this.#table?.[settings.codec]
      const own = entry.config.encoder
      return {
        name,
        kind: settings.kind,
        codec: settings.codec,
        encoder: entry.source?.encoder ?? own ?? choice?.encoder ?? null,
        hardware: own === undefined && (choice?.hardware ?? false),
        alwaysOn: entry.config.alwaysOn === true,
        published: false,
        running: entry.source !== undefined,
        users: entry.users,
        error: entry.error === undefined ? null : { name: entry.error.name, message: entry.error.message },
        stats: entry.source?.stats() ?? null
      }
    })
  }

  /**
   * Add a source that something other than the config runs (a WHIP publisher):
   * viewers and presence see it until unpublish(). A ConflictError when a
   * source of that name exists.
   */
  publish (name: string, publication: Publication): void {
    this.checkPublishable([name])
    this.#entries.set(name, { published: publication, users: 0 })
    this.emit('changed')
  }

  /** A ConflictError unless `names` could be published now: none in use, room for all of them. */
  checkPublishable (names: string[]): void {
    if (this.#entries.size + names.length > MAX_SOURCES) throw new ConflictError(`this daemon has ${this.#entries.size} sources and presence carries at most ${MAX_SOURCES}: publish after one has gone`)
    const taken = names.find(n => this.#entries.has(n))
    if (taken !== undefined) throw new ConflictError(`a source named ${taken} exists on this daemon: publish under another name`)
  }

  /** The publisher of `name` left: holders drop it. A no-op when it is not that publication. */
  unpublish (name: string, source: RunningSource, reason: string): void {
    const entry = this.#entries.get(name)
    if (entry?.published?.source !== source) return
    this.#unpublish(name, entry, reason, false)
  }

  #unpublish (name: string, entry: Entry, reason: string, tellPublisher = true): void {
    this.#entries.delete(name)
    this.emit('removed', name, reason)
    this.emit('changed')
    if (tellPublisher) entry.published?.onRemoved(reason)
  }

  #publishedInfo (name: string, entry: Entry): SourceInfo {
    const source = (entry.published as Publication).source
    return {
      name,
      kind: source.kind,
      codec: source.codec,
      encoder: source.encoder,
      hardware: false,
      alwaysOn: false,
      published: true,
      running: true,
      users: entry.users,
      error: null,
      stats: source.stats()
    }
  }

  /** The running source `name`, started if needed; pair with release(). */
  async acquire (name: string): Promise<RunningSource> {
    const entry = this.#entry(name)
    if (entry.published !== undefined) {
      entry.users++
      return entry.published.source
    }
    entry.users++
    try {
      return await this.#ensure(name)
    } catch (err) {
      entry.users--
      throw err
    }
  }

  /**
   * Change a running source while it plays, with no restart: bit rate, then
   * format, then a key frame. NotFoundError for no such source,
   * PipelineNotRunningError (409) when nobody runs it now or it is a WHIP
   * publication (its publisher controls it; a key frame alone is asked of it),
   * BadRequestError for a value out of range, BitrateNotAdjustableError or
   * VideoFormatUnsupportedError for what its encoder or source cannot do.
   */
  async control (name: string, change: SourceControl): Promise<SourceControlResult> {
    const entry = this.#entry(name)
    const published = entry.published?.source
    const onlyKeyFrame = change.bitrateKbps === undefined && change.width === undefined && change.height === undefined && change.fps === undefined
    if (published !== undefined) {
      if (!onlyKeyFrame) throw new PipelineNotRunningError(`source ${name} is published by ${published.encoder}: its publisher sets its bit rate and format (a key frame may be asked for)`)
      return { name, bitrateKbps: null, width: null, height: null, fps: null, keyFrame: change.keyFrame === true && published.requestKeyFrame('pli') }
    }
    const source = entry.source
    if (source === undefined) throw new PipelineNotRunningError(`source ${name} is not running (it runs while watched, or with alwaysOn)`)
    if (change.bitrateKbps !== undefined) await source.setBitrate(change.bitrateKbps)
    let format: { width: number | undefined, height: number | undefined, fps: number } | undefined
    if (change.width !== undefined || change.height !== undefined || change.fps !== undefined) {
      format = await source.setVideoFormat({ width: change.width, height: change.height, fps: change.fps })
    }
    const keyFrame = change.keyFrame === true && source.requestKeyFrame('pli')
    return { name, bitrateKbps: source.bitrateKbps, width: format?.width ?? null, height: format?.height ?? null, fps: format?.fps ?? null, keyFrame }
  }

  /** Drop one hold; the last one stops a source that is not alwaysOn. */
  async release (name: string): Promise<void> {
    const entry = this.#entries.get(name)
    if (entry === undefined || entry.users === 0) return // removed by a reload
    entry.users--
    if (entry.config === undefined) return // published: it runs while its publisher does
    await entry.starting?.catch(() => {})
    if (entry.users > 0 || entry.config.alwaysOn === true || entry.source === undefined) return
    const source = entry.source
    entry.source = undefined
    await source.stop()
  }

  /**
   * Apply a new media.sources (config reload): removed sources stop, changed
   * ones that run restart with the new settings (keeping their SSRC), new
   * alwaysOn ones start. A source that fails to start is reported as at start.
   */
  async reconfigure (sources: Record<string, SourceConfig>): Promise<void> {
    const work: Array<Promise<void>> = []
    for (const [name, entry] of [...this.#entries]) {
      if (entry.published !== undefined) {
        // The config takes a name back from a publisher.
        if (Object.hasOwn(sources, name)) this.#unpublish(name, entry, `the config now has a source named ${name}`)
        continue
      }
      if (Object.hasOwn(sources, name)) continue
      this.#entries.delete(name)
      work.push(this.#halt(entry).then(() => { this.emit('removed', name, `source ${name} was removed from the config`) }))
    }
    for (const [name, config] of Object.entries(sources)) {
      const entry = this.#entries.get(name)
      if (entry === undefined) {
        this.#entries.set(name, { config, users: 0 })
        if (config.alwaysOn === true) work.push(this.#ensure(name).then(() => {}, () => {}))
        continue
      }
      if (isDeepStrictEqual(entry.config, config)) continue
      const wasRunning = entry.source !== undefined || entry.starting !== undefined
      entry.config = config
      entry.error = undefined
      work.push((async () => {
        const ssrc = await this.#halt(entry)
        if (!(wasRunning && entry.users > 0) && config.alwaysOn !== true) return
        entry.ssrc = ssrc
        const source = await this.#ensure(name)
        this.emit('restarted', name, source)
      })().catch(() => {}))
    }
    await Promise.all(work)
  }

  /** Stop an entry's source (running or starting); resolves to its SSRC, if it had one. */
  async #halt (entry: Entry): Promise<number | undefined> {
    const source = entry.source ?? await entry.starting?.catch(() => undefined)
    entry.source = undefined
    entry.starting = undefined
    await source?.stop()
    return source?.ssrc
  }

  #entry (name: string): Entry {
    const entry = this.#entries.get(name)
    if (entry === undefined) throw new NotFoundError(`no source named ${name}`)
    return entry
  }

  async #ensure (name: string): Promise<GstSource> {
    const entry = this.#entry(name)
    if (entry.source !== undefined) return entry.source
    entry.starting ??= this.#startSource(name, entry).finally(() => { entry.starting = undefined })
    return await entry.starting
  }

  async #startSource (name: string, entry: Entry): Promise<GstSource> {
    const logger = this.#init.logger?.child({ source: name })
    const config = entry.config as SourceConfig
    try {
      this.#table ??= await probeEncoders({ overrides: this.#init.encoders, elements: this.#init.elements, verifyHardware: this.#init.verifyHardware })
      const codec = sourceSettings(config).codec
      const encoder = await chooseEncoder(this.#table, codec, config.encoder, this.#init.elements ?? gstElements)
      const source = new GstSource({ name, source: config, ssrc: entry.ssrc, encoder, mtu: this.#init.mtu, process: this.#init.process, elements: this.#init.elements, logger })
      source.on('failed', err => {
        entry.error = err
        if (entry.source === source) entry.source = undefined
        void source.stop()
      })
      await source.start()
      entry.source = source
      entry.error = undefined
      return source
    } catch (err) {
      entry.error = err as Error
      logger?.error({ err: (err as Error).message }, 'source did not start')
      throw err
    }
  }
}
