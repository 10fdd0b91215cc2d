import { randomBytes } from 'node:crypto'
import path from 'node:path'
import type { Logger } from 'pino'
import type { PeerInfo } from '../../signalling/types.ts'
import { BadRequestError, ConflictError, NotFoundError } from '../../util/errors.ts'
import type { Startable } from '../../util/startable.ts'
import type { ChannelHub } from '../sessions/channel-hub.ts'
import type { SessionManager } from '../sessions/session-manager.ts'
import type { RecordingInfo, RecordRequest, VideoInput } from './record-types.ts'
import type { Recording } from './recording.ts'

/** Recordings at once: each holds a file, taps and video subscriptions. */
export const MAX_RECORDINGS = 8

export interface RecordingsInit {
  localPeer: string
  peers: () => PeerInfo[]
  sessions: Pick<SessionManager, 'link'>
  hub: Pick<ChannelHub, 'onEndpoint'>
  video: VideoInput
  logger: Logger
}

/**
 * The daemon's MCAP recordings (`edgectl record`), by id. A recording is a
 * kind of watch: it is listed with them (GET /v1/watch) and `edgectl unwatch ID`
 * ends it. stop() (the daemon stopping) finalises every file.
 */
export class Recordings implements Startable {
  readonly #init: RecordingsInit
  readonly #recordings = new Map<string, Recording>()
  /** Files being written or starting: two recordings into one file would corrupt it. */
  readonly #files = new Set<string>()
  #closed = false

  constructor (init: RecordingsInit) {
    this.#init = init
  }

  async start (): Promise<void> {
    this.#closed = false
  }

  /** Finalise every recording (before the watches and sessions close). */
  async stop (): Promise<void> {
    this.#closed = true
    const all = [...this.#recordings.values()]
    this.#recordings.clear()
    await Promise.all(all.map(async r => { await r.stop() }))
    this.#files.clear()
  }

  list (): RecordingInfo[] {
    return [...this.#recordings.values()].map(r => r.info())
  }

  has (id: string): boolean {
    return this.#recordings.has(id)
  }

  get (id: string): RecordingInfo {
    return this.#find(id).info()
  }

  /** Start recording; resolves once the file is created (video joins as its feeds start). */
  async create (request: RecordRequest): Promise<RecordingInfo> {
    // The MCAP writer and the Foxglove schemas load with the first recording,
    // not at every start. Before the checks: nothing awaits between them and #files.add.
    const { Recording } = await import('./recording.ts')
    const { peer } = request
    if (this.#closed) throw new ConflictError('edged is stopping')
    if (peer === this.#init.localPeer) throw new ConflictError('cannot record this daemon with itself: name a peer')
    const file = this.#checkFile(request.out)
    const info = this.#init.peers().find(p => p.peerId === peer)
    if (info === undefined && this.#init.sessions.link(peer) === undefined) throw new NotFoundError(`no peer ${peer} in the swarm`)
    const h264 = info?.sources.filter(s => s.kind === 'video' && s.codec.toLowerCase() === 'h264').map(s => s.name)
    for (const source of request.sources ?? []) {
      const known = info?.sources.find(s => s.name === source)
      if (info !== undefined && known === undefined) throw new NotFoundError(`peer ${peer} has no source named ${source}`)
      if (known !== undefined && h264?.includes(source) !== true) throw new ConflictError(`source ${source} of ${peer} is ${known.kind} ${known.codec}: recordings take H.264 video`)
    }
    if (this.#recordings.size >= MAX_RECORDINGS) throw new ConflictError(`edged records at most ${MAX_RECORDINGS} at once: stop one first (edgectl unwatch ID)`)
    if (this.#files.has(file)) throw new ConflictError(`${file} is being recorded already`)
    const recording = new Recording({
      id: randomBytes(12).toString('base64url'),
      peer,
      sources: [...new Set(request.sources ?? h264 ?? [])],
      ...(request.channels === undefined ? {} : { channels: [...new Set(request.channels)] }),
      file,
      hub: this.#init.hub,
      video: this.#init.video,
      logger: this.#init.logger
    })
    this.#files.add(file)
    try {
      await recording.start()
    } catch (err) {
      this.#files.delete(file)
      await recording.stop()
      throw err
    }
    if (this.#closed) {
      // The daemon began stopping while the file was made: finalise it now.
      this.#files.delete(file)
      await recording.stop()
      throw new ConflictError('edged is stopping')
    }
    this.#recordings.set(recording.id, recording)
    return recording.info()
  }

  /** Stop a recording and finalise its file. */
  async delete (id: string): Promise<RecordingInfo> {
    const recording = this.#find(id)
    this.#recordings.delete(id)
    await recording.stop()
    this.#files.delete(recording.file)
    return recording.info()
  }

  #find (id: string): Recording {
    const recording = this.#recordings.get(id)
    if (recording === undefined) throw new NotFoundError(`no recording ${id}`)
    return recording
  }

  /** The file edged will create: an absolute path ending in .mcap (edgectl makes a relative one absolute). */
  #checkFile (out: string): string {
    if (!path.isAbsolute(out)) throw new BadRequestError(`out: ${out} is not an absolute path`)
    if (path.extname(out).toLowerCase() !== '.mcap') throw new BadRequestError(`out: ${out} must end in .mcap`)
    return path.normalize(out)
  }
}
