import type { Logger } from 'pino'
import type { MediaSources } from '../../media/media-sources.ts'
import type { PeerInfo } from '../../signalling/types.ts'
import type { Startable } from '../../util/startable.ts'
import type { SessionManager } from '../sessions/session-manager.ts'
import { LocalFeeds } from './local-feeds.ts'
import { RemoteFeeds } from './remote-feeds.ts'
import { VideoFeeds } from './video-feeds.ts'

export interface MediaFeedsInit {
  localPeer: string
  media: MediaSources
  sessions: Pick<SessionManager, 'link' | 'connect' | 'on' | 'off'>
  peers: () => PeerInfo[]
  logger: Logger
}

/**
 * The feeds every consumer inside the daemon shares (browsers over WHEP, the
 * Foxglove bridge, recordings): one encoder per local source and one watch per
 * peer's source however many of them play it. Stopped after its consumers.
 */
export class MediaFeeds implements Startable {
  readonly local: LocalFeeds
  readonly remote: RemoteFeeds
  readonly video: VideoFeeds
  #running = false

  constructor (init: MediaFeedsInit) {
    this.local = new LocalFeeds({ media: init.media, logger: init.logger })
    this.remote = new RemoteFeeds({ localPeer: init.localPeer, sessions: init.sessions, peers: init.peers, logger: init.logger })
    this.video = new VideoFeeds({ localPeer: init.localPeer, local: this.local, remote: this.remote, logger: init.logger })
  }

  async start (): Promise<void> {
    this.#running = true
  }

  async stop (): Promise<void> {
    if (!this.#running) return
    this.#running = false
    this.local.close()
    await this.remote.close()
  }
}
