import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import { WebSocket } from 'ws'

/**
 * Hostile HTTP clients of a daemon's control socket and web listener (issue
 * 21), shared by test/e2e/hostile-http.test.ts and `npm run bench -- hostile`.
 * TCP attacks spread their source address over 127.0.0.x (as a real attacker
 * rotating addresses would), so per-address caps do not hide the per-listener ones.
 */

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

export function rssOf (pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith('VmRSS:')) ?? 'VmRSS: 0 kB'
  return Number(line.split(/\s+/)[1]) * 1024
}

export const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]

const PROBE = `
const http = require('node:http')
const socketPath = process.argv[1]
const tick = () => {
  const t0 = performance.now()
  const req = http.request({ socketPath, path: '/v1/status', timeout: 5000 }, res => {
    res.resume()
    res.on('end', () => { process.stdout.write((res.statusCode === 200 ? (performance.now() - t0).toFixed(1) : 'status' + res.statusCode) + '\\n'); setTimeout(tick, 50) })
  })
  req.on('timeout', () => { req.destroy(new Error('timeout')) })
  req.on('error', () => { process.stdout.write('5000\\n'); setTimeout(tick, 50) })
  req.end()
}
tick()
`

/** The control socket's latency (GET /v1/status every 50 ms, 5 s cut-off), probed from a process of its own. */
export function probeControlSocket (socket: string): { stop: () => Promise<number[]> } {
  const child: ChildProcess = spawn(process.execPath, ['-e', PROBE, socket], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  return {
    stop: async () => {
      child.kill()
      await new Promise(resolve => child.once('exit', resolve))
      return out.trim().split('\n').filter(l => l !== '').map(l => l.startsWith('status') ? 5000 : Number(l))
    }
  }
}

function hostPort (web: string): { host: string, port: number } {
  const at = web.lastIndexOf(':')
  return { host: web.slice(0, at), port: Number(web.slice(at + 1)) }
}

/** `n` concurrent WebSocket opens on random labels of `peer`, held `holdMs`, then closed. Close codes by count. */
export async function websocketLabelFlood (socket: string, peer: string, n: number, holdMs = 1000): Promise<{ opened: number, codes: Map<number, number> }> {
  let opened = 0
  const codes = new Map<number, number>()
  const sockets = await Promise.all(Array.from({ length: n }, async (_, i) => await new Promise<WebSocket>(resolve => {
    const ws = new WebSocket(`ws+unix://${socket}:/v1/channels/${peer}/flood-${i}-${Math.random().toString(36).slice(2, 8)}`)
    ws.once('open', () => { opened++; resolve(ws) })
    ws.once('close', code => { codes.set(code, (codes.get(code) ?? 0) + 1); resolve(ws) })
    ws.once('error', () => { resolve(ws) })
  })))
  await sleep(holdMs)
  for (const ws of sockets) ws.close()
  await sleep(1000)
  return { opened, codes }
}

const GARBAGE = [
  'GARBAGE\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
  `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(40_000)}\r\n\r\n`,
  'POST /whep/video HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/sdp\r\n\r\nzz\r\n',
  'GET / HTTP/9.9\r\n\r\n'
]

/** Send `data` on a new connection; the status of the answer (0 for none) once the server closes it. */
async function answerOf (connect: () => net.Socket, data: string, timeoutMs: number): Promise<number> {
  return await new Promise(resolve => {
    const s = connect()
    let text = ''
    s.on('data', d => { text += d.toString('latin1') })
    s.on('error', () => {})
    s.on('close', () => { resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)) })
    s.setTimeout(timeoutMs, () => { s.destroy() })
    s.write(data)
  })
}

/** `rounds` × 100 malformed requests, half on the web listener, half on the control socket: their statuses. */
export async function malformedHttp (socket: string, web: string, rounds = 10): Promise<number[]> {
  const { host, port } = hostPort(web)
  const statuses: number[] = []
  for (let round = 0; round < rounds; round++) {
    statuses.push(...await Promise.all(Array.from({ length: 100 }, async (_, i) => await answerOf(
      i % 2 === 0 ? () => net.connect({ host, port, localAddress: `127.0.0.${2 + (i % 50)}` }) : () => net.connect(socket),
      GARBAGE[i % GARBAGE.length], 8000))))
  }
  return statuses
}

/** `n` connections per listener that send their headers a byte a second: how each ended (status, 'closed' or 'hanging'). */
export async function slowHeaders (socket: string, web: string, n = 1000): Promise<Map<string, number>> {
  const { host, port } = hostPort(web)
  const seen = new Map<string, number>()
  const count = (what: string): void => { seen.set(what, (seen.get(what) ?? 0) + 1) }
  const slow = async (connect: () => net.Socket): Promise<void> => { await new Promise<void>(resolve => {
    const s = connect()
    let text = ''
    let hanging = false
    s.on('data', d => { text += d.toString() })
    s.on('error', () => {})
    s.on('connect', () => { s.write('GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ') })
    const drip = setInterval(() => { if (!s.destroyed) s.write('a') }, 1000)
    s.on('close', () => {
      clearInterval(drip)
      count(hanging ? 'hanging' : /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 'closed')
      resolve()
    })
    s.setTimeout(15_000, () => { hanging = true; s.destroy() })
  }) }
  await Promise.all([
    ...Array.from({ length: n }, async (_, i) => { await slow(() => net.connect({ host, port, localAddress: `127.0.0.${2 + (i % 100)}` })) }),
    ...Array.from({ length: n }, async () => { await slow(() => net.connect(socket)) })
  ])
  return seen
}

/** `connections` × `each` pipelined GET /metrics on the web listener: the statuses answered, by count. */
export async function pipelinedMetrics (web: string, connections = 10, each = 100): Promise<Map<string, number>> {
  const { host, port } = hostPort(web)
  const codes = new Map<string, number>()
  await Promise.all(Array.from({ length: connections }, async (_, c) => { await new Promise<void>(resolve => {
    const s = net.connect({ host, port, localAddress: `127.0.0.${2 + c}` })
    let text = ''
    s.on('data', d => { text += d.toString('latin1') })
    s.on('error', () => {})
    s.on('close', () => {
      for (const m of text.matchAll(/HTTP\/1\.1 (\d{3})/g)) codes.set(m[1], (codes.get(m[1]) ?? 0) + 1)
      resolve()
    })
    s.setTimeout(15_000, () => { s.destroy() })
    s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(each))
  }) }))
  return codes
}
