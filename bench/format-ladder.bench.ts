import { ADAPTIVE_SOURCE, FIXED_SOURCE, measureWatch, shapeEgress, startCountWatch, stopWatch, type WatchSecond } from '../test/helpers/adaptive-lab.ts'
import type { EdgedProcess } from '../test/helpers/edged-process.ts'
import { inAdaptiveLab } from './lib/adaptive-lab-run.ts'
import { unixRequest } from '../test/helpers/unix-http.ts'
import { median, percentile, round } from './lib/stats.ts'
import type { BenchContext, Benchmark, Figure } from './lib/types.ts'

// Issue 17, below the bit-rate floor: the lab's 640×480 30 fps H.264 source
// (minBitrate 150 kbit/s) through a 100 kbit/s link, then the link back at
// 4 Mbit/s. The adaptive source's format steps down (format-ladder.ts) and
// back up; beside it the same stream at a fixed 2 Mbit/s (today's behaviour).
// Each second: decoded fps and the format the source is fed.

const ADDR = ['10.96.21.1', '10.96.21.2'] as const
const SLOW_MBIT = 0.1
const FAST_MBIT = 4
const SLOW_S = 25
const FAST_S = 35
/** Seconds of the slow part before its figures count (the estimate comes down from 2 Mbit/s first). */
const SETTLE_S = 12
const TOP_FORMAT = '640x480@30'
const GOOD_FPS = 25

interface Second extends WatchSecond { format: string }

async function formatOf (a: EdgedProcess, source: string): Promise<string> {
  const { body } = await unixRequest(a.socket, 'GET', '/v1/sources')
  const f = (body.local as any[]).find(s => s.name === source)?.stats?.format
  return f == null ? '-' : `${f.width}x${f.height}@${f.fps}`
}

async function runCase (ns: [string, string], a: EdgedProcess, b: EdgedProcess, source: string): Promise<Second[]> {
  shapeEgress(ns[0], SLOW_MBIT)
  const id = await startCountWatch(b, a, source)
  try {
    const formats: string[] = []
    const at: Record<number, () => void> = {}
    for (let s = 0; s < SLOW_S + FAST_S; s++) {
      at[s] = () => {
        if (s === SLOW_S) shapeEgress(ns[0], FAST_MBIT)
        // read at the end of the second (measureWatch runs `at` at its start)
        setTimeout(() => { void formatOf(a, source).then(f => { formats[s] = f }, () => {}) }, 950)
      }
    }
    const seconds = await measureWatch(a, b, id, source, SLOW_S + FAST_S, at)
    return seconds.map((s, i) => ({ ...s, format: formats[i] ?? '?' }))
  } finally {
    await stopWatch(b, id)
    await new Promise(resolve => setTimeout(resolve, 1500))
  }
}

export const benchmark: Benchmark = {
  name: 'format-ladder',
  description: 'issue 17: 2 Mbit/s video through a 100 kbit/s link (under minBitrate), then 4 Mbit/s: the format steps down and back, beside a fixed bit rate',
  async run (ctx: BenchContext) {
    return await inAdaptiveLab(ctx, 'format-ladder', 'fln', ADDR, async ({ ns, a, b }) => {
      const runs: Record<string, Second[]> = {}
      for (const source of [ADAPTIVE_SOURCE, FIXED_SOURCE]) {
        runs[source] = await runCase(ns, a, b, source)
        ctx.log(`format-ladder: ${source}\n${runs[source].map(s => `${s.t}s ${s.format} fps=${s.fps.toFixed(0)} kbps=${s.kbps.toFixed(0)} est=${s.estimateKbps?.toFixed(0) ?? '-'} target=${s.targetKbps?.toFixed(0) ?? '-'}`).join('\n')}`)
      }
      const slow = (r: Second[]): number[] => r.filter(s => s.t > SETTLE_S && s.t <= SLOW_S).map(s => s.fps)
      /** Seconds from the link's recovery until every second from then on decodes 25 fps (Infinity: never). */
      const recovered = (r: Second[]): number => {
        const after = r.filter(s => s.t > SLOW_S)
        const i = after.findIndex((_, j) => after.slice(j).every(s => s.fps >= GOOD_FPS))
        return i < 0 ? Number.POSITIVE_INFINITY : after[i].t - 1 - SLOW_S
      }
      const firstStepS = (r: Second[]): number => r.find(s => s.format !== TOP_FORMAT && s.t <= SLOW_S)?.t ?? Number.POSITIVE_INFINITY
      const adaptive = runs[ADAPTIVE_SOURCE]
      const fixed = runs[FIXED_SOURCE]
      const baseline = 'the same stream at a fixed 2 Mbit/s (adaptive: false)'
      const beside = (name: string, unit: string, f: (r: Second[]) => number): Figure => ({ name: `100 kbit/s: ${name}`, unit, value: round(f(adaptive), 2), baseline, baselineValue: round(f(fixed), 2) })
      return [
        beside(`decoded fps p5 (after ${SETTLE_S} s)`, 'fps', r => percentile(slow(r), 5)),
        beside(`decoded fps median (after ${SETTLE_S} s)`, 'fps', r => median(slow(r))),
        beside(`seconds under 10 fps (after ${SETTLE_S} s)`, 's', r => slow(r).filter(x => x < 10).length),
        beside('first format step down', 's', firstStepS),
        beside(`${GOOD_FPS} fps again after the link is ${FAST_MBIT} Mbit/s`, 's', recovered)
      ]
    })
  }
}
