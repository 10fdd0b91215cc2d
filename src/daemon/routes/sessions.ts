import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { BadRequestError } from '../../util/errors.ts'
import type { DaemonApi } from '../daemon-api.ts'
import type { SessionInfo } from '../../core/sessions/session-info.ts'
import type { BrowserInfo, SessionsResponse } from '../api-types.ts'

const connectBody = z.strictObject({ peer: z.string().regex(/^(12D3Koo|Qm)[1-9A-HJ-NP-Za-km-z]{40,60}$/, 'must be a libp2p peer id') })

/** Parse a JSON body with a zod schema; errors name the field. */
export function parseBody<T> (schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {})
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new BadRequestError(`${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
  }
  return result.data
}

/**
 * Add what happened on the local side of each channel (delivered to, and
 * dropped for, local programs), and to each send track (a consumer) the
 * source that feeds it and that source's target bit rate.
 */
function withLocalStats (api: Pick<DaemonApi, 'watch' | 'media' | 'channels'>, session: SessionInfo, viewers = api.watch.viewers.list(), sources = api.media.list()): SessionInfo {
  return {
    ...session,
    tracks: session.tracks.map(t => {
      const source = t.direction === 'send' ? viewers.find(v => v.peer === session.peer && v.id === t.mid)?.source : undefined
      if (source === undefined || t.sender === undefined) return t
      const target = sources.find(s => s.name === source)?.stats?.targetBitrateKbps ?? null
      return { ...t, source, sender: { ...t.sender, targetBitrateKbps: target } }
    }),
    channels: session.channels.map(c => {
      const endpoint = api.channels.find(session.peer, c.label)
      return { ...c, localDelivered: endpoint?.delivered ?? 0, localDropped: endpoint?.dropped ?? 0, consumers: endpoint?.consumers ?? 0 }
    })
  }
}

/**
 * A browser session's send tracks with their source's target bit rate, where
 * it plays one of this daemon's sources (a peer's forwarded source has none
 * we know of).
 */
function withTargets (browser: BrowserInfo, sources: ReturnType<DaemonApi['media']['list']>): BrowserInfo {
  if (browser.peer !== null) return browser
  return {
    ...browser,
    tracks: browser.tracks.map(t => {
      if (t.sender === undefined || t.source === undefined) return t
      const target = sources.find(s => s.name === t.source)?.stats?.targetBitrateKbps ?? null
      return { ...t, sender: { ...t.sender, targetBitrateKbps: target } }
    })
  }
}

/** GET /v1/sessions: peers' sessions and browsers', joined with what feeds their send tracks (/metrics reads the same). */
export function listSessions (api: Pick<DaemonApi, 'sessions' | 'watch' | 'media' | 'channels' | 'browsers'>): Required<SessionsResponse> {
  const viewers = api.watch.viewers.list()
  const sources = api.media.list()
  return { sessions: api.sessions.list().map(s => withLocalStats(api, s, viewers, sources)), browsers: api.browsers().map(b => withTargets(b, sources)) }
}

export function sessionRoutes (app: FastifyInstance, api: DaemonApi): void {
  app.get('/v1/sessions', async () => listSessions(api))
  app.get<{ Params: { peer: string } }>('/v1/sessions/:peer', async (req) => withLocalStats(api, api.sessions.get(req.params.peer)))
  app.post('/v1/sessions', async (req, reply) => {
    const { peer } = parseBody(connectBody, req.body)
    return await reply.status(202).send(api.sessions.connect(peer))
  })
  app.delete<{ Params: { peer: string } }>('/v1/sessions/:peer', async (req, reply) => {
    api.sessions.disconnect(req.params.peer)
    return await reply.status(204).send()
  })
}
