import http from 'node:http'
import path from 'node:path'
import { makeTempDir } from '../helpers/temp-dir.ts'

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void

export interface FakeDaemon {
  socket: string
  dir: string
  /** Requests seen, as `METHOD /path`. */
  seen: string[]
  /** Every /v1/events response so far, in order (the fake answers that path itself). */
  streams: http.ServerResponse[]
  /** The n-th (0-based) /v1/events stream, once a client has opened it. */
  stream: (n: number) => Promise<http.ServerResponse>
  close: () => Promise<void>
}

export function json (res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

/** A stand-in for edged's control API on a temp unix socket: routes by `METHOD /path`. */
export async function startFakeDaemon (routes: Record<string, Handler>): Promise<FakeDaemon> {
  const temp = await makeTempDir('edgectl-')
  const socket = path.join(temp.dir, 'edged.sock')
  const seen: string[] = []
  const streams: http.ServerResponse[] = []
  const waiters: Array<() => void> = []

  const server = http.createServer((req, res) => {
    const key = `${req.method} ${req.url}`
    seen.push(key)
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      const route = routes[key]
      if (route !== undefined) { route(req, res, body); return }
      if (key === 'GET /v1/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write(': fake edged\n\n')
        streams.push(res)
        for (const wake of waiters.splice(0)) wake()
        return
      }
      json(res, 404, { error: { name: 'NotFoundError', message: `no such endpoint: ${key}` } })
    })
  })
  await new Promise<void>(resolve => { server.listen(socket, resolve) })

  return {
    socket,
    dir: temp.dir,
    seen,
    streams,
    stream: async (n) => {
      while (streams[n] === undefined) await new Promise<void>(resolve => { waiters.push(resolve) })
      return streams[n]
    },
    close: async () => {
      for (const res of streams) res.destroy()
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
      await temp.cleanup()
    }
  }
}
