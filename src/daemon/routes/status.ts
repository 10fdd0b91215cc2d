import type { FastifyInstance } from 'fastify'
import type { DaemonApi } from '../daemon-api.ts'

export function statusRoutes (app: FastifyInstance, api: DaemonApi): void {
  app.get('/v1/status', async () => api.status())
}
