import http from 'node:http'
import fc from 'fast-check'
import { WebSocket } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { unixRequest } from '../helpers/unix-http.ts'
import { collect, openChannelSocket } from '../helpers/channel-client.ts'

// Hostile local programs against a real daemon: random bodies on the control
// API and random WebSocket frames on channels. edged must answer each with a
// 4xx carrying a typed error name, stay up, and keep another session's
// ordered stream intact.

const RUNS = 300
/**
 * `watched` carries the ordered stream that must arrive intact; the fuzz posts
 * to `control` (and random labels), where a body that happens to be valid is
 * a real send: on the watched channel it would be an extra message.
 */
const rtc = { bindAddress: '127.0.0.1', channels: { control: { ordered: true }, watched: { ordered: true } } }

interface RawResponse { status: number, body: any }

async function raw (socketPath: string, method: string, path: string, body: Buffer | string, contentType = 'application/json'): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, headers: { 'content-type': contentType }, timeout: 10_000 }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed: unknown = text
        try { parsed = JSON.parse(text) } catch {}
        resolve({ status: res.statusCode ?? 0, body: parsed })
      })
    })
    req.on('timeout', () => { req.destroy(new Error(`timeout: ${method} ${path}`)) })
    req.on('error', reject)
    req.end(body)
  })
}

/** 2xx, or a 4xx whose body names the error; a 5xx means edged did not expect the input. */
function expectHandled (res: RawResponse, what: string): void {
  if (res.status >= 200 && res.status < 300) return
  expect(res.status, `${what} → ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400)
  expect(res.status, `${what} → ${JSON.stringify(res.body)}`).toBeLessThan(500)
  expect(typeof res.body?.error?.name, what).toBe('string')
}

const bodyBytes = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map(v => JSON.stringify(v)),
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map(b => Buffer.from(b)),
  fc.record({ peer: fc.oneof(fc.string(), fc.stringMatching(/^12D3Koo[1-9A-HJ-NP-Za-km-z]{45}$/), fc.jsonValue()) }, { requiredKeys: [] }).map(v => JSON.stringify(v)),
  fc.record({ text: fc.oneof(fc.string(), fc.jsonValue()), base64: fc.oneof(fc.base64String(), fc.string()) }, { requiredKeys: [] }).map(v => JSON.stringify(v))
)

describe('control API and channel WebSockets under random input', () => {
  let a: EdgedProcess, b: EdgedProcess
  let watch: { ws: WebSocket, peerWs: WebSocket } | undefined

  beforeAll(async () => {
    a = await startEdged({ name: 'fuzz-a', config: { rtc } })
    const addr = (await unixRequest(a.socket, 'GET', '/v1/status')).body.addresses[0]
    b = await startEdged({ name: 'fuzz-b', config: { rtc, swarm: { bootstrap: [addr] } } })
    await waitFor('a session a↔b', async () => {
      const s = (await unixRequest(a.socket, 'GET', `/v1/sessions/${b.peerId}`)).body
      return s.state === 'connected'
    }, 20_000)
  }, 60_000)
  afterAll(async () => {
    watch?.ws.close()
    watch?.peerWs.close()
    await Promise.all([a, b].map(async d => { await d?.cleanup() }))
  })

  it('a 4xx with an error name for every random body, and another session\'s stream stays complete and in order', async () => {
    const ws = await openChannelSocket(a.socket, b.peerId, 'watched')
    const peerWs = await openChannelSocket(b.socket, a.peerId, 'watched')
    watch = { ws, peerWs }
    const N = 2_000
    const arrived = collect(peerWs, N, 120_000)
    let sent = 0
    const sender = setInterval(() => { for (let i = 0; i < 10 && sent < N; i++) ws.send(`m ${sent++}`) }, 5)

    await fc.assert(fc.asyncProperty(bodyBytes, fc.constantFrom('application/json', 'text/plain', 'application/octet-stream'), async (body, type) => {
      expectHandled(await raw(a.socket, 'POST', '/v1/sessions', body, type), `POST /v1/sessions ${String(body).slice(0, 80)}`)
    }), { numRuns: RUNS })

    const peer = fc.oneof(fc.constant(b.peerId), fc.string({ minLength: 1, maxLength: 60 }), fc.stringMatching(/^12D3Koo[1-9A-HJ-NP-Za-km-z]{45}$/))
    const label = fc.oneof(fc.constant('control'), fc.stringMatching(/^fz[a-z0-9]{0,3}$/), fc.string({ minLength: 1, maxLength: 80 }))
    const query = fc.oneof(fc.constant(''), fc.string({ maxLength: 40 }).map(q => `?${q}`), fc.constantFrom('?ordered=false&maxRetransmits=-1', '?maxPacketLifeTime=abc', '?ordered=false&maxRetransmits=0&maxPacketLifeTime=5', '?ordered=false&maxRetransmits=70000'))
    await fc.assert(fc.asyncProperty(peer, label, query, bodyBytes, async (p, l, q, body) => {
      const path = `/v1/channels/${encodeURIComponent(p)}/${encodeURIComponent(l)}${q.replace(/[#\s]/g, '')}`
      expectHandled(await raw(a.socket, 'POST', path, body), `POST ${path} ${String(body).slice(0, 80)}`)
    }), { numRuns: RUNS })

    await expect(arrived).resolves.toEqual(Array.from({ length: N }, (_, i) => `m ${i}`))
    clearInterval(sender)
    const status = await unixRequest(a.socket, 'GET', '/v1/status')
    expect(status.status).toBe(200)
  }, 180_000)

  it('random and huge WebSocket frames close at most that socket; the daemon and other channels carry on', async () => {
    const frames = fc.array(fc.oneof(
      fc.string({ maxLength: 2000 }),
      fc.uint8Array({ maxLength: 4000 }).map(x => Buffer.from(x)),
      fc.integer({ min: 200_000, max: 2_000_000 }).map(n => Buffer.alloc(n, 7)),
      fc.integer({ min: 200_000, max: 2_000_000 }).map(n => 'x'.repeat(n))
    ), { minLength: 1, maxLength: 20 })
    await fc.assert(fc.asyncProperty(frames, fc.stringMatching(/^ws[a-z0-9]{0,2}$/), async (list, label) => {
      const ws = await openChannelSocket(a.socket, b.peerId, label)
      const closed = new Promise<number>(resolve => { ws.once('close', code => { resolve(code) }) })
      for (const f of list) if (ws.readyState === WebSocket.OPEN) ws.send(f, { binary: typeof f !== 'string' })
      ws.close()
      const code = await closed
      // Normal close, or the daemon refusing a message (1011: e.g. MessageTooLargeError, 1009: over the WebSocket limit).
      expect([1000, 1005, 1006, 1009, 1011]).toContain(code)
    }), { numRuns: 40 })

    // Still answering, same session, and the ordered channel still works.
    const s = (await unixRequest(a.socket, 'GET', `/v1/sessions/${b.peerId}`)).body
    expect(s.state).toBe('connected')
    const got = collect(watch!.peerWs, 3)
    for (const m of ['after 1', 'after 2', 'after 3']) watch!.ws.send(m)
    expect(await got).toEqual(['after 1', 'after 2', 'after 3'])
    expect(a.proc.exitCode).toBeNull()
    expect(b.proc.exitCode).toBeNull()
  }, 180_000)
})
