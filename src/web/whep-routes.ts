import type { FastifyReply, FastifyRequest } from 'fastify'
import { MAX_SDP_BYTES } from '../transport/signal-limits.ts'
import { BadRequestError, BadSdpError, UnsupportedMediaTypeError } from '../util/errors.ts'
import type { BrowserService } from './browser-service.ts'
import type { WebRoutes } from './web-server.ts'

/** Where a client's resource lives: DELETE ends it. */
export const WHEP_RESOURCE = '/whep/session'
export const WHIP_RESOURCE = '/whip/session'

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, DELETE, PATCH, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, if-match',
  'access-control-expose-headers': 'location, etag, link, accept-patch, www-authenticate',
  'access-control-max-age': '600'
}

function sdpBody (req: FastifyRequest): string {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (type !== 'application/sdp') throw new UnsupportedMediaTypeError(`the body must be an SDP offer (Content-Type: application/sdp), not ${type === '' ? 'nothing' : type}`)
  if (typeof req.body !== 'string' || req.body.trim() === '') throw new BadSdpError('the body is empty: POST an SDP offer')
  return req.body
}

/** ?audio=NAME: an audio source to play in the same session (given once, not empty). */
function audioParam (value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') throw new BadRequestError('audio= names one audio source to play beside the video, e.g. ?audio=mic')
  return value
}

async function created (reply: FastifyReply, location: string, answer: string): Promise<FastifyReply> {
  return await reply.status(201).header('location', location).header('content-type', 'application/sdp').send(answer)
}

/**
 * WHEP (draft-ietf-wish-whep) and WHIP (RFC 9725) on the web listener: an
 * SDP offer in, 201 with our answer (candidates included: no trickle) and
 * the resource's Location out; DELETE on it ends the session. CORS as the
 * drafts expect, so a page from anywhere (with the token, off loopback) can play.
 */
export function whepRoutes (service: BrowserService): WebRoutes {
  return (app) => {
    app.addContentTypeParser(['application/sdp', 'application/trickle-ice-sdpfrag'], { parseAs: 'string', bodyLimit: MAX_SDP_BYTES }, (_req, body, done) => { done(null, body) })
    // onSend: errors too (a 401 from the token check) must be readable by a page from another origin.
    app.addHook('onSend', async (req, reply, payload) => {
      if (req.url.startsWith('/whep/') || req.url.startsWith('/whip/')) void reply.headers(CORS)
      return payload
    })
    const preflight = { config: { public: true } }
    for (const path of ['/whep/*', '/whip/*']) {
      app.options(path, preflight, async (_req, reply) => await reply.status(204).header('accept-post', 'application/sdp').send())
    }

    app.post<{ Params: { source: string }, Querystring: { audio?: string } }>('/whep/:source', async (req, reply) => {
      const { id, answer } = await service.play(sdpBody(req), undefined, req.params.source, audioParam(req.query.audio))
      return await created(reply, `${WHEP_RESOURCE}/${id}`, answer)
    })
    app.post<{ Params: { peer: string, source: string }, Querystring: { audio?: string } }>('/whep/:peer/:source', async (req, reply) => {
      const { id, answer } = await service.play(sdpBody(req), req.params.peer, req.params.source, audioParam(req.query.audio))
      return await created(reply, `${WHEP_RESOURCE}/${id}`, answer)
    })
    app.post<{ Params: { name: string } }>('/whip/:name', async (req, reply) => {
      const { id, answer } = await service.publish(sdpBody(req), req.params.name, req.ip)
      return await created(reply, `${WHIP_RESOURCE}/${id}`, answer)
    })
    for (const base of [WHEP_RESOURCE, WHIP_RESOURCE]) {
      app.delete<{ Params: { id: string } }>(`${base}/:id`, async (req, reply) => {
        service.end(req.params.id)
        return await reply.status(200).send()
      })
      // No trickle ICE: our answer carries every candidate, and the client's come as checks.
      app.patch(`${base}/:id`, async (_req, reply) => await reply.status(405).header('allow', 'DELETE').send({ error: { name: 'MethodNotAllowedError', message: 'this server does not take trickled candidates; the answer carries all of its own' } }))
    }
  }
}
