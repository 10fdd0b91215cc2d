import type { Logger } from 'pino'
import type { MediaSignalMessage } from '../../signalling/signal-messages.ts'
import type { PeerInfo } from '../../signalling/types.ts'
import type { Startable } from '../../util/startable.ts'
import type { MediaRouter } from '../media-router/media-router.ts'
import type { SessionLink, SessionManager } from '../sessions/session-manager.ts'
import type { ForwardedStreams } from './forwarded-streams.ts'
import { SinkWatches } from './sink-watches.ts'
import { SourceViewers } from './source-viewers.ts'
import type { Watches } from './watches.ts'

export interface WatchServiceInit {
  localPeer: string
  /** The daemon's one Watches: every track received from a peer's source (the router's forwarded streams). */
  watches: Watches
  /** The forwarded streams those watches feed (POST /v1/watch's sinks are their consumers). */
  streams: Pick<ForwardedStreams, 'watchOf' | 'formatOf'>
  sessions: Pick<SessionManager, 'on' | 'off' | 'link'>
  peers: () => PeerInfo[]
  /** Peers' watches of our sources, and our sinks of theirs, are consumers of its producers. */
  router: Pick<MediaRouter, 'describe' | 'consume'>
  logger: Logger
}

/** Both sides of watching: our sinks of peers' sources (and the watches behind them), and peers' watches of ours. */
export interface WatchService extends Startable {
  readonly watches: Watches
  /** POST /v1/watch's. */
  readonly sinks: SinkWatches
  readonly viewers: SourceViewers
}

export function createWatchService (init: WatchServiceInit): WatchService {
  const log = init.logger
  const watches = init.watches
  const sinks = new SinkWatches({ localPeer: init.localPeer, router: init.router, streams: init.streams, sessions: init.sessions, peers: init.peers, logger: log })
  const viewers = new SourceViewers({ router: init.router, logger: log })
  let running = false

  const onMedia = (peer: string, message: MediaSignalMessage, link: SessionLink): void => {
    switch (message.type) {
      case 'watch':
        void viewers.watch(peer, message, link).catch((err: unknown) => { log.error({ err, peer }, 'serving a watch failed') })
        return
      case 'watching':
        watches.onMessage(peer, message, link)
        return
      case 'unwatch':
        // The same id cannot be both (ids are random), but the viewer's side is checked first.
        if (watches.has(peer, message.id)) watches.onMessage(peer, message, link)
        else void viewers.unwatch(peer, message.id)
    }
  }

  return {
    watches,
    sinks,
    viewers,
    async start () {
      running = true
      init.sessions.on('media', onMedia)
    },
    async stop () {
      if (!running) return
      running = false
      init.sessions.off('media', onMedia)
      // Before the sessions close: file sinks get their EOS, and the peers hear `unwatch`.
      await sinks.close()
      await Promise.all([watches.close(), viewers.close()])
    }
  }
}
