import type { AddressInfo } from 'node:net'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { EdgeError, UnauthorizedError, WebListenError } from '../util/errors.ts'
import type { Startable } from '../util/startable.ts'
import { logRateLimited } from '../util/rate-limited-log.ts'
import { HTTP_MAX_PIPELINED, HTTP_REQUEST_TIMEOUT_MS, HTTP_TIMEOUTS, limitHttp } from '../util/http-limits.ts'
import { bearerMatches, parseHostPort } from './web-auth.ts'

export const WEB_BODY_LIMIT = 256 * 1024
export const WEB_REQUEST_TIMEOUT_MS = HTTP_REQUEST_TIMEOUT_MS
/** Connections open at once on the web listener, and from one remote address (see README "Limits"). */
export const WEB_MAX_CONNECTIONS = 256
export const WEB_MAX_CONNECTIONS_PER_ADDRESS = 32
/** A flood of 503s (WHEP/WHIP beyond the browser sessions' limit) logs one warning per this interval. */
const BUSY_LOG_INTERVAL_MS = 60_000

/** Adds routes to the web listener (metrics now; the viewer, WHEP and WHIP later). */
export type WebRoutes = (app: FastifyInstance) => void | Promise<void>

/** Route option marking a route that answers without the bearer token: `{ config: { public: true } }`. */
export interface WebRouteConfig {
  public?: boolean
}

export interface WebServerInit {
  /** web.listen: host:port, port 0 picks a free one. */
  listen: string
  /** web.token: when set, every route that is not public needs `Authorization: Bearer <token>`. */
  token?: string
  routes: WebRoutes[]
  logger: Logger
}

export interface WebServer extends Startable {
  readonly app: FastifyInstance
  /** The address it listens on as host:port (the real port when asked for 0); null when not listening. */
  address: () => string | null
}

/**
 * The daemon's HTTP listener for browsers and scrapers, beside the control
 * socket. Config validation already refused a non-loopback web.listen
 * without web.token, so here a token, when set, is simply required.
 */
export function createWebServer (init: WebServerInit): WebServer {
  const app = Fastify({
    loggerInstance: init.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: WEB_BODY_LIMIT,
    requestTimeout: WEB_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: HTTP_TIMEOUTS.keepAliveTimeout,
    http: { headersTimeout: HTTP_TIMEOUTS.headersTimeout, connectionsCheckingInterval: HTTP_TIMEOUTS.connectionsCheckingInterval },
    forceCloseConnections: true,
    return503OnClosing: true
  })
  // First of the hooks: connections, then pipelining, then the token; a route's own work (body parsing included) only after.
  limitHttp(app, { maxConnections: WEB_MAX_CONNECTIONS, maxPerAddress: WEB_MAX_CONNECTIONS_PER_ADDRESS, maxPipelined: HTTP_MAX_PIPELINED }, init.logger, 'web listener')

  const token = init.token
  if (token !== undefined) {
    app.addHook('onRequest', async (req, reply) => {
      if ((req.routeOptions.config as WebRouteConfig).public === true) return
      if (bearerMatches(req.headers.authorization, token)) return
      // A refused request's body is not read: the connection ends with the answer.
      void reply.header('www-authenticate', 'Bearer realm="edged"').header('connection', 'close')
      throw new UnauthorizedError('this listener needs Authorization: Bearer <web.token>')
    })
  }

  const warnBusy = logRateLimited(init.logger, BUSY_LOG_INTERVAL_MS)
  app.setErrorHandler((err: FastifyError | EdgeError, req, reply) => {
    const status = err instanceof EdgeError ? err.status : (err.statusCode ?? 500)
    // 503 is a limit doing its job (browser sessions, stopping): a warning, once a minute at most.
    if (status === 503) warnBusy('warn', { err: err.message, url: req.url }, 'web request refused: busy')
    else if (status >= 500) init.logger.error({ err, url: req.url }, 'web request failed')
    const name = err instanceof EdgeError ? err.name : (status >= 500 ? 'InternalError' : (err.code ?? 'BadRequestError'))
    void reply.status(status).send({ error: { name, message: err.message } })
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { name: 'NotFoundError', message: `no such endpoint: ${req.method} ${req.url.split('?')[0]}` } })
  })
  for (const routes of init.routes) void app.register(async (scoped) => { await routes(scoped) })

  let listening = false
  return {
    app,
    address () {
      if (!listening) return null
      const a = app.server.address() as AddressInfo
      return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
    },
    async start () {
      const { host, port } = parseHostPort(init.listen)
      try {
        await app.listen({ host, port })
      } catch (err) {
        await app.close().catch(() => {})
        throw new WebListenError(init.listen, err)
      }
      listening = true
      init.logger.info({ address: this.address(), token: token !== undefined }, 'web listener up')
    },
    async stop () {
      if (!listening) return
      listening = false
      await app.close()
    }
  }
}
