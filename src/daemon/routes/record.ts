import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { RecordingsResponse } from '../../core/record/record-types.ts'
import { CHANNEL_LABEL, SOURCE_NAME } from '../../util/names.ts'
import type { DaemonApi } from '../daemon-api.ts'
import { parseBody } from './sessions.ts'
import { PEER_ID } from './watch.ts'

/** Sources or labels one recording may name (a peer has at most 1024 labels; a robot records tens). */
const MAX_NAMES = 256

const recordBody = z.strictObject({
  peer: PEER_ID,
  sources: z.array(z.string().regex(SOURCE_NAME, 'source names are 1-64 letters, digits, . _ -')).max(MAX_NAMES).optional(),
  channels: z.array(z.string().regex(CHANNEL_LABEL, 'channel labels are 1-64 letters, digits, . _ - (a leading . _ - is reserved)')).max(MAX_NAMES).optional(),
  out: z.string().min(1).max(4096)
})

/**
 * MCAP recordings: POST starts one (201 with its id), DELETE stops it and
 * finalises the file. They are listed with the watches too (GET /v1/watch),
 * and DELETE /v1/watch/:id stops them as well (edgectl unwatch).
 */
export function recordRoutes (app: FastifyInstance, api: DaemonApi): void {
  app.get('/v1/record', async (): Promise<RecordingsResponse> => ({ recordings: api.recordings.list() }))
  app.get<{ Params: { id: string } }>('/v1/record/:id', async (req) => api.recordings.get(req.params.id))
  app.post('/v1/record', async (req, reply) => {
    const body = parseBody(recordBody, req.body)
    return await reply.status(201).send(await api.recordings.create(body))
  })
  app.delete<{ Params: { id: string } }>('/v1/record/:id', async (req) => await api.recordings.delete(req.params.id))
}
