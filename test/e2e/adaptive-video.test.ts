import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EdgedProcess } from '../helpers/edged-process.ts'
import { netnsUnavailable, NetnsSet } from '../helpers/netns-lab.ts'
import { ADAPTIVE_SOURCE, dropIncomingRandomly, formatSeconds, measureWatch, secondsToReach, shapeEgress, SOURCE_KBPS, startAdaptiveLab, startCountWatch, stopWatch, unshapeEgress } from '../helpers/adaptive-lab.ts'

// Issue 17: a 2 Mbit/s 640×480 30 fps H.264 source (videotestsrc snow) seen
// through a 1 Mbit/s link (tbf on the sender's egress). Before adaptation,
// 36 frames decoded in 20 s. The sender now estimates the viewer's link from
// its transport-cc feedback and the encoder follows. The issue asks for 30 s
// measured; this measures 15 s after 3 s of settling, to keep the suite
// inside its time. The step cases share the lab: 5 s at 4 Mbit/s, 6 s at 1;
// 3 s at 1 Mbit/s, 10 s at 4 (the issue's whole window for the climb). The
// 5 % loss case measures 8 s (the issue: 30 s) with no rate limit, the
// loss dropped on the viewer's side (iptables INPUT: a drop in the sender's
// OUTPUT fails its sendto() instead, a local error rather than path loss).

const skip = netnsUnavailable()
const ADDR = ['10.96.17.1', '10.96.17.2'] as const
const SETTLE_S = 3
const MEASURE_S = 15
const BEFORE_STEP_S = 5
const AFTER_STEP_S = 6
/** The issue: at least 25 fps again within 3 s of the step. */
const RECOVER_S = 3
const BEFORE_UP_S = 3
/** The issue: 80 % of min(link, max) within 10 s of a step up; the source's 2 Mbit/s is the min behind 4 Mbit/s. */
const UP_WITHIN_S = 10
const LOSS_SETTLE_S = 2
const LOSS_S = 8
const LOSS = 0.05

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

  it('a step from 1 to 4 Mbit/s: the delivered rate reaches 80 % of the source\'s 2 Mbit/s within 10 s', async () => {
    shapeEgress(ns[0], 1)
    const id = await startCountWatch(b, a, ADAPTIVE_SOURCE)
    try {
      const seconds = await measureWatch(a, b, id, ADAPTIVE_SOURCE, BEFORE_UP_S + UP_WITHIN_S, { [BEFORE_UP_S]: () => { shapeEgress(ns[0], 4) } })
      console.log(formatSeconds(seconds))
      const reachedS = secondsToReach(seconds, BEFORE_UP_S, 0.8 * SOURCE_KBPS)
      console.log(`1 → 4 Mbit/s: 80 % of ${SOURCE_KBPS} kbit/s after ${reachedS ?? 'never'} s`)
      // The case means something only if the rate was down at the link before the step.
      expect(seconds[BEFORE_UP_S - 1].kbps).toBeLessThan(0.65 * SOURCE_KBPS)
      expect(reachedS).toBeDefined()
      expect(reachedS).toBeLessThanOrEqual(UP_WITHIN_S)
    } finally {
      await stopWatch(b, id)
    }
  }, 60_000)

  it('5 % random loss and no rate limit: the rate stays above 70 % of the source\'s bit rate (loss is not congestion)', async () => {
    unshapeEgress(ns[0])
    const drop = dropIncomingRandomly(ns[1], LOSS)
    try {
      const id = await startCountWatch(b, a, ADAPTIVE_SOURCE)
      try {
        const seconds = await measureWatch(a, b, id, ADAPTIVE_SOURCE, LOSS_SETTLE_S + LOSS_S)
        console.log(formatSeconds(seconds))
        console.log(`5 % loss: the rule dropped ${drop.dropped()} packets`)
        const measured = seconds.slice(LOSS_SETTLE_S)
        const kbps = measured.reduce((sum, s) => sum + s.kbps, 0) / measured.length
        expect(Math.min(...measured.map(s => s.targetKbps ?? 0))).toBeGreaterThanOrEqual(0.7 * SOURCE_KBPS)
        expect(Math.min(...measured.map(s => s.estimateKbps ?? 0))).toBeGreaterThanOrEqual(0.7 * SOURCE_KBPS)
        // What arrives: 95 % of what is sent, and still above 70 % of the source's rate.
        expect(kbps).toBeGreaterThanOrEqual(0.7 * SOURCE_KBPS)
        // The loss was there (about 5 % of some 2000 packets), and the estimator saw it.
        expect(drop.dropped()).toBeGreaterThan(30)
        expect(Math.max(...measured.map(s => s.lossFraction ?? 0))).toBeGreaterThanOrEqual(0.02)
      } finally {
        await stopWatch(b, id)
      }
    } finally {
      drop.remove()
    }
  }, 60_000)
})
