import type { FastifyInstance } from 'fastify'
import type { DaemonApi } from '../daemon-api.ts'
import type { SourcesResponse } from '../api-types.ts'

export function sourceRoutes (app: FastifyInstance, api: DaemonApi): void {
  app.get('/v1/sources', async (): Promise<SourcesResponse> => ({
    local: api.media.list(),
    encoders: api.media.encoders(),
    remote: api.peers().flatMap(p => p.sources.map(s => ({ peer: p.peerId, peerName: p.name, name: s.name, kind: s.kind, codec: s.codec }))),
    viewers: api.watch.viewers.list(),
    producers: api.router.list()
  }))
}
