import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { DaemonApi } from '../daemon-api.ts'
import type { WatchesResponse } from '../../core/watch/watch-types.ts'
import { parseBody } from './sessions.ts'

export const PEER_ID = z.string().regex(/^(12D3Koo|Qm)[1-9A-HJ-NP-Za-km-z]{40,60}$/, 'must be a libp2p peer id')

const watchBody = z.strictObject({
  peer: PEER_ID,
  source: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'source names are 1-64 letters, digits, . _ -'),
  sink: z.string().min(1).max(4096).default('count')
})

export function watchRoutes (app: FastifyInstance, api: DaemonApi): void {
  app.get('/v1/watch', async (): Promise<WatchesResponse> => ({ watches: api.watch.sinks.list(), recordings: api.recordings.list() }))
  app.get<{ Params: { id: string } }>('/v1/watch/:id', async (req) => {
    const id = req.params.id
    return api.recordings.has(id) ? api.recordings.get(id) : api.watch.sinks.get(id)
  })
  app.post('/v1/watch', async (req, reply) => {
    const { peer, source, sink } = parseBody(watchBody, req.body)
    return await reply.status(201).send(await api.watch.sinks.create(peer, source, sink))
  })
  // A recording is a kind of watch: `edgectl unwatch ID` stops it and finalises its file.
  app.delete<{ Params: { id: string } }>('/v1/watch/:id', async (req, reply) => {
    const id = req.params.id
    if (api.recordings.has(id)) await api.recordings.delete(id)
    else await api.watch.sinks.delete(id)
    return await reply.status(204).send()
  })
}
