import http from 'node:http'
import path from 'node:path'
import { makeTempDir } from '../helpers/temp-dir.ts'

/** What a route matched: `:name` segments of its pattern, and the query string. */
export interface RouteMatch {
  params: Record<string, string>
  query: URLSearchParams
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string, match: RouteMatch) => void

export interface FakeDaemon {
  socket: string
  dir: string
  /** Requests seen, as `METHOD /path?query`. */
  seen: string[]
  /** Every /v1/events and /v1/messages response so far, in order (the fake answers those paths itself). */
  streams: http.ServerResponse[]
  /** The n-th (0-based) event stream, once a client has opened it. */
  stream: (n: number) => Promise<http.ServerResponse>
  close: () => Promise<void>
}

/** Paths the fake answers with an open text/event-stream unless a route takes them. */
const STREAM_PATHS = new Set(['/v1/events', '/v1/messages'])

export function json (res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

export function notFound (res: http.ServerResponse, message: string): void {
  json(res, 404, { error: { name: 'NotFoundError', message } })
}

function matchPattern (pattern: string, key: string): Record<string, string> | undefined {
  const want = pattern.split('/')
  const got = key.split('/')
  if (want.length !== got.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) params[want[i].slice(1)] = decodeURIComponent(got[i])
    else if (want[i] !== got[i]) return undefined
  }
  return params
}

/**
 * A stand-in for edged's control API on a temp unix socket. Routes are
 * `METHOD /path`: an exact match on the URL with its query wins, then on the
 * path alone, then patterns with `:name` segments (`GET /v1/sessions/:peer`).
 */
export async function startFakeDaemon (routes: Record<string, Handler>): Promise<FakeDaemon> {
  const temp = await makeTempDir('edgectl-')
  const socket = path.join(temp.dir, 'edged.sock')
  const seen: string[] = []
  const streams: http.ServerResponse[] = []
  const waiters: Array<() => void> = []

  const route = (method: string, url: URL): [Handler, Record<string, string>] | undefined => {
    const exact = routes[`${method} ${url.pathname}${url.search}`] ?? routes[`${method} ${url.pathname}`]
    if (exact !== undefined) return [exact, {}]
    for (const [pattern, handler] of Object.entries(routes)) {
      const params = matchPattern(pattern, `${method} ${url.pathname}`)
      if (params !== undefined) return [handler, params]
    }
    return undefined
  }

  const server = http.createServer((req, res) => {
    const key = `${req.method} ${req.url}`
    seen.push(key)
    const url = new URL(req.url ?? '/', 'http://edged')
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      const found = route(req.method ?? 'GET', url)
      if (found !== undefined) { found[0](req, res, body, { params: found[1], query: url.searchParams }); return }
      if (req.method === 'GET' && STREAM_PATHS.has(url.pathname)) {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write(': fake edged\n\n')
        streams.push(res)
        for (const wake of waiters.splice(0)) wake()
        return
      }
      notFound(res, `no such endpoint: ${key}`)
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
