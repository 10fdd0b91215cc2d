import path from 'node:path'
import type { WebSocket } from 'ws'
import { treeCpuMs } from './lib/cpu.ts'
import { echoText, openChannelSocket, pingText, receiveBinary, sendBinary } from './lib/channel-socket.ts'
import { isReady, sessionWith, startEdged, type EdgedDaemon } from './lib/edged.ts'
import { JsonLines } from './lib/json-lines.ts'
import { sleep } from './lib/sleep.ts'
import { median, percentile, round } from './lib/stats.ts'
import type { BenchContext, Benchmark, Figure } from './lib/types.ts'

const DEFAULT_RUNS = 3
const MESSAGE_BYTES = 16 * 1024
const TOTAL_BYTES = 64 * 1024 * 1024
const WARMUP_BYTES = 8 * 1024 * 1024
/** The sending WebSocket waits while this much is unsent (edged's reliable channel high-water mark). */
const WS_HIGH_WATER_MARK = 1024 * 1024
/** Enough that p99.9 rests on four samples. */
const PINGS = 4000
const PING_BLOCKS = 4
const WARMUP_PINGS = 200
const PING_BYTES = 32
const TRANSFER_TIMEOUT_MS = 60_000
const PING_TIMEOUT_MS = 5_000
const CHANNEL = 'control'
const BASELINE = 'bare node-datachannel, two processes (signalling over a unix socket), bufferedAmountLow backpressure'

interface Path {
  label: string
  /** The processes whose CPU time a transfer costs (edged: both daemons; bare: both ends). */
  pids: number[]
  /** ms from the first message sent to the last byte received. */
  transfer: (bytes: number) => Promise<number>
  pings: (count: number) => Promise<number[]>
}

async function startDaemons (ctx: BenchContext): Promise<[EdgedDaemon, EdgedDaemon]> {
  const rtc = { bindAddress: '127.0.0.1', channels: { [CHANNEL]: { ordered: true } } }
  const a = await startEdged(ctx, { name: 'alpha', rtc })
  const b = await startEdged(ctx, { name: 'bravo', swarm: { bootstrap: [a.addresses[0]] }, rtc })
  const deadline = performance.now() + 30_000
  for (;;) {
    const [onA, onB] = await Promise.all([sessionWith(a, b.peerId), sessionWith(b, a.peerId)])
    if (isReady(onA, CHANNEL) && isReady(onB, CHANNEL)) return [a, b]
    if (performance.now() > deadline) throw new Error(`no session with '${CHANNEL}' open between the daemons in 30 s:\n${a.child.output().slice(-1500)}\n${b.child.output().slice(-1500)}`)
    await sleep(50)
  }
}

/** A client on A's socket sends, a client on B's socket receives (and echoes text). */
async function daemonPath (ctx: BenchContext, a: EdgedDaemon, b: EdgedDaemon): Promise<Path> {
  const onA = await openChannelSocket(a.socket, b.peerId, CHANNEL)
  const onB = await openChannelSocket(b.socket, a.peerId, CHANNEL)
  ctx.scope.defer(() => { onA.terminate(); onB.terminate() })
  echoText(onB)
  return {
    label: 'edged',
    pids: [a.child.pid, b.child.pid],
    transfer: async bytes => {
      const arrived = receiveBinary(onB, bytes, TRANSFER_TIMEOUT_MS)
      const started = performance.now()
      await Promise.all([sendBinary(onA, bytes, MESSAGE_BYTES, WS_HIGH_WATER_MARK), arrived])
      return performance.now() - started
    },
    pings: async count => await pingText(onA as WebSocket, count, PING_BYTES, PING_TIMEOUT_MS)
  }
}

async function barePath (ctx: BenchContext): Promise<Path> {
  const script = path.join(import.meta.dirname, 'baselines', 'ndc-peer.ts')
  const signal = path.join(await ctx.tempDir('ndc-'), 'signal.sock')
  const spawn = (role: string): JsonLines => new JsonLines(ctx.spawn(process.execPath, [script, role, signal], { cwd: ctx.repoRoot, stdin: 'pipe' }))
  const answer = spawn('answer')
  await answer.next(m => m.listening === true)
  const offer = spawn('offer')
  await Promise.all([answer.next(m => m.ready === true), offer.next(m => m.ready === true)])
  return {
    label: 'bare',
    pids: [answer.child.pid, offer.child.pid],
    transfer: async bytes => {
      await answer.request({ cmd: 'expect', bytes })
      const started = performance.now()
      const sent = offer.request({ cmd: 'send', bytes, size: MESSAGE_BYTES }, TRANSFER_TIMEOUT_MS)
      sent.catch(() => {}) // awaited below; only keeps a failed wait from leaving it unhandled
      await answer.next(m => m.done === true, TRANSFER_TIMEOUT_MS)
      const ms = performance.now() - started
      await sent
      return ms
    },
    pings: async count => (await offer.request({ cmd: 'rtt', count, size: PING_BYTES }, count * PING_TIMEOUT_MS)).rtts
  }
}

const mbPerS = (bytes: number, ms: number): number => round(bytes / 1e6 / (ms / 1000), 2)

async function cpuMs (p: Path): Promise<number> {
  let total = 0
  for (const pid of p.pids) total += await treeCpuMs(pid)
  return total
}

