import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EdgedProcess } from '../helpers/edged-process.ts'
import { netnsUnavailable, NetnsSet } from '../helpers/netns-lab.ts'
import { ADAPTIVE_SOURCE, formatSeconds, measureWatch, shapeEgress, startAdaptiveLab, startCountWatch, stopWatch } from '../helpers/adaptive-lab.ts'

// Issue 17: a 2 Mbit/s 640×480 30 fps H.264 source (videotestsrc snow) seen
// through a 1 Mbit/s link (tbf on the sender's egress). Before adaptation,
// 36 frames decoded in 20 s. The sender now estimates the viewer's link from
// its transport-cc feedback and the encoder follows. The issue asks for 30 s
// measured; this measures 15 s after 3 s of settling, to keep the suite
// inside its time. The step case shares the lab: 5 s at 4 Mbit/s, 6 s at 1.

const skip = netnsUnavailable()
const ADDR = ['10.96.17.1', '10.96.17.2'] as const
const SETTLE_S = 3
const MEASURE_S = 15
const BEFORE_STEP_S = 5
const AFTER_STEP_S = 6
/** The issue: at least 25 fps again within 3 s of the step. */
const RECOVER_S = 3

describe.skipIf(skip !== undefined)(`adaptive video through a shaped link (netns)${skip !== undefined ? ` — skipped: ${skip}` : ''}`, () => {
  const set = new NetnsSet()
  let ns: [string, string]
  let a: EdgedProcess, b: EdgedProcess

  beforeAll(async () => {
    ({ ns, a, b } = await startAdaptiveLab(set, 'adv', ADDR))
  }, 60_000)
  afterAll(async () => {
    await Promise.all([a, b].map(async d => { await d?.cleanup() }))
    set.remove()
  })

  it('through 1 Mbit/s: after 3 s, at least 25 fps decoded every second and at least 0.75 Mbit/s delivered, on transport-cc feedback', async () => {
    shapeEgress(ns[0], 1)
    const id = await startCountWatch(b, a, ADAPTIVE_SOURCE)
    try {
      const seconds = await measureWatch(a, b, id, ADAPTIVE_SOURCE, SETTLE_S + MEASURE_S)
      console.log(formatSeconds(seconds))
      const measured = seconds.slice(SETTLE_S)
      const kbps = measured.reduce((sum, s) => sum + s.kbps, 0) / measured.length
      expect(measured.at(-1)?.source).toBe('transport-cc')
      expect(Math.min(...measured.map(s => s.fps))).toBeGreaterThanOrEqual(25)
      expect(kbps).toBeGreaterThanOrEqual(750)
    } finally {
      await stopWatch(b, id)
    }
  }, 60_000)

  it('a step from 4 to 1 Mbit/s in the middle of a watch: frames keep decoding, and 25 fps is back within 3 s', async () => {
    shapeEgress(ns[0], 4)
    const id = await startCountWatch(b, a, ADAPTIVE_SOURCE)
    try {
      const seconds = await measureWatch(a, b, id, ADAPTIVE_SOURCE, BEFORE_STEP_S + AFTER_STEP_S, { [BEFORE_STEP_S]: () => { shapeEgress(ns[0], 1) } })
      console.log(formatSeconds(seconds))
      const after = seconds.slice(BEFORE_STEP_S)
      // Per-second counts: no second without a decoded frame (the issue asks for no gap over 1 s).
      expect(Math.min(...after.map(s => s.fps))).toBeGreaterThan(0)
      expect(Math.min(...after.slice(RECOVER_S).map(s => s.fps))).toBeGreaterThanOrEqual(25)
    } finally {
      await stopWatch(b, id)
    }
  }, 60_000)
})
