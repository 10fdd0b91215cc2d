import fs from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { unixRequest } from '../helpers/unix-http.ts'

/**
 * Twenty daemons, the size issue 8 asks for, on any machine (they fit on two
 * cores: idle, about 0.06 of a core each). On two cores full presence came
 * 1.8-3.4 s after the last daemon answered in five runs, once a daemon whose
 * record has reached nobody yet publishes it to its first subscriber at once
 * (swarm.ts); before that, 2.6-11.3 s in eight runs over two sessions.
 * `EDGE_SCALE_N` runs another size.
 */
const FULL = 20
const N = Number(process.env.EDGE_SCALE_N ?? 0) || FULL
const SIZE_NOTE = N === FULL ? '' : ` (EDGE_SCALE_N=${N}; issue 8 asks for ${FULL})`
const MAX_SESSIONS = 3
const STABLE_MS = 60_000
const WARM_UP_MS = 60_000
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const median = (xs: number[]): number => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)] }

function rssBytes (pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith('VmRSS:'))
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) * 1024
}

/**
 * Issue 8: RSS is V8's heap and its garbage, not a leak. Before the mesh,
 * duplicate-check and rendezvous settings of libp2p-node.ts / swarm.ts, every
 * daemon of ten received each presence record ~9 times and verified the
 * signature of each copy, and queried the DHT every 10 s: garbage piled up
 * at ~60 MiB/min until a major GC every ~70 s (RSS 190 → 300 MiB and back),
 * so a minute's window could catch the rise. Heap snapshots minutes apart
 * hold the same ~53 MB. Now the rise is a few MiB over the minute.
 *
 * The first minute after start is not steady state: with twenty on two
 * cores a probe of V8's heap (`edge_nodejs_heap_*`, sampled every 10 s) saw
 * heapTotal summed over the daemons rise 2242 → 2750 MiB in the ~60 s after
 * the last one started (startup's garbage: compiled modules, handshakes,
 * the first presence round), then fall to ~1170 MiB at the first major GCs
 * and stay flat from 110 s to 200 s (RSS ~3384 MiB, ~169 MiB a daemon). A
 * window right after sessions settle caught that rise (+9.5 %), so the RSS
 * minute starts after a minute of warm-up, and the sessions must hold
 * through both: stable for two minutes.
 * About 180 s: `npm run test:scale` runs it alone.
 */
describe(`a swarm of ${N} daemons on one machine${SIZE_NOTE}`, () => {
  const daemons: EdgedProcess[] = []
  afterAll(async () => { await Promise.all(daemons.map(async d => { await d.cleanup() })) }, 60_000)

  it(`has full presence within 10 s, and with at most ${MAX_SESSIONS} sessions each stays stable for 60 s (after a minute's warm-up, also stable) without growing`, async () => {
    const config = (bootstrap: string[]): Record<string, unknown> => ({
      rtc: { bindAddress: '127.0.0.1' },
      swarm: { bootstrap, maxSessions: MAX_SESSIONS, announceIntervalMs: 5_000, peerExpiryMs: 20_000 }
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
    // The list also shows peers whose offer was refused (`full`): count the sessions that run.
    const active = (list: any[]): any[] => list.filter(x => x.state === 'connected' || x.state === 'connecting')
    let previous = ''
    await waitFor('sessions settled (the same connected sessions twice, 3 s apart)', async () => {
      const all = await Promise.all(daemons.map(sessionsOf))
      const now = all.map(list => active(list).map(x => `${x.peer as string}:${x.state as string}:${x.session as string}`).sort().join(',')).join('|')
      const settled = now === previous && !now.includes(':connecting:')
      previous = now
      return settled
    }, 40_000, 3_000)
    const before = await Promise.all(daemons.map(sessionsOf))
    await sleep(WARM_UP_MS)

    const rss: number[][] = []
    const start = performance.now()
    while (performance.now() - start < STABLE_MS) {
      rss.push(pids.map(rssBytes))
      await sleep(1_000)
    }
    const after = await Promise.all(daemons.map(sessionsOf))

    let total = 0
    let added = 0
    for (const [i, d] of daemons.entries()) {
      expect(d.proc.exitCode, d.name).toBeNull()
      const connected = after[i].filter(s => s.state === 'connected')
      total += connected.length
      expect(active(after[i]).length, `${d.name} sessions`).toBeLessThanOrEqual(MAX_SESSIONS)
      // Stable: every PeerConnection of two minutes ago is still there, none dropped or re-made.
      // A new one may fill a free slot: an offer that crossed another and was refused `full`
      // is made again once the peer's presence says it has room.
      const now = new Map(connected.map(s => [s.peer, s.session]))
      for (const s of before[i].filter(x => x.state === 'connected')) expect(now.get(s.peer), `${d.name} → ${s.name as string}`).toBe(s.session)
      added += connected.filter(s => !before[i].some(x => x.state === 'connected' && x.session === s.session)).length
    }
    // Each session counts at both ends; a limit of 3 leaves room for about N × 3 / 2 of them.
    console.log(`${total / 2} sessions among ${N} daemons (${added / 2} of them made during the two minutes, in free slots)`)
    expect(total / 2).toBeGreaterThanOrEqual(N / 2)
    const peers = await Promise.all(daemons.map(async d => (await unixRequest(d.socket, 'GET', '/v1/peers')).body.peers.length as number))
    expect(peers).toEqual(daemons.map(() => N - 1))

    // RSS: the total of the last 10 samples against the first 10, with room for GC's swing.
    const totals = rss.map(row => row.reduce((x, y) => x + y, 0))
    const first = median(totals.slice(0, 10))
    const last = median(totals.slice(-10))
    console.log(`RSS of ${N} daemons: ${(first / 2 ** 20).toFixed(0)} MiB at the start of the minute, ${(last / 2 ** 20).toFixed(0)} MiB at its end`)
    expect(rss.length).toBeGreaterThanOrEqual(50)
    expect(last).toBeLessThanOrEqual(first * 1.1)
  }, 330_000)
})