export const benchmark: Benchmark = {
  name: 'sessions-throughput',
  description: 'reliable channel MB/s and small-message RTT between two daemons through their control sockets, against bare node-datachannel',
  run: async ctx => {
    const runs = ctx.runs ?? DEFAULT_RUNS
    const [a, b] = await startDaemons(ctx)
    const paths = [await daemonPath(ctx, a, b), await barePath(ctx)]
    for (const p of paths) {
      await p.transfer(WARMUP_BYTES)
      await p.pings(WARMUP_PINGS)
    }

    const rates = new Map<Path, number[]>(paths.map(p => [p, []]))
    const cpu = new Map<Path, number[]>(paths.map(p => [p, []]))
    /** edged: the daemons and the two WebSocket clients (this process); bare: as cpu. */
    const wholePath = new Map<Path, number[]>(paths.map(p => [p, []]))
    const mib = TOTAL_BYTES / 1024 / 1024
    for (let i = 0; i < runs; i++) {
      for (const p of i % 2 === 0 ? paths : [...paths].reverse()) {
        const cpuBefore = await cpuMs(p)
        const clientsBefore = process.cpuUsage()
        const ms = await p.transfer(TOTAL_BYTES)
        const cpuPerMiB = round((await cpuMs(p) - cpuBefore) / mib, 2)
        const clients = process.cpuUsage(clientsBefore)
        const clientsPerMiB = p.label === 'edged' ? round((clients.user + clients.system) / 1000 / mib, 2) : 0
        rates.get(p)?.push(mbPerS(TOTAL_BYTES, ms))
        cpu.get(p)?.push(cpuPerMiB)
        wholePath.get(p)?.push(round(cpuPerMiB + clientsPerMiB, 2))
        ctx.log(`run ${i + 1}/${runs} ${p.label}: ${mib} MiB in ${ms.toFixed(0)} ms = ${mbPerS(TOTAL_BYTES, ms)} MB/s, ` +
          `${cpuPerMiB} CPU ms/MiB` + (p.label === 'edged' ? ` (+ ${clientsPerMiB} in the two WebSocket clients)` : ''))
      }
    }
    const rtts = new Map<Path, number[]>(paths.map(p => [p, []]))
    for (let i = 0; i < PING_BLOCKS; i++) {
      for (const p of i % 2 === 0 ? paths : [...paths].reverse()) rtts.get(p)?.push(...await p.pings(PINGS / PING_BLOCKS))
    }

    const [edged, bare] = paths
    const rtt = (p: Path, q: number): number => round(percentile(rtts.get(p) ?? [], q), 3)
    ctx.log(`RTT edged p50 ${rtt(edged, 50)} p99 ${rtt(edged, 99)} p99.9 ${rtt(edged, 99.9)} ms; bare p50 ${rtt(bare, 50)} p99 ${rtt(bare, 99)} p99.9 ${rtt(bare, 99.9)} ms`)
    const figures: Figure[] = [
      {
        name: `throughput A → B, ${TOTAL_BYTES / 1024 / 1024} MiB in ${MESSAGE_BYTES / 1024} KiB binary messages, reliable ordered (median of ${runs})`,
        unit: 'MB/s',
        value: median(rates.get(edged) ?? []),
        samples: rates.get(edged),
        baseline: BASELINE,
        baselineValue: median(rates.get(bare) ?? []),
        baselineSamples: rates.get(bare)
      },
      {
        name: 'CPU time per MiB moved, both ends (edged: the two daemons, not counting the WebSocket clients)',
        unit: 'ms/MiB',
        value: median(cpu.get(edged) ?? []),
        samples: cpu.get(edged),
        baseline: BASELINE,
        baselineValue: median(cpu.get(bare) ?? []),
        baselineSamples: cpu.get(bare)
      },
      {
        // On a two-core machine a path that costs C ms of CPU per MiB moves at most 2000 / C MiB/s:
        // the ratio of these two caps the throughput ratio above.
        name: 'CPU time per MiB moved, whole path (edged: the two daemons and the two WebSocket clients, the local programs)',
        unit: 'ms/MiB',
        value: median(wholePath.get(edged) ?? []),
        samples: wholePath.get(edged),
        baseline: BASELINE,
        baselineValue: median(wholePath.get(bare) ?? []),
        baselineSamples: wholePath.get(bare)
      },
      {
        name: `RTT p50, ${PINGS} sequential ${PING_BYTES}-byte pings (echo at B)`,
        unit: 'ms',
        value: rtt(edged, 50),
        baseline: BASELINE,
        baselineValue: rtt(bare, 50)
      },
      {
        name: `RTT p99, ${PINGS} sequential ${PING_BYTES}-byte pings (echo at B)`,
        unit: 'ms',
        value: rtt(edged, 99),
        baseline: BASELINE,
        baselineValue: rtt(bare, 99)
      },
      {
        name: `RTT p99.9, ${PINGS} sequential ${PING_BYTES}-byte pings (echo at B)`,
        unit: 'ms',
        value: rtt(edged, 99.9),
        baseline: BASELINE,
        baselineValue: rtt(bare, 99.9)
      }
    ]
    return figures
  }
}
