import type { FastifyInstance } from 'fastify'
import type { DaemonApi } from '../daemon-api.ts'
import type { PeersResponse } from '../api-types.ts'
import { NotFoundError } from '../../util/errors.ts'

export function peerRoutes (app: FastifyInstance, api: DaemonApi): void {
  app.get('/v1/peers', async (): Promise<PeersResponse> => ({ peers: api.peers() }))
  app.get<{ Params: { peer: string } }>('/v1/peers/:peer', async (req) => {
    const peer = api.peers().find(p => p.peerId === req.params.peer)
    if (peer === undefined) throw new NotFoundError(`unknown peer ${req.params.peer}`)
    return peer
  })
}
