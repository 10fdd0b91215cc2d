import { ADAPTIVE_SOURCE, dropIncomingRandomly, FIXED_SOURCE, measureWatch, secondsToReach, shapeEgress, SOURCE_KBPS, startCountWatch, stopWatch, unshapeEgress, type WatchSecond } from '../test/helpers/adaptive-lab.ts'
import type { EdgedProcess } from '../test/helpers/edged-process.ts'
import { inAdaptiveLab } from './lib/adaptive-lab-run.ts'
import { median, percentile, round } from './lib/stats.ts'
import type { BenchContext, Benchmark, Figure } from './lib/types.ts'
import { udpPing } from './lib/udp-ping.ts'

// Issue 17: a 2 Mbit/s 640×480 30 fps H.264 source (videotestsrc snow)
// watched through a shaped link (tbf on the sender's egress), adaptive beside
// the same stream at a fixed bit rate (`adaptive: false`, today's behaviour),
// in one lab. Cases: a steady 1 Mbit/s link, a step from 4 to 1 Mbit/s
// in the middle of the watch, a step from 1 to 4 Mbit/s (time until the
// delivered rate reaches 80 % of the source's 2 Mbit/s, the min of link and
// max), and 5 % random loss (iptables) with no rate limit, where
// "delivered / link" is delivered / the source's rate. The queueing delay is what a UDP ping sees on the
// shaped direction, above its idle RTT, for both (the fixed stream has no
// estimator to ask).

const ADDR = ['10.96.18.1', '10.96.18.2'] as const
const SETTLE_S = 3
const STEADY_S = 15
const BEFORE_STEP_S = 6
const AFTER_STEP_S = 12
const BEFORE_UP_S = 4
const AFTER_UP_S = 12
const LOSS_S = 15
const LOSS = 0.05
/** The mark after a step up: 80 % of min(link, max); behind 4 Mbit/s the source's 2 Mbit/s is the min. */
const REACHED_KBPS = 0.8 * SOURCE_KBPS
const GOOD_FPS = 25

interface CaseResult { seconds: WatchSecond[], rttIncreaseMs: number[], linkKbps: number[] }

async function idleRtt (ns: [string, string]): Promise<number> {
  const { rtts } = await udpPing(ns[0], ns[1], ADDR[0], async () => { await new Promise(resolve => setTimeout(resolve, 1000)) })
  return rtts.length === 0 ? 0 : Math.min(...rtts)
}

/** `steps`' link rates (no `mbit`: unshaped, where "the link" is the source's rate); `loss`: random drops on the way. */
async function runCase (ns: [string, string], a: EdgedProcess, b: EdgedProcess, source: string, steps: Array<{ atS: number, mbit?: number }>, seconds: number, loss?: number): Promise<CaseResult> {
  const shape = (mbit: number | undefined): void => {
    if (mbit === undefined) unshapeEgress(ns[0])
    else shapeEgress(ns[0], mbit)
  }
  shape(steps[0].mbit)
  const idle = await idleRtt(ns)
  const drop = loss === undefined ? undefined : dropIncomingRandomly(ns[1], loss)
  try {
    const id = await startCountWatch(b, a, source)
    try {
      const at: Record<number, () => void> = {}
      for (const s of steps.slice(1)) at[s.atS] = () => { shape(s.mbit) }
      const { result, rtts } = await udpPing(ns[0], ns[1], ADDR[0], async () => await measureWatch(a, b, id, source, seconds, at))
      const linkKbps = result.map(s => { const mbit = [...steps].reverse().find(x => x.atS < s.t)!.mbit; return mbit === undefined ? SOURCE_KBPS : 1000 * mbit })
      return { seconds: result, rttIncreaseMs: rtts.map(r => Math.max(0, r - idle)), linkKbps }
    } finally {
      await stopWatch(b, id)
      await new Promise(resolve => setTimeout(resolve, 1500))
    }
  } finally {
    drop?.remove()
  }
}

/** Seconds after `fromS` until the first second from which every second decodes GOOD_FPS (Infinity: never). */
function recoveryS (seconds: WatchSecond[], fromS: number): number {
  const after = seconds.filter(s => s.t > fromS)
  for (let i = 0; i < after.length; i++) if (after.slice(i).every(s => s.fps >= GOOD_FPS)) return after[i].t - 1 - fromS
  return Number.POSITIVE_INFINITY
}

