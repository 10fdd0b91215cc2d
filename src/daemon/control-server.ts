import fs from 'node:fs/promises'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { EdgeError, ForbiddenError } from '../util/errors.ts'
import type { Startable } from '../util/startable.ts'
import { EventLoopSlicer } from '../util/event-loop-slicer.ts'
import { HTTP_MAX_PIPELINED, HTTP_REQUEST_TIMEOUT_MS, HTTP_TIMEOUTS, limitHttp } from '../util/http-limits.ts'
import type { DaemonApi } from './daemon-api.ts'
import type { ErrorResponse } from './api-types.ts'
import { claimSocketPath, secureSocket } from './control-socket.ts'
import { statusRoutes } from './routes/status.ts'
import { peerRoutes } from './routes/peers.ts'
import { eventRoutes } from './routes/events.ts'
import { sessionRoutes } from './routes/sessions.ts'
import { channelRoutes } from './routes/channels.ts'
import { sourceRoutes } from './routes/sources.ts'
import { watchRoutes } from './routes/watch.ts'
import { reloadRoutes } from './routes/reload.ts'
import { recordRoutes } from './routes/record.ts'
import fastifyWebsocket from '@fastify/websocket'

export const CONTROL_BODY_LIMIT = 1024 * 1024
export const CONTROL_REQUEST_TIMEOUT_MS = HTTP_REQUEST_TIMEOUT_MS
/**
 * Connections open at once on the control socket (local programs hold one
 * WebSocket per channel: a peer has at most 1024 labels, and about 512 streams a session).
 */
export const CONTROL_MAX_CONNECTIONS = 4096
/** Largest WebSocket frame a local program may send (data channels cap lower: 256 KiB by default). */
export const CONTROL_WS_MAX_PAYLOAD = 16 * 1024 * 1024

export interface ControlServerInit {
  socket: string
  mode: string
  group?: string
  logger: Logger
}

export interface ControlServer extends Startable {
  readonly app: FastifyInstance
}

function errorBody (name: string, message: string): ErrorResponse {
  return { error: { name, message } }
}

/**
 * The control API: HTTP/JSON on a unix socket. Only local programs reach it,
 * its file mode and group decide who; requests carrying a browser Origin are
 * refused so a web page cannot drive the daemon through a proxy or a bug.
 */
export function createControlServer (init: ControlServerInit, api: DaemonApi): ControlServer {
  const app = Fastify({
    loggerInstance: init.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: CONTROL_BODY_LIMIT,
    requestTimeout: CONTROL_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: HTTP_TIMEOUTS.keepAliveTimeout,
    http: { headersTimeout: HTTP_TIMEOUTS.headersTimeout, connectionsCheckingInterval: HTTP_TIMEOUTS.connectionsCheckingInterval },
    forceCloseConnections: true,
    return503OnClosing: true
  })
  limitHttp(app, { maxConnections: CONTROL_MAX_CONNECTIONS, maxPipelined: HTTP_MAX_PIPELINED }, init.logger, 'control socket')

  // A burst of WebSocket opens (a program opening a thousand channels at once) arrives in one
  // pass of the event loop, and each upgrade (handshake, channel, its endpoint) costs about
  // 0.3 ms: 1,200 of them held GET /v1/status for ~450 ms. Upgrades take turns in 10 ms
  // slices instead, with the event loop (and other requests) running between slices.
  const upgrades = new EventLoopSlicer()
  app.addHook('onRequest', async (req) => {
    if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined) {
      throw new ForbiddenError('requests from browsers are refused on the control socket')
    }
    if (req.headers.upgrade !== undefined) await upgrades.turn()
  })

  app.setErrorHandler((err: FastifyError | EdgeError, req, reply) => {
    const status = err instanceof EdgeError ? err.status : (err.statusCode ?? 500)
    if (status >= 500) init.logger.error({ err, url: req.url }, 'control request failed')
    else init.logger.debug({ err: err.message, url: req.url }, 'control request rejected')
    const name = err instanceof EdgeError ? err.name : (status >= 500 ? 'InternalError' : (err.code ?? 'BadRequestError'))
    void reply.status(status).send(errorBody(name, err.message))
  })

  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(errorBody('NotFoundError', `no such endpoint: ${req.method} ${req.url.split('?')[0]}`))
  })

  let endEventStreams = (): void => {}
  let endChannelStreams = (): void => {}
  // Routes go in a plugin so they see the websocket decorator registered before them.
  void app.register(fastifyWebsocket, { options: { maxPayload: CONTROL_WS_MAX_PAYLOAD } })
  void app.register(async (scoped) => {
    statusRoutes(scoped, api)
    peerRoutes(scoped, api)
    sessionRoutes(scoped, api)
    sourceRoutes(scoped, api)
    watchRoutes(scoped, api)
    recordRoutes(scoped, api)
    reloadRoutes(scoped, api)
    endEventStreams = eventRoutes(scoped, api)
    endChannelStreams = channelRoutes(scoped, api)
  })

  let listening = false
  return {
    app,
    async start () {
      await claimSocketPath(init.socket)
      await app.listen({ path: init.socket })
      listening = true
      try {
        await secureSocket(init.socket, init.mode, init.group)
      } catch (err) {
        await this.stop()
        throw err
      }
      init.logger.info({ socket: init.socket }, 'control socket listening')
    },
    async stop () {
      if (!listening) return
      listening = false
      endEventStreams()
      endChannelStreams()
      await app.close()
      await fs.rm(init.socket, { force: true })
    }
  }
}
