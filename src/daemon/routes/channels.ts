import type { FastifyInstance } from 'fastify'
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import { z } from 'zod'
import { MAX_CHANNEL_RELIABILITY } from '../../util/channel-reliability.ts'
import { EdgeError, NotFoundError } from '../../util/errors.ts'
import { CHANNEL_LABEL } from '../../util/names.ts'
import type { DaemonApi } from '../daemon-api.ts'
import type { ChannelEndpoint, Payload } from '../../core/sessions/channel-endpoint.ts'
import { channelClient, type ChannelClient } from '../../core/sessions/channel-hub.ts'
import type { Channel } from '../../transport/types.ts'
import { parseBody } from './sessions.ts'
import { SSE_HEARTBEAT_MS } from './events.ts'

const label = z.string().regex(CHANNEL_LABEL, 'channel labels are 1-64 letters, digits, . _ - (a leading . _ - is reserved)')
const sendBody = z.union([
  z.strictObject({ text: z.string() }),
  z.strictObject({ base64: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64') })
])
const channelQuery = z.strictObject({
  ordered: z.enum(['true', 'false']).optional(),
  maxRetransmits: z.coerce.number().int().min(0).max(MAX_CHANNEL_RELIABILITY).optional(),
  maxPacketLifeTime: z.coerce.number().int().min(1).max(MAX_CHANNEL_RELIABILITY).optional()
}).refine(q => q.maxRetransmits === undefined || q.maxPacketLifeTime === undefined, 'set maxRetransmits or maxPacketLifeTime, not both')

/** How far a WebSocket may fall behind on writes before we stop reading from it. */
const WS_PAUSE_BYTES = 1024 * 1024

/** A WebSocket close reason is at most 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123

/**
 * Why a channel's WebSocket closes, as `Name: message` (the API's error name,
 * as in an HTTP error body), cut to what a close frame holds.
 */
export function closeReason (err: unknown): string {
  const name = err instanceof EdgeError ? err.name : 'InternalError'
  const reason = Buffer.from(`${name}: ${(err as Error)?.message ?? String(err)}`)
  if (reason.byteLength <= MAX_CLOSE_REASON_BYTES) return reason.toString()
  // Cut on a character boundary: a partial UTF-8 sequence decodes to U+FFFD, which is 3 bytes.
  let cut = reason.subarray(0, MAX_CLOSE_REASON_BYTES).toString()
  while (Buffer.byteLength(cut) > MAX_CLOSE_REASON_BYTES) cut = cut.slice(0, -1)
  return cut
}

/** Close code for a channel the daemon refuses to open: 4000 + the error's HTTP status (4404, 4400, 4409, ...). */
function refusalCode (err: unknown): number {
  return 4000 + (err instanceof EdgeError ? err.status : 500)
}

/** The client a control-socket connection is (its labels are bounded: MAX_LABELS_PER_CLIENT). */
const clients = new WeakMap<Socket, ChannelClient>()
function clientOf (socket: Socket): ChannelClient {
  let client = clients.get(socket)
  if (client === undefined) {
    client = channelClient('this control-socket connection')
    clients.set(socket, client)
  }
  return client
}

/**
 * Open (or find) the endpoint of a peer's channel; the peer must have a
 * session. `opened`: the channel opened for it here, if it had none.
 */
function endpointFor (api: DaemonApi, peer: string, name: string, query: unknown, client: ChannelClient): { endpoint: ChannelEndpoint, opened?: Channel } {
  const labelName = parseBody(label, name)
  const opts = parseBody(channelQuery, query)
  const session = api.sessions.session(peer)
  if (session === undefined) throw new NotFoundError(`no connected session with ${peer}`)
  // First: a label over the peer's or the client's limit is refused before a channel is opened for it.
  const endpoint = api.channels.endpoint(peer, labelName, client)
  if (session.channel(labelName) !== undefined) return { endpoint }
  try {
    const opened = session.openChannel(labelName, {
      ordered: opts.ordered !== 'false',
      ...(opts.maxRetransmits !== undefined ? { maxRetransmits: opts.maxRetransmits } : {}),
      ...(opts.maxPacketLifeTime !== undefined ? { maxPacketLifeTime: opts.maxPacketLifeTime } : {})
    })
    return { endpoint, opened }
  } catch (err) {
    // A label whose channel could not be opened does not count against the limits.
    api.channels.releaseIfUnused(endpoint)
    throw err
  }
}

/**
 * A label nobody used, left by its last local program: close the channel
 * this program's request opened (never one declared in rtc.channels or
 * opened by the peer) and free the label.
 */
function releaseIfIdle (api: DaemonApi, endpoint: ChannelEndpoint, opened: Channel | undefined): void {
  if (!endpoint.idle) return
  if (opened !== undefined && api.sessions.session(endpoint.peer)?.channel(endpoint.label) === opened) opened.close()
  api.channels.releaseIfUnused(endpoint)
}

/** WebSocket close codes for a refused channel: 4000 + the HTTP status the same error gets (4404, 4409, 4429, 4503…). */

function toJsonMessage (peer: string, channel: string, data: Payload): string {
  return JSON.stringify(typeof data === 'string'
    ? { peer, channel, text: data }
    : { peer, channel, base64: data.toString('base64') })
}

/**
 * Channels for local programs: a WebSocket per channel (text stays text,
 * binary stays binary), one-shot sends by POST, and an SSE stream of a label's
 * messages from every peer (edgectl listen).
 */
export function channelRoutes (app: FastifyInstance, api: DaemonApi): () => void {
  const open = new Set<() => void>()

  app.get<{ Params: { peer: string, label: string } }>('/v1/channels/:peer/:label', { websocket: true }, (socket: WebSocket, req) => {
    let endpoint: ChannelEndpoint
    let opened: Channel | undefined
    try {
      ({ endpoint, opened } = endpointFor(api, req.params.peer, req.params.label, req.query, clientOf(req.raw.socket)))
    } catch (err) {
      socket.close(refusalCode(err), closeReason(err))
      return
    }
    // Created later (after the session's pending channels) and refused: say so rather than wait.
    opened?.once('close', () => {
      if (opened?.failure !== undefined) socket.close(4503, `channel not created: ${opened.failure}`.slice(0, 120))
    })
    // Messages that arrive together (one turn of the event loop) leave in one
    // write: uncorked at the end of the turn, not a syscall per frame.
    const raw = req.raw.socket
    let corked = false
    const uncork = (): void => { corked = false; raw.uncork() }
    const detach = endpoint.addConsumer({
      deliver: data => {
        if (!corked) { corked = true; raw.cork(); setImmediate(uncork) }
        socket.send(data, { binary: typeof data !== 'string' })
        return socket.bufferedAmount < WS_PAUSE_BYTES
      },
      backlog: () => socket.bufferedAmount,
      overflow: unread => { socket.close(1008, `consumer too slow: ${unread} bytes unread`) }
    })
    // Writes go one at a time; while the channel applies backpressure we stop
    // reading the WebSocket, so the local program is slowed down too.
    let chain = Promise.resolve()
    let pending = 0
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      const payload: Payload = isBinary ? data : data.toString('utf8')
      if (++pending > 16) socket.pause()
      chain = chain.then(async () => { await endpoint.write(payload) }).then(() => {
        if (--pending <= 8) socket.resume()
      }, (err: unknown) => {
        socket.close(1011, closeReason(err))
      })
    })
    const drained = (): void => { endpoint.consumerDrained() }
    raw.on('drain', drained)
    const closeOnStop = (): void => { socket.close(1001, 'edged stopping') }
    open.add(closeOnStop)
    socket.on('close', () => { raw.off('drain', drained); detach(); open.delete(closeOnStop); releaseIfIdle(api, endpoint, opened) })
  })

  app.post<{ Params: { peer: string, label: string } }>('/v1/channels/:peer/:label', async (req, reply) => {
    const { endpoint } = endpointFor(api, req.params.peer, req.params.label, req.query, clientOf(req.raw.socket))
    const body = parseBody(sendBody, req.body)
    const data: Payload = 'text' in body ? body.text : Buffer.from(body.base64, 'base64')
    await endpoint.write(data)
    return await reply.status(202).send({ peer: endpoint.peer, channel: endpoint.label, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength })
  })

  app.get<{ Querystring: { channel?: string } }>('/v1/messages', (req, reply) => {
    const name = parseBody(label, req.query.channel ?? 'control')
    reply.hijack()
    const res: ServerResponse = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    res.write(`: messages on ${name}\n\n`)
    const heartbeat = setInterval(() => { res.write(': ping\n\n') }, SSE_HEARTBEAT_MS)
    const detachers: Array<() => void> = []
    const stopWatching = api.channels.onLabel(name, endpoint => {
      detachers.push(endpoint.addConsumer({
        deliver: data => res.write(`event: message\ndata: ${toJsonMessage(endpoint.peer, name, data)}\n\n`),
        backlog: () => res.writableLength,
        overflow: () => { end() }
      }))
    })
    const end = (): void => {
      if (!open.delete(end)) return
      clearInterval(heartbeat)
      stopWatching()
      for (const d of detachers) d()
      res.end()
    }
    open.add(end)
    req.raw.once('close', end)
  })

  return () => { for (const end of [...open]) end() }
}
