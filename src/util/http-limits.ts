import type { Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { EdgeError } from './errors.ts'
import { logRateLimited } from './rate-limited-log.ts'

/** A request pipelined beyond HttpLimits.maxPipelined on one connection. */
export class TooManyRequestsError extends EdgeError {
  override readonly status = 429
}

export interface HttpLimits {
  /** Connections open at once on the listener; the next ones get a 503 and are closed. */
  maxConnections: number
  /** Connections open at once from one remote address (TCP listeners; unix sockets have none). */
  maxPerAddress?: number
  /** Requests received on one connection and not yet answered; the next ones get a 429 and the connection closes. */
  maxPipelined: number
}

/**
 * The Node http server options behind the limits on time: a client that
 * sends its headers slowly, or its body, or sits idle, loses the connection.
 * Node checks the headers and request deadlines every connectionsCheckingInterval.
 */
export interface HttpTimeouts {
  headersTimeout: number
  requestTimeout: number
  keepAliveTimeout: number
  connectionsCheckingInterval: number
}

/** Defaults of both listeners (the web listener and the control socket): see README "Limits". */
export const HTTP_HEADERS_TIMEOUT_MS = 5_000
export const HTTP_REQUEST_TIMEOUT_MS = 10_000
export const HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000
export const HTTP_CHECK_INTERVAL_MS = 1_000
export const HTTP_MAX_PIPELINED = 8

export const HTTP_TIMEOUTS: HttpTimeouts = {
  headersTimeout: HTTP_HEADERS_TIMEOUT_MS,
  requestTimeout: HTTP_REQUEST_TIMEOUT_MS,
  keepAliveTimeout: HTTP_KEEP_ALIVE_TIMEOUT_MS,
  connectionsCheckingInterval: HTTP_CHECK_INTERVAL_MS
}

/**
 * New connections whose reading starts in one turn of the event loop. A
 * burst (2,000 WebSocket opens at once) is let in this many at a time,
 * newest first, so each turn stays short and a client arriving during the
 * burst (edgectl status, a systemd probe) is not queued behind all of it.
 */
export const HTTP_ADMIT_PER_TURN = 16

/** How long a refused connection may take to read its 503 before it is cut. */
const REFUSED_LINGER_MS = 1_000

function refusal (status: 429 | 503, name: string, message: string): string {
  const body = JSON.stringify({ error: { name, message } })
  const reason = status === 503 ? 'Service Unavailable' : 'Too Many Requests'
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
}

/** Answer a connection over the limits with a 503 and close it (read or not). */
function refuse (socket: Socket, message: string): void {
  socket.on('error', () => {})
  socket.end(refusal(503, 'TooManyConnectionsError', message))
  setTimeout(() => { socket.destroy() }, REFUSED_LINGER_MS).unref()
}

export interface HttpLimiter {
  /** Connections open now (what maxConnections bounds). */
  readonly connections: number
}

/**
 * Bound what one listener takes from its clients: connections at once (per
 * listener and per remote address) and pipelined requests per connection.
 * Call before the server listens. Refusals are clear status codes (503, 429),
 * logged at most once a minute.
 */
export function limitHttp (app: FastifyInstance, limits: HttpLimits, logger: Logger, what: string): HttpLimiter {
  const server: Server = app.server
  const byAddress = new Map<string, number>()
  let connections = 0
  const warn = logRateLimited(logger, 60_000)

  // Sockets start paused (net.Server's pauseOnConnect, which http.Server does not take as an option) and admit() resumes them.
  ;(server as Server & { pauseOnConnect: boolean }).pauseOnConnect = true
  const waiting: Socket[] = []
  let admitting = false
  const admit = (): void => {
    admitting = false
    let n = 0
    while (n < HTTP_ADMIT_PER_TURN && waiting.length > 0) {
      const socket = waiting.pop() as Socket
      if (socket.destroyed) continue
      socket.resume()
      n++
    }
    if (waiting.length > 0) admitSoon()
  }
  const admitSoon = (): void => {
    if (admitting) return
    admitting = true
    setImmediate(admit)
  }

  // Before Node's own connection listener: a refused connection never gets a parser's attention.
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress
    const fromAddress = address === undefined ? 0 : (byAddress.get(address) ?? 0)
    if (connections >= limits.maxConnections) {
      warn('warn', { listener: what, connections }, `${what}: connection refused, ${limits.maxConnections} open already`)
      refuse(socket, `${what} has ${limits.maxConnections} connections open: try again later`)
      return
    }
    if (address !== undefined && limits.maxPerAddress !== undefined && fromAddress >= limits.maxPerAddress) {
      warn('warn', { listener: what, address }, `${what}: connection refused, ${limits.maxPerAddress} open from one address already`)
      refuse(socket, `${what} has ${limits.maxPerAddress} connections open from ${address}: try again later`)
      return
    }
    connections++
    if (address !== undefined) byAddress.set(address, fromAddress + 1)
    waiting.push(socket)
    admitSoon()
    socket.once('close', () => {
      connections--
      if (address === undefined) return
      const left = (byAddress.get(address) ?? 1) - 1
      if (left > 0) byAddress.set(address, left)
      else byAddress.delete(address)
    })
  })

  // Requests in flight per connection: Node parses and dispatches pipelined requests without waiting for answers.
  const inFlight = new WeakMap<Socket, number>()
  server.prependListener('request', (req: { socket: Socket }, res: ServerResponse) => {
    const socket = req.socket
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1)
    res.once('close', () => { inFlight.set(socket, (inFlight.get(socket) ?? 1) - 1) })
  })
  app.addHook('onRequest', async (req, reply) => {
    if ((inFlight.get(req.raw.socket) ?? 0) <= limits.maxPipelined) return
    warn('warn', { listener: what }, `${what}: pipelined requests beyond ${limits.maxPipelined} refused`)
    void reply.header('connection', 'close')
    throw new TooManyRequestsError(`more than ${limits.maxPipelined} requests pipelined on one connection: wait for the answers`)
  })

  return { get connections () { return connections } }
}
