import path from 'node:path'
import { CONNECT_PHASES, ConnectTrace } from './lib/connect-trace.ts'
import { startEdged, waitForPeer, sessionWith, isReady, isDown, type EdgedDaemon } from './lib/edged.ts'
import { JsonLines } from './lib/json-lines.ts'
import { SseStream } from './lib/sse.ts'
import { sleep } from './lib/sleep.ts'
import { median, p95, round } from './lib/stats.ts'
import { expectStatus } from './lib/unix-json.ts'
import type { BenchContext, Benchmark, Figure } from './lib/types.ts'

/** Measured tries per target (`--runs` overrides). */
const DEFAULT_TRIES = 50
const WARMUP_TRIES = 3
/** Tries on a second pair of daemons logging their transport at debug level, for the per-phase rows. */
const MAX_TRACED_TRIES = 15
const TRY_TIMEOUT_MS = 15_000
/** Poll for channels opening after the SSE 'connected' event (no event says a channel opened). */
const OPEN_POLL_MS = 2
const DOWN_POLL_MS = 5
const SLOW_MS = 500
const CHANNEL = 'control'

const FLOOR = 'bare node-datachannel, one process, direct signalling (answerer made DTLS server: no 1 s stall)'
const DEFAULT_ROLES = 'bare node-datachannel, one process, direct signalling (libdatachannel default DTLS roles)'
const LIBP2P = '@libp2p/webrtc (WebRTC Direct), two processes, dial → stream open'

interface Sample {
  ms: number
  /** Until the state says connected (daemon: SSE event at A; bare: offerer's PeerConnection). */
  connectedMs?: number
  /** ms from the start of the try to each connect phase (CONNECT_PHASES). */
  phases?: Record<string, number>
}

interface Target {
  label: string
  tryOnce: () => Promise<Sample>
}

async function waitUntil (what: string, check: () => Promise<boolean>, everyMs: number, timeoutMs = TRY_TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(everyMs)
  }
}

async function startDaemons (ctx: BenchContext, log?: Record<string, unknown>): Promise<[EdgedDaemon, EdgedDaemon]> {
  const rtc = { bindAddress: '127.0.0.1', channels: { [CHANNEL]: { ordered: true } } }
  const a = await startEdged(ctx, { name: 'alpha', swarm: { autoconnect: false }, rtc, ...(log !== undefined ? { log } : {}) })
  const b = await startEdged(ctx, { name: 'bravo', swarm: { autoconnect: false, bootstrap: [a.addresses[0]] }, rtc, ...(log !== undefined ? { log } : {}) })
  await waitForPeer(a, b.peerId)
  await waitForPeer(b, a.peerId)
  return [a, b]
}

/** POST /v1/sessions on A → A connected (SSE) → 'control' open on both (poll); then DELETE and wait until both are down. */
function daemonTarget (a: EdgedDaemon, b: EdgedDaemon, events: SseStream): Target {
  return {
    label: 'edged',
    tryOnce: async () => {
      for (const d of [a, b]) if (!d.child.running) throw new Error(`edged ${d.name} exited:\n${d.child.output().slice(-3000)}`)
      const connected = events.waitFor(e => {
        if (e.type !== 'session:state') return false
        const info = JSON.parse(e.data)
        return info.peer === b.peerId && info.state === 'connected'
      }, TRY_TIMEOUT_MS, `session:state connected for ${b.name} on ${a.name}`)
      connected.catch(() => {}) // awaited below; only keeps a failed POST from leaving it unhandled
      const started = performance.now()
      await expectStatus(a.socket, 'POST', '/v1/sessions', 202, { peer: b.peerId })
      await connected
      const connectedMs = performance.now() - started
      await waitUntil(`${CHANNEL} open on both`, async () => {
        const [onA, onB] = await Promise.all([sessionWith(a, b.peerId), sessionWith(b, a.peerId)])
        return isReady(onA, CHANNEL) && isReady(onB, CHANNEL)
      }, OPEN_POLL_MS)
      const ms = performance.now() - started
      await expectStatus(a.socket, 'DELETE', `/v1/sessions/${b.peerId}`, 204)
      await waitUntil('the session down on both', async () => {
        const [onA, onB] = await Promise.all([sessionWith(a, b.peerId), sessionWith(b, a.peerId)])
        return isDown(onA) && isDown(onB)
      }, DOWN_POLL_MS)
      return { ms, connectedMs }
    }
  }
}

function bareTarget (floor: JsonLines, dtlsServer: 'answerer' | 'default'): Target {
  return {
    label: `bare-${dtlsServer}`,
    tryOnce: async () => {
      const r = await floor.request({ cmd: 'try', dtlsServer }, TRY_TIMEOUT_MS)
      return { ms: r.ms, connectedMs: r.connectedMs, phases: r.phases }
    }
  }
}

function libp2pTarget (dialer: JsonLines, listener: JsonLines, addr: string): Target {
  return {
    label: 'libp2p-webrtc',
    tryOnce: async () => {
      const r = await dialer.request({ cmd: 'try', addr }, TRY_TIMEOUT_MS)
      await waitUntil('the listener to drop the connection', async () => (await listener.request({ cmd: 'count' })).connections === 0, DOWN_POLL_MS)
      return { ms: r.ms }
    }
  }
}

async function startBaseline (ctx: BenchContext, script: string, args: string[] = []): Promise<{ lines: JsonLines, ready: Record<string, any> }> {
  const child = ctx.spawn(process.execPath, [path.join(import.meta.dirname, 'baselines', script), ...args], { cwd: ctx.repoRoot, stdin: 'pipe' })
  const lines = new JsonLines(child)
  return { lines, ready: await lines.next(m => m.ready === true) }
}

