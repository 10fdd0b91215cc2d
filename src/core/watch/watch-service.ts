import type { Logger } from 'pino'
import type { MediaSignalMessage } from '../../signalling/signal-messages.ts'
import type { Startable } from '../../util/startable.ts'
import type { MediaRouter } from '../media-router/media-router.ts'
import type { SessionLink, SessionManager } from '../sessions/session-manager.ts'
import { SourceViewers } from './source-viewers.ts'
import type { Watches } from './watches.ts'

export interface WatchServiceInit {
  /** The daemon's one Watches: POST /v1/watch's and the media router's forwarded ones. */
  watches: Watches
  sessions: Pick<SessionManager, 'on' | 'off'>
  /** Peers' watches of our sources are consumers of its producers. */
  router: Pick<MediaRouter, 'describe' | 'consume'>
  logger: Logger
}

/** Both sides of watching: our watches of peers' sources, and peers' watches of ours. */
export interface WatchService extends Startable {
  readonly watches: Watches
  readonly viewers: SourceViewers
}

export function createWatchService (init: WatchServiceInit): WatchService {
  const log = init.logger
  const watches = init.watches
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
    viewers,
    async start () {
      running = true
      init.sessions.on('media', onMedia)
    },
    async stop () {
      if (!running) return
      running = false
      init.sessions.off('media', onMedia)
      // Before the sessions close: the peers hear `unwatch`, and file sinks get their EOS.
      await Promise.all([watches.close(), viewers.close()])
    }
  }
}
