import fs from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { unixRequest } from '../helpers/unix-http.ts'

const N = 20
const MAX_SESSIONS = 3
const STABLE_MS = 60_000
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const median = (xs: number[]): number => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)] }

function rssBytes (pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith('VmRSS:'))
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) * 1024
}

describe(`a swarm of ${N} daemons on one machine`, () => {
  const daemons: EdgedProcess[] = []
  afterAll(async () => { await Promise.all(daemons.map(async d => { await d.cleanup() })) }, 60_000)

  it(`has full presence within 10 s, and with at most ${MAX_SESSIONS} sessions each stays stable for 60 s without growing`, async () => {
    const config = (bootstrap: string[]): Record<string, unknown> => ({
      rtc: { bindAddress: '127.0.0.1' },
      swarm: { bootstrap, maxSessions: MAX_SESSIONS, announceIntervalMs: 1_000, peerExpiryMs: 10_000 }
    })
    const seed = await startEdged({ name: 'd00', config: config([]) })
    daemons.push(seed)
    const seedAddr = (await unixRequest(seed.socket, 'GET', '/v1/status')).body.addresses[0] as string
    // Started a few at a time: two cores, and each start compiles a daemon's worth of modules.
    for (let i = 1; i < N; i += 4) {
      const batch = await Promise.all(Array.from({ length: Math.min(4, N - i) }, async (_, k) =>
        await startEdged({ name: `d${String(i + k).padStart(2, '0')}`, config: config([seedAddr]), startTimeoutMs: 60_000 })))
      daemons.push(...batch)
    }
    const t0 = performance.now()
    await waitFor(`every daemon lists the ${N - 1} others`, async () => {
      const counts = await Promise.all(daemons.map(async d => (await unixRequest(d.socket, 'GET', '/v1/peers')).body.peers.length as number))
      return counts.every(c => c === N - 1)
    }, 10_000, 200)
    console.log(`full presence ${(performance.now() - t0).toFixed(0)} ms after the last daemon answered`)

    const pids = await Promise.all(daemons.map(async d => (await unixRequest(d.socket, 'GET', '/v1/status')).body.pid as number))
    const sessionsOf = async (d: EdgedProcess): Promise<any[]> => (await unixRequest(d.socket, 'GET', '/v1/sessions')).body.sessions
    await waitFor('sessions settled', async () => {
      const all = await Promise.all(daemons.map(sessionsOf))
      return all.every(s => s.filter(x => x.state === 'connected').length >= 1 && s.length <= MAX_SESSIONS)
    }, 20_000, 500)
    await sleep(3_000) // let the last negotiations finish
    const before = await Promise.all(daemons.map(sessionsOf))

    const rss: number[][] = []
    const start = performance.now()
    while (performance.now() - start < STABLE_MS) {
      rss.push(pids.map(rssBytes))
      await sleep(1_000)
    }
    const after = await Promise.all(daemons.map(sessionsOf))

    for (const [i, d] of daemons.entries()) {
      expect(d.proc.exitCode, d.name).toBeNull()
      const connected = after[i].filter(s => s.state === 'connected')
      expect(connected.length, `${d.name} sessions`).toBeGreaterThanOrEqual(1)
      expect(after[i].length, `${d.name} sessions`).toBeLessThanOrEqual(MAX_SESSIONS)
      // Stable: the same PeerConnections as a minute ago, none re-made.
      const was = new Map(before[i].map(s => [s.peer, s.session]))
      for (const s of connected) expect(s.session, `${d.name} → ${s.name as string}`).toBe(was.get(s.peer))
    }
    const peers = await Promise.all(daemons.map(async d => (await unixRequest(d.socket, 'GET', '/v1/peers')).body.peers.length as number))
    expect(peers).toEqual(daemons.map(() => N - 1))

    // RSS: the total of the last 10 samples against the first 10, with room for GC's swing.
    const totals = rss.map(row => row.reduce((x, y) => x + y, 0))
    const first = median(totals.slice(0, 10))
    const last = median(totals.slice(-10))
    console.log(`RSS of ${N} daemons: ${(first / 2 ** 20).toFixed(0)} MiB at the start of the minute, ${(last / 2 ** 20).toFixed(0)} MiB at its end`)
    expect(rss.length).toBeGreaterThanOrEqual(50)
    expect(last).toBeLessThanOrEqual(first * 1.1)
  }, 240_000)
})
