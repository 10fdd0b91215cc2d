import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEdged, type EdgedProcess } from '../helpers/edged-process.ts'
import { unixRequest } from '../helpers/unix-http.ts'

let d: EdgedProcess
beforeAll(async () => { d = await startEdged({ name: 'api' }) })
afterAll(async () => { await d?.cleanup() })

async function raw (bytes: string | Buffer): Promise<string> {
  return await new Promise((resolve) => {
    const socket = net.connect(d.socket)
    let out = ''
    socket.on('data', c => { out += c.toString() })
    socket.on('error', () => { resolve(out) })
    socket.on('close', () => { resolve(out) })
    socket.write(bytes)
    setTimeout(() => { socket.end() }, 300)
  })
}

describe('control API', () => {
  it('lists peers and 404s with a JSON error for unknown paths and peers', async () => {
    const peers = await unixRequest(d.socket, 'GET', '/v1/peers')
    expect(peers.status).toBe(200)
    expect(peers.body).toEqual({ peers: [] })
    const missing = await unixRequest(d.socket, 'GET', '/v1/nope')
    expect(missing.status).toBe(404)
    expect(missing.body.error.name).toBe('NotFoundError')
    const peer = await unixRequest(d.socket, 'GET', '/v1/peers/12D3KooWnotapeer')
    expect(peer.status).toBe(404)
  })

  it('refuses requests with a browser Origin header', async () => {
    const res = await unixRequest(d.socket, 'GET', '/v1/status', undefined, { origin: 'http://evil.example' })
    expect(res.status).toBe(403)
    expect(res.body.error.name).toBe('ForbiddenError')
  })

  it('answers malformed requests with 4xx and keeps running', async () => {
    const badJson = await new Promise<number>((resolve, reject) => {
      const socket = net.connect(d.socket)
      let out = ''
      socket.on('data', c => { out += c.toString(); const m = /^HTTP\/1\.1 (\d+)/.exec(out); if (m !== null) { socket.destroy(); resolve(Number(m[1])) } })
      socket.on('error', reject)
      socket.write('POST /v1/status HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{oops')
    })
    expect(badJson).toBeGreaterThanOrEqual(400)
    expect(badJson).toBeLessThan(500)

    const garbage = await raw(Buffer.from([0, 1, 2, 255, 254, 10, 13, 10, 13]))
    expect(garbage === '' || garbage.startsWith('HTTP/1.1 400')).toBe(true)
    const hugeHeader = await raw(`GET /v1/status HTTP/1.1\r\nX: ${'a'.repeat(100_000)}\r\n\r\n`)
    expect(hugeHeader === '' || /^HTTP\/1\.1 4\d\d/.test(hugeHeader)).toBe(true)
    await raw('GET /v1/status HTTP/1.1\r\nContent-Length: 999999999\r\n\r\nabc')
    const bigBody = await unixRequest(d.socket, 'POST', '/v1/status', { pad: 'x'.repeat(2 * 1024 * 1024) }).catch(() => ({ status: 413 }))
    expect(bigBody.status).toBeGreaterThanOrEqual(400)

    const after = await unixRequest(d.socket, 'GET', '/v1/status')
    expect(after.status).toBe(200)
    expect(d.proc.exitCode).toBeNull()
  })

  it('streams events as Server-Sent Events', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(d.socket)
      let out = ''
      socket.on('data', c => { out += c.toString(); if (out.includes('edged events')) { socket.destroy(); resolve(out) } })
      socket.on('error', reject)
      socket.write('GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n')
    })
    expect(text).toMatch(/^HTTP\/1\.1 200/)
    expect(text).toMatch(/content-type: text\/event-stream/i)
  })
})
