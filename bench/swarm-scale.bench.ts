import { readCpuMs } from './lib/cpu.ts'
import { startEdged, type EdgedDaemon } from './lib/edged.ts'
import { readRssKiB } from './lib/rss.ts'
import { sleep } from './lib/sleep.ts'
import { median, round } from './lib/stats.ts'
import { unixJson } from './lib/unix-json.ts'
import type { BenchContext, Benchmark, Figure } from './lib/types.ts'

// Presence convergence and per-daemon memory as the swarm grows, beside the
// smallest swarm (convergence) and one daemon alone (memory), in one run.

// Idle in a swarm of twenty a daemon costs about 0.05 of a core: twenty fit on two cores (see test/e2e/scale.test.ts).
const SIZES = [5, 10, 20]
const CONVERGE_TIMEOUT_MS = 60_000
/** RSS is read this long after convergence, once sessions and gossip have settled. */
const SETTLE_MS = 10_000
const START_BATCH = 4
/** Idle CPU is the CPU time the daemons take over this window, after the settling. */
const CPU_WINDOW_MS = 10_000

interface SwarmSample { convergeMs: number, rssMiB: number, idleCores: number }

async function peerCount (d: EdgedDaemon): Promise<number> {
  const res = await unixJson(d.socket, 'GET', '/v1/peers').catch(() => undefined)
  return res?.status === 200 ? (res.body.peers as unknown[]).length : -1
}

async function pidsOf (daemons: EdgedDaemon[]): Promise<number[]> {
  return await Promise.all(daemons.map(async d => (await unixJson(d.socket, 'GET', '/v1/status')).body.pid as number))
}

/** The median daemon's CPU use over CPU_WINDOW_MS, in cores. */
async function medianIdleCores (daemons: EdgedDaemon[]): Promise<number> {
  const pids = await pidsOf(daemons)
  const before = await Promise.all(pids.map(readCpuMs))
  const t0 = performance.now()
  await sleep(CPU_WINDOW_MS)
  const after = await Promise.all(pids.map(readCpuMs))
  const seconds = (performance.now() - t0) / 1000
  const used = after.map((ms, i) => ms === undefined || before[i] === undefined ? undefined : (ms - (before[i] as number)) / 1000 / seconds)
  return Math.round(median(used.filter((x): x is number => x !== undefined)) * 1000) / 1000
}

async function medianRssMiB (daemons: EdgedDaemon[]): Promise<number> {
  const pids = await pidsOf(daemons)
  const rss = await Promise.all(pids.map(readRssKiB))
  return round(median(rss.filter((x): x is number => x !== undefined)) / 1024)
}

/** Start `n` daemons (a seed, then the rest bootstrapping to it, a few at a time), time until each lists the others, read RSS. */
async function swarmOf (ctx: BenchContext, n: number): Promise<SwarmSample> {
  const swarm = { name: `scale${n}`, maxSessions: 3, announceIntervalMs: 5_000, peerExpiryMs: 20_000 }
  const rtc = { bindAddress: '127.0.0.1' }
  const seed = await startEdged(ctx, { name: `s${n}-0`, swarm, rtc })
  const daemons = [seed]
  try {
    for (let i = 1; i < n; i += START_BATCH) {
      const batch = await Promise.all(Array.from({ length: Math.min(START_BATCH, n - i) }, async (_, k) =>
        await startEdged(ctx, { name: `s${n}-${i + k}`, swarm: { ...swarm, bootstrap: [seed.addresses[0]] }, rtc })))
      daemons.push(...batch)
    }
    const t0 = performance.now()
    for (;;) {
      const counts = await Promise.all(daemons.map(peerCount))
      if (counts.every(c => c === n - 1)) break
      if (performance.now() - t0 > CONVERGE_TIMEOUT_MS) throw new Error(`swarm of ${n}: no full presence in ${CONVERGE_TIMEOUT_MS} ms (${counts.join(' ')})`)
      await sleep(100)
    }
    const convergeMs = round(performance.now() - t0)
    await sleep(SETTLE_MS)
    const rssMiB = await medianRssMiB(daemons)
    const idleCores = await medianIdleCores(daemons)
    ctx.log(`swarm of ${n}: full presence ${convergeMs} ms after the last daemon answered, median RSS ${rssMiB} MiB, idle ${idleCores} cores each`)
    return { convergeMs, rssMiB, idleCores }
  } finally {
    await Promise.all(daemons.map(async d => { await d.child.stop() }))
  }
}

export const benchmark: Benchmark = {
  name: 'swarm scale',
  description: 'presence convergence and per-daemon RSS for swarms of 5, 10 and 20 daemons',
  async run (ctx) {
    const alone = await startEdged(ctx, { name: 'alone', swarm: { announceIntervalMs: 5_000 } })
    await sleep(SETTLE_MS)
    const aloneRss = await medianRssMiB([alone])
    const aloneCores = await medianIdleCores([alone])
    await alone.child.stop()
    const samples = new Map<number, SwarmSample>()
    for (const n of SIZES) samples.set(n, await swarmOf(ctx, n))
    const smallest = samples.get(SIZES[0]) as SwarmSample
    const figures: Figure[] = []
    for (const n of SIZES.slice(1)) {
      figures.push({ name: `presence convergence, ${n} daemons`, value: samples.get(n)!.convergeMs, unit: 'ms', baseline: `${SIZES[0]} daemons`, baselineValue: smallest.convergeMs })
    }
    for (const n of SIZES) {
      figures.push({ name: `RSS per daemon, swarm of ${n}`, value: samples.get(n)!.rssMiB, unit: 'MiB', baseline: 'one daemon alone', baselineValue: aloneRss })
    }
    for (const n of SIZES) {
      figures.push({ name: `idle CPU per daemon, swarm of ${n}`, value: samples.get(n)!.idleCores, unit: 'cores', baseline: 'one daemon alone', baselineValue: aloneCores })
    }
    return figures
  }
}
