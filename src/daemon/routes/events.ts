import type { FastifyInstance } from 'fastify'
import type { ServerResponse } from 'node:http'
import type { DaemonApi } from '../daemon-api.ts'
import type { DaemonEvents } from '../api-types.ts'

export const SSE_HEARTBEAT_MS = 15_000
/** A client that lets this much pile up unread is cut off rather than buffered forever. */
export const SSE_MAX_BUFFERED_BYTES = 4 * 1024 * 1024

const EVENT_TYPES: Array<keyof DaemonEvents> = ['peer:discovered', 'peer:updated', 'peer:lost', 'session:state']

/**
 * Server-Sent Events: every daemon event as `event: <type>` + `data: <json>`.
 * Returns a function that ends all open streams (called when the server closes).
 */
export function eventRoutes (app: FastifyInstance, api: DaemonApi): () => void {
  const open = new Set<() => void>()

  app.get('/v1/events', (req, reply) => {
    reply.hijack()
    const res: ServerResponse = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive'
    })
    res.write(': edged events\n\n')

    const send = (type: string, payload: unknown): void => {
      if (res.writableLength > SSE_MAX_BUFFERED_BYTES) { end(); return }
      res.write(`event: ${type}\ndata: ${JSON.stringify(payload)}\n\n`)
    }
    const listeners = EVENT_TYPES.map(type => {
      const listener = (payload: unknown): void => { send(type, payload) }
      api.events.on(type, listener as never)
      return [type, listener] as const
    })
    const heartbeat = setInterval(() => { res.write(': ping\n\n') }, SSE_HEARTBEAT_MS)
    const end = (): void => {
      if (!open.delete(end)) return
      clearInterval(heartbeat)
      for (const [type, listener] of listeners) api.events.off(type, listener as never)
      res.end()
    }
    open.add(end)
    req.raw.once('close', end)
    res.once('error', end)
  })

  return () => { for (const end of [...open]) end() }
}