function figures (label: string, adaptive: CaseResult, fixed: CaseResult, fromS: number, stepAtS?: number, upAtS?: number): Figure[] {
  const pick = (r: CaseResult): WatchSecond[] => r.seconds.filter(s => s.t > fromS)
  const fps = (r: CaseResult): number[] => pick(r).map(s => s.fps)
  const delivered = (r: CaseResult): number => round(pick(r).reduce((sum, s) => sum + s.kbps / r.linkKbps[s.t - 1], 0) / pick(r).length, 2)
  const baseline = 'the same stream at a fixed 2 Mbit/s (adaptive: false)'
  const beside = (name: string, unit: string, f: (r: CaseResult) => number): Figure => ({ name: `${label}: ${name}`, unit, value: round(f(adaptive), 2), baseline, baselineValue: round(f(fixed), 2) })
  const out = [
    beside('decoded fps p5', 'fps', r => percentile(fps(r), 5)),
    beside('decoded fps median', 'fps', r => median(fps(r))),
    beside('seconds under 10 fps', 's', r => fps(r).filter(x => x < 10).length),
    beside('delivered / link', 'ratio', delivered),
    beside('RTT increase p95 (UDP ping)', 'ms', r => r.rttIncreaseMs.length === 0 ? NaN : percentile(r.rttIncreaseMs, 95))
  ]
  if (stepAtS !== undefined) out.push(beside('time to 25 fps after the step', 's', r => recoveryS(r.seconds, stepAtS)))
  if (upAtS !== undefined) out.push(beside(`time to ${REACHED_KBPS} kbit/s delivered after the step`, 's', r => secondsToReach(r.seconds, upAtS, REACHED_KBPS) ?? Number.POSITIVE_INFINITY))
  return out
}

export const benchmark: Benchmark = {
  name: 'adaptive',
  description: 'issue 17: 2 Mbit/s video through a 1 Mbit/s link, 4 → 1 and 1 → 4 Mbit/s steps, and 5 % random loss, adaptive beside a fixed bit rate',
  async run (ctx: BenchContext) {
    return await inAdaptiveLab(ctx, 'adaptive', 'abn', ADDR, async ({ ns, a, b }) => {
      const out: Figure[] = []
      const steady: Record<string, CaseResult> = {}
      const step: Record<string, CaseResult> = {}
      const up: Record<string, CaseResult> = {}
      const lossy: Record<string, CaseResult> = {}
      for (const source of [ADAPTIVE_SOURCE, FIXED_SOURCE]) {
        steady[source] = await runCase(ns, a, b, source, [{ atS: 0, mbit: 1 }], SETTLE_S + STEADY_S)
        ctx.log(`adaptive: ${source} at 1 Mbit/s: fps ${steady[source].seconds.map(s => s.fps.toFixed(0)).join(' ')}; kbit/s ${steady[source].seconds.map(s => s.kbps.toFixed(0)).join(' ')}`)
        step[source] = await runCase(ns, a, b, source, [{ atS: 0, mbit: 4 }, { atS: BEFORE_STEP_S, mbit: 1 }], BEFORE_STEP_S + AFTER_STEP_S)
        ctx.log(`adaptive: ${source} 4 → 1 Mbit/s at ${BEFORE_STEP_S} s: fps ${step[source].seconds.map(s => s.fps.toFixed(0)).join(' ')}; kbit/s ${step[source].seconds.map(s => s.kbps.toFixed(0)).join(' ')}`)
        up[source] = await runCase(ns, a, b, source, [{ atS: 0, mbit: 1 }, { atS: BEFORE_UP_S, mbit: 4 }], BEFORE_UP_S + AFTER_UP_S)
        ctx.log(`adaptive: ${source} 1 → 4 Mbit/s at ${BEFORE_UP_S} s: fps ${up[source].seconds.map(s => s.fps.toFixed(0)).join(' ')}; kbit/s ${up[source].seconds.map(s => s.kbps.toFixed(0)).join(' ')}`)
        lossy[source] = await runCase(ns, a, b, source, [{ atS: 0 }], SETTLE_S + LOSS_S, LOSS)
        ctx.log(`adaptive: ${source} 5 % loss, no limit: fps ${lossy[source].seconds.map(s => s.fps.toFixed(0)).join(' ')}; kbit/s ${lossy[source].seconds.map(s => s.kbps.toFixed(0)).join(' ')}`)
      }
      out.push(...figures('1 Mbit/s', steady[ADAPTIVE_SOURCE], steady[FIXED_SOURCE], SETTLE_S))
      out.push(...figures('4 → 1 Mbit/s', step[ADAPTIVE_SOURCE], step[FIXED_SOURCE], BEFORE_STEP_S, BEFORE_STEP_S))
      out.push(...figures('1 → 4 Mbit/s', up[ADAPTIVE_SOURCE], up[FIXED_SOURCE], BEFORE_UP_S, undefined, BEFORE_UP_S))
      out.push(...figures('5 % loss, no limit (delivered / source rate)', lossy[ADAPTIVE_SOURCE], lossy[FIXED_SOURCE], SETTLE_S))
      return out
    })
  }
}