/**
 * Per-phase times on a second pair of daemons whose transport and session
 * loggers are at debug level (their JSON lines carry the phases, to the ms):
 * the measured pair stays at info, so the logging costs nothing there.
 */
async function tracedTries (ctx: BenchContext, tries: number): Promise<Sample[]> {
  const log = { level: 'info', levels: { transport: 'debug', sessions: 'debug' } }
  const [a, b] = await startDaemons(ctx, log)
  const trace = new ConnectTrace([a.child, b.child], CHANNEL)
  const events = await SseStream.open(a.socket, '/v1/events')
  try {
    const target = daemonTarget(a, b, events)
    for (let i = 0; i < WARMUP_TRIES; i++) await target.tryOnce()
    const samples: Sample[] = []
    for (let i = 0; i < tries; i++) {
      trace.reset()
      const startedAt = Date.now()
      const sample = await target.tryOnce()
      samples.push({ ...sample, phases: trace.phases(startedAt) })
    }
    return samples
  } finally {
    events.close()
    await Promise.all([a.child.stop(), b.child.stop()])
  }
}

/** The median of each phase's time since the start of the try, edged (traced) beside the floor. */
function phaseRows (traced: Sample[], floor: Sample[]): Figure[] {
  const of = (samples: Sample[], phase: string): number[] =>
    samples.map(s => s.phases?.[phase]).filter((v): v is number => v !== undefined)
  return CONNECT_PHASES.flatMap(phase => {
    const mine = of(traced, phase)
    const base = of(floor, phase)
    if (mine.length === 0 || base.length === 0) return []
    return [row(`connect phase: ${phase} (ms since the request; edged traced at debug level), median`, 'ms', mine, median, FLOOR, base)]
  })
}

/** One figure: `valueOf` (median, p95, a count) of edged's samples beside the same of a baseline's. */
function row (name: string, unit: string, samples: number[], valueOf: (s: number[]) => number, baseline: string, baselineSamples: number[]): Figure {
  return {
    name,
    unit,
    value: round(valueOf(samples), 2),
    samples: samples.map(v => round(v, 2)),
    baseline,
    baselineValue: round(valueOf(baselineSamples), 2),
    baselineSamples: baselineSamples.map(v => round(v, 2))
  }
}

const slow = (samples: number[]): number => samples.filter(ms => ms > SLOW_MS).length

export const benchmark: Benchmark = {
  name: 'sessions-connect',
  description: 'peer known → data channel open: edged POST /v1/sessions against bare node-datachannel and @libp2p/webrtc',
  run: async ctx => {
    const tries = ctx.runs ?? DEFAULT_TRIES
    const [a, b] = await startDaemons(ctx)
    const events = await SseStream.open(a.socket, '/v1/events')
    ctx.scope.defer(() => { events.close() })
    const floor = await startBaseline(ctx, 'ndc-connect.ts')
    const listener = await startBaseline(ctx, 'libp2p-webrtc.ts', ['listen'])
    const dialer = await startBaseline(ctx, 'libp2p-webrtc.ts', ['dial'])

    const targets = [
      daemonTarget(a, b, events),
      bareTarget(floor.lines, 'answerer'),
      bareTarget(floor.lines, 'default'),
      libp2pTarget(dialer.lines, listener.lines, String(listener.ready.addr))
    ]
    for (const target of targets) for (let i = 0; i < WARMUP_TRIES; i++) await target.tryOnce()

    const samples = new Map<Target, Sample[]>(targets.map(t => [t, []]))
    for (let i = 0; i < tries; i++) {
      // rotate who goes first so drift over the run hits all alike
      for (let k = 0; k < targets.length; k++) {
        const target = targets[(i + k) % targets.length]
        samples.get(target)?.push(await target.tryOnce())
      }
      if ((i + 1) % 10 === 0) {
        ctx.log(`${i + 1}/${tries}: ${targets.map(t => `${t.label} ${median((samples.get(t) ?? []).map(s => s.ms)).toFixed(1)} ms`).join(', ')}`)
      }
    }

    const traced = await tracedTries(ctx, Math.min(tries, MAX_TRACED_TRIES))
    const ms = (t: Target): number[] => (samples.get(t) ?? []).map(s => s.ms)
    const [edged, bare, bareDefault, libp2p] = targets
    const open = `peer known → '${CHANNEL}' channel open on both`
    const figures: Figure[] = [
      row(`connect: ${open}, median`, 'ms', ms(edged), median, FLOOR, ms(bare)),
      row(`connect: ${open}, median`, 'ms', ms(edged), median, LIBP2P, ms(libp2p)),
      row(`connect: ${open}, p95`, 'ms', ms(edged), p95, FLOOR, ms(bare)),
      row(`connect: ${open}, p95`, 'ms', ms(edged), p95, LIBP2P, ms(libp2p)),
      row(`connect: tries over ${SLOW_MS} ms (of ${tries})`, 'tries', ms(edged), slow, FLOOR, ms(bare)),
      row(`connect: tries over ${SLOW_MS} ms (of ${tries})`, 'tries', ms(edged), slow, DEFAULT_ROLES, ms(bareDefault)),
      row(`connect: tries over ${SLOW_MS} ms (of ${tries})`, 'tries', ms(edged), slow, LIBP2P, ms(libp2p)),
      row('connect: until the session is connected (edged: POST → SSE event; bare: new PeerConnection → connected), median', 'ms',
        (samples.get(edged) ?? []).map(s => s.connectedMs ?? NaN), median, FLOOR, (samples.get(bare) ?? []).map(s => s.connectedMs ?? NaN)),
      ...phaseRows(traced, samples.get(bare) ?? [])
    ]
    return figures
  }
}
