import fs from 'node:fs'
import type { PeerInfo } from '../signalling/types.ts'
import type { SourceInfo } from '../media/media-sources.ts'
import type { WatchInfo } from '../core/watch/watch-types.ts'
import type { BrowserService } from './browser-service.ts'
import type { WebRoutes } from './web-server.ts'

const VIEWER_HTML = fs.readFileSync(new URL('./viewer.html', import.meta.url), 'utf8')

export interface ViewerRoutesInit {
  self: () => { peerId: string, name: string }
  sources: () => SourceInfo[]
  peers: () => PeerInfo[]
  browsers: BrowserService
  /** The watches of peers' sources this daemon forwards (to browsers, Foxglove clients, recordings). */
  forwards: () => WatchInfo[]
}

/**
 * The viewer: GET / is the page (public: it holds no data; it asks for the
 * token, if the listener has one, and sends it as a bearer on every call),
 * GET /api/swarm what it lists, GET /api/browsers the browser sessions.
 */
export function viewerRoutes (init: ViewerRoutesInit): WebRoutes {
  return (app) => {
    app.get('/', { config: { public: true } }, async (_req, reply) =>
      await reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(VIEWER_HTML))
    app.get('/api/swarm', async () => {
      const self = init.self()
      return {
        self: { ...self, sources: init.sources().map(s => ({ name: s.name, kind: s.kind, codec: s.codec })) },
        peers: init.peers().map(p => ({ peerId: p.peerId, name: p.name, sources: p.sources }))
      }
    })
    app.get('/api/browsers', async () => ({ sessions: init.browsers.list(), forwards: init.forwards() }))
  }
}
