import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { DaemonApi } from '../daemon-api.ts'
import type { SourcesResponse } from '../api-types.ts'
import type { SourceControlResult } from '../../media/media-sources.ts'
import { MAX_BITRATE_KBPS, MAX_FPS, MAX_VIDEO_SIDE, MIN_BITRATE_KBPS } from '../../media/gst-source.ts'
import { parseBody } from './sessions.ts'

const whole = (min: number, max: number, unit: string): z.ZodNumber => z.number().int(`must be a whole number of ${unit}`).min(min).max(max)

/** POST /v1/sources/:name/control: at least one of them. */
const controlBody = z.strictObject({
  bitrate: whole(MIN_BITRATE_KBPS, MAX_BITRATE_KBPS, 'kbit/s').optional(),
  width: whole(1, MAX_VIDEO_SIDE, 'pixels').optional(),
  height: whole(1, MAX_VIDEO_SIDE, 'pixels').optional(),
  framerate: whole(1, MAX_FPS, 'frames per second').optional(),
  keyFrame: z.boolean().optional()
}).refine(b => Object.values(b).some(v => v !== undefined), 'give at least one of bitrate, width, height, framerate, keyFrame')

export function sourceRoutes (app: FastifyInstance, api: DaemonApi): void {
  app.get('/v1/sources', async (): Promise<SourcesResponse> => ({
    local: api.media.list(),
    encoders: api.media.encoders(),
    remote: api.peers().flatMap(p => p.sources.map(s => ({ peer: p.peerId, peerName: p.name, name: s.name, kind: s.kind, codec: s.codec }))),
    viewers: api.watch.viewers.list(),
    producers: api.router.list()
  }))
  app.post<{ Params: { name: string } }>('/v1/sources/:name/control', async (req): Promise<SourceControlResult> => {
    const body = parseBody(controlBody, req.body)
    return await api.media.control(req.params.name, { bitrateKbps: body.bitrate, width: body.width, height: body.height, fps: body.framerate, keyFrame: body.keyFrame })
  })
}
