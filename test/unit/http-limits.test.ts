import net from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { HTTP_HEADERS_TIMEOUT_MS, HTTP_MAX_PIPELINED, limitHttp } from '../../src/util/http-limits.ts'
import { createWebServer, WEB_MAX_CONNECTIONS_PER_ADDRESS, type WebServer } from '../../src/web/web-server.ts'
import { EdgeError } from '../../src/util/errors.ts'

// The HTTP listeners bound what clients can hold: connections (per listener,
// per address), pipelined requests, slow headers; and the web listener checks
// its token before reading a body.

const log = pino({ level: 'silent' })
const closers: Array<() => Promise<void>> = []
afterEach(async () => { for (const close of closers.splice(0)) await close() })

async function bare (limits: Parameters<typeof limitHttp>[1]): Promise<{ app: FastifyInstance, port: number }> {
  const app = Fastify({ forceCloseConnections: true })
  limitHttp(app, limits, log, 'test listener')
  app.setErrorHandler((err: EdgeError, _req, reply) => { void reply.status(err.status).send({ error: { name: err.name } }) })
  app.get('/slow', async () => { await new Promise(resolve => setTimeout(resolve, 50)); return 'ok' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  closers.push(async () => { await app.close() })
  return { app, port: (app.server.address() as net.AddressInfo).port }
}

/** Connect, send `data`, collect what comes back until the server closes (or `ms`). */
async function exchange (port: number, data: string, ms = 3000, localAddress?: string): Promise<{ text: string, closed: boolean, socket: net.Socket }> {
  return await new Promise(resolve => {
    const socket = net.connect({ port, host: '127.0.0.1', ...(localAddress !== undefined ? { localAddress } : {}) })
    let text = ''
    const done = (closed: boolean): void => { clearTimeout(timer); resolve({ text, closed, socket }) }
    const timer = setTimeout(() => { done(false) }, ms)
    socket.on('data', d => { text += d.toString() })
    socket.on('close', () => { done(true) })
    socket.on('error', () => {})
    if (data !== '') socket.write(data)
  })
}

const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map(m => Number(m[1]))

async function connected (port: number): Promise<net.Socket> {
  return await new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => { resolve(s) })
    s.on('error', reject)
  })
}

describe('HTTP limits', () => {
  it('connections beyond the listener\'s cap get a 503 TooManyConnectionsError and are closed; freed ones are taken again', async () => {
    const { port } = await bare({ maxConnections: 3, maxPipelined: 8 })
    const held = await Promise.all([1, 2, 3].map(async () => await connected(port)))
    const refused = await exchange(port, '')
    expect(refused.closed).toBe(true)
    expect(statuses(refused.text)).toEqual([503])
    expect(refused.text).toContain('TooManyConnectionsError')
    held[0].destroy()
    await new Promise(resolve => setTimeout(resolve, 50))
    const ok = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(statuses(ok.text)).toEqual([200])
    for (const s of held) s.destroy()
  })

  it('per remote address: a second address still gets in while the first is at its cap', async () => {
    const { port } = await bare({ maxConnections: 100, maxPerAddress: 2, maxPipelined: 8 })
    const held = await Promise.all([1, 2].map(async () => await connected(port)))
    expect(statuses((await exchange(port, '')).text)).toEqual([503])
    const other = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3000, '127.0.0.2')
    expect(statuses(other.text)).toEqual([200])
    for (const s of held) s.destroy()
  })

  it('requests pipelined beyond maxPipelined get 429 TooManyRequestsError and the connection closes; the first ones are answered', async () => {
    const { port } = await bare({ maxConnections: 100, maxPipelined: HTTP_MAX_PIPELINED })
    const many = 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200)
    const got = await exchange(port, many, 5000)
    const codes = statuses(got.text)
    expect(got.closed).toBe(true)
    expect(codes.filter(c => c === 200).length).toBeGreaterThanOrEqual(1)
    expect(codes.filter(c => c === 200).length).toBeLessThanOrEqual(HTTP_MAX_PIPELINED)
    expect(codes).toContain(429)
    expect(got.text).toContain('TooManyRequestsError')
    // One after the other on one connection is fine.
    const serial = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(statuses(serial.text)).toEqual([200])
  })
})

describe('web listener', () => {
  async function web (token?: string): Promise<{ server: WebServer, port: number }> {
    const server = createWebServer({
      listen: '127.0.0.1:0',
      ...(token !== undefined ? { token } : {}),
      logger: log,
      routes: [app => { app.post('/echo', async req => ({ bytes: JSON.stringify(req.body).length })) }]
    })
    await server.start()
    closers.push(async () => { await server.stop() })
    return { server, port: Number(server.address()?.split(':').pop()) }
  }

  it('a client that sends its headers slowly gets 408 and loses the connection after the headers timeout', async () => {
    const { port } = await web()
    const start = Date.now()
    const got = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ', HTTP_HEADERS_TIMEOUT_MS + 4000)
    expect(got.closed).toBe(true)
    expect(statuses(got.text)).toEqual([408])
    expect(Date.now() - start).toBeLessThan(HTTP_HEADERS_TIMEOUT_MS + 2500)
  }, 20_000)

  it('with a token, a request without it is a 401 before its body is read, and the connection closes', async () => {
    const { port } = await web('secret-token-secret-token')
    const body = JSON.stringify({ x: 'y'.repeat(100_000) })
    const got = await exchange(port, `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 1000)}`)
    expect(statuses(got.text)).toEqual([401])
    expect(got.text).toContain('UnauthorizedError')
    expect(got.closed).toBe(true)
  })

  it('caps connections from one address at WEB_MAX_CONNECTIONS_PER_ADDRESS', async () => {
    const { port } = await web()
    const held = await Promise.all(Array.from({ length: WEB_MAX_CONNECTIONS_PER_ADDRESS }, async () => await connected(port)))
    const refused = await exchange(port, '')
    expect(statuses(refused.text)).toEqual([503])
    for (const s of held) s.destroy()
  })
})
