import type { FastifyInstance } from 'fastify'
import type { DaemonApi } from '../daemon-api.ts'

/** POST /v1/reload: re-read the config file; a bad one is a 400 ConfigError and the running config stays. */
export function reloadRoutes (app: FastifyInstance, api: DaemonApi): void {
  app.post('/v1/reload', async () => await api.reload())
}
