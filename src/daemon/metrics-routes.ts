import type { WebRoutes } from '../web/web-server.ts'
import type { Metrics } from './metrics.ts'

/**
 * GET /metrics on the web listener (behind web.token like everything else
 * there). The route is always there; `current` says whether metrics are on
 * (metrics.enabled changes on reload, and prom-client is loaded only then).
 */
export function metricsRoutes (current: () => Metrics | undefined): WebRoutes {
  return (app) => {
    app.get('/metrics', async (_req, reply) => {
      const metrics = current()
      if (metrics === undefined) return await reply.code(404).send({ error: 'metrics are off (metrics.enabled: false)' })
      void reply.header('content-type', metrics.contentType)
      return await metrics.render()
    })
  }
}
