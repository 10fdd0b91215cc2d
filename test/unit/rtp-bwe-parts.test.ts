import { describe, expect, it } from 'vitest'
import { AcknowledgedBitrateEstimator } from '../../src/rtp/bwe-acknowledged-bitrate.ts'
import { AimdRateControl, MAX_INCREASE_PER_SECOND, RAMP_AFTER_MS } from '../../src/rtp/bwe-aimd-rate-control.ts'
import { FallbackBandwidthEstimator } from '../../src/rtp/bwe-fallback.ts'
import { InterArrival } from '../../src/rtp/bwe-inter-arrival.ts'
import { LossBasedController } from '../../src/rtp/bwe-loss-based.ts'
import { ProbeBitrateEstimator } from '../../src/rtp/bwe-probe-estimator.ts'
import { ProbeController } from '../../src/rtp/bwe-probe-controller.ts'
import { QueueingDelayTracker } from '../../src/rtp/bwe-queueing-delay.ts'
import { SendHistory } from '../../src/rtp/bwe-send-history.ts'
import { SendSideBandwidthEstimator } from '../../src/rtp/bwe-send-side.ts'
import { TrendlineEstimator } from '../../src/rtp/bwe-trendline.ts'
import { SequenceUnwrapper } from '../../src/rtp/transport-cc-sequence-unwrapper.ts'
import type { TransportFeedback } from '../../src/rtp/transport-cc-feedback.ts'

// Issue 17 groundwork: the parts of the send-side estimator, one at a time.

const M = 1_000_000
const feedback = (base: number, count: number, received: Array<[number, number]>, referenceTime = 0): TransportFeedback => ({
  senderSsrc: 1, mediaSsrc: 2, baseSequence: base & 0xffff, statusCount: count, referenceTime, feedbackCount: 0,
  received: received.map(([sequence, arrivalUs]) => ({ sequence: sequence & 0xffff, arrivalUs }))
})

describe('SequenceUnwrapper', () => {
  it('unwraps forward across 65535 and takes reordered numbers as older', () => {
    const u = new SequenceUnwrapper()
    expect([65534, 65535, 0, 1, 65535, 2].map(s => u.unwrap(s))).toEqual([65534, 65535, 65536, 65537, 65535, 65538])
  })
})

describe('SendHistory', () => {
  it('turns feedback into results across the sequence wrap, losses included, each packet once', () => {
    const h = new SendHistory(64)
    for (let i = 0; i < 6; i++) h.onSent({ sequence: (65533 + i) & 0xffff, sendTimeMs: i * 10, size: 1000 + i })
    expect(h.bytesInFlight).toBe(6015)
    const r = h.onFeedback(feedback(65533, 4, [[65533, 0], [65534, 250], [0, 1000]], 10))
    expect(r.map(p => [p.sequence, p.size, p.arrivalTimeMs])).toEqual([[65533, 1000, 640], [65534, 1001, 640.25], [65535, 1002, undefined], [65536, 1003, 641]])
    expect(h.bytesInFlight).toBe(1004 + 1005)
    // Reported again, with the lost one found (reordered): only that one comes back.
    const again = h.onFeedback(feedback(65533, 4, [[65533, 0], [65535, 500], [0, 1000]], 10))
    expect(again.map(p => [p.sequence, p.arrivalTimeMs])).toEqual([[65535, 640.5]])
  })

  it('unwraps the 24-bit reference time and ignores feedback about packets never sent', () => {
    const h = new SendHistory(64)
    h.onSent({ sequence: 10, sendTimeMs: 0, size: 100 })
    h.onSent({ sequence: 11, sendTimeMs: 1, size: 100 })
    expect(h.onFeedback(feedback(10, 1, [[10, 0]], 0xffffff))[0].arrivalTimeMs).toBe(0xffffff * 64)
    expect(h.onFeedback(feedback(11, 1, [[11, 0]], 0))[0].arrivalTimeMs).toBe(0x1000000 * 64)
    expect(h.onFeedback(feedback(12, 500, [[12, 0], [400, 1000]]))).toEqual([])
  })
})

describe('InterArrival', () => {
  it('groups packets sent within 5 ms and yields deltas between groups', () => {
    const ia = new InterArrival()
    expect(ia.add(0, 100, 1000)).toBeUndefined()
    expect(ia.add(2, 102, 1000)).toBeUndefined() // same group
    expect(ia.add(10, 115, 1000)).toBeUndefined() // second group starts: nothing before the first to compare
    expect(ia.add(20, 130, 1000)).toEqual({ sendDeltaMs: 8, arrivalDeltaMs: 13, arrivalTimeMs: 115, sizeDelta: -1000 })
  })
})

describe('TrendlineEstimator', () => {
  const feed = (t: TrendlineEstimator, extraPerGroupMs: number, groups: number, start = 0): void => {
    for (let i = 0; i < groups; i++) t.update(10 + extraPerGroupMs, 10, start + i * 10)
  }

  it('stays normal while delay is flat, detects overuse when it grows and underuse when it shrinks', () => {
    const flat = new TrendlineEstimator()
    feed(flat, 0, 60)
    expect(flat.state).toBe('normal')
    const growing = new TrendlineEstimator()
    feed(growing, 0, 30)
    feed(growing, 2, 30, 300)
    expect(growing.state).toBe('overusing')
    expect(growing.trend).toBeGreaterThan(growing.currentThreshold)
    const shrinking = new TrendlineEstimator()
    feed(shrinking, 3, 30)
    feed(shrinking, -3, 30, 300)
    expect(shrinking.state).toBe('underusing')
  })
})

describe('AimdRateControl', () => {
  it('increases 8 %/s far from the link, decreases to 0.85 × acknowledged on overuse, holds on underuse', () => {
    const aimd = new AimdRateControl({ startBitrateBps: 1 * M, minBitrateBps: 100_000, maxBitrateBps: 10 * M })
    aimd.update('normal', 1 * M, 0)
    expect(aimd.rateState).toBe('increase')
    aimd.update('normal', 1 * M, 1000)
    expect(aimd.bitrateBps).toBeCloseTo(1.08 * M, -4)
    aimd.update('overusing', 0.9 * M, 1100)
    expect(aimd.bitrateBps).toBeCloseTo(0.85 * 0.9 * M, -2)
    expect(aimd.rateState).toBe('hold')
    expect(aimd.linkCapacityBps).toBeCloseTo(0.9 * M, -3)
    aimd.update('underusing', 0.8 * M, 1200)
    expect(aimd.bitrateBps).toBeCloseTo(0.85 * 0.9 * M, -2)
    // Near the link capacity now: additive, well under 8 %/s.
    aimd.update('normal', 0.8 * M, 1300)
    aimd.update('normal', 0.8 * M, 2300)
    expect(aimd.bitrateBps).toBeGreaterThan(0.85 * 0.9 * M)
    expect(aimd.bitrateBps).toBeLessThan(0.85 * 0.9 * M * 1.08)
  })

  it('never goes above 1.5 × the acknowledged rate, nor outside [min, max]', () => {
    const aimd = new AimdRateControl({ startBitrateBps: 1 * M, minBitrateBps: 200_000, maxBitrateBps: 2 * M })
    for (let t = 0; t <= 30_000; t += 100) aimd.update('normal', 0.5 * M, t)
    expect(aimd.bitrateBps).toBeLessThanOrEqual(1 * M) // started above the limit: held, not raised
    aimd.update('overusing', 0.1 * M, 40_000)
    expect(aimd.bitrateBps).toBe(200_000)
  })
})

describe('AimdRateControl fast ramp-up', () => {
  /** 0.85 × 1 Mbit/s after an overuse at 0 (link capacity 1 Mbit/s), then `normal` every 100 ms to `untilMs`, the acknowledged rate following at 95 %; the rate each second. */
  function climb (fastRampUp: boolean, untilMs: number, overuseAtMs?: number): number[] {
    const aimd = new AimdRateControl({ startBitrateBps: 1 * M, minBitrateBps: 100_000, maxBitrateBps: 10 * M, fastRampUp })
    aimd.update('normal', 1 * M, -100)
    aimd.update('overusing', 1 * M, 0)
    expect(aimd.linkCapacityBps).toBeCloseTo(1 * M, -3)
    const perSecond: number[] = []
    for (let t = 100; t <= untilMs; t += 100) {
      aimd.update(t === overuseAtMs ? 'overusing' : 'normal', 0.95 * aimd.bitrateBps, t)
      if (t % 1000 === 0) perSecond.push(aimd.bitrateBps)
    }
    return perSecond
  }

  it('after 2 s without overuse at the link capacity, forgets it and climbs ever faster, at most 40 %/s; plain GCC creeps', () => {
    const fast = climb(true, 8000)
    const plain = climb(false, 8000)
    // Before RAMP_AFTER_MS it is GCC's own (additive near the capacity): the same with and without.
    expect(fast[RAMP_AFTER_MS / 1000 - 2]).toBe(plain[RAMP_AFTER_MS / 1000 - 2])
    // 1 → 2 Mbit/s in 8 s; plain GCC is additive (about a packet per response time) and does not reach 1.2.
    expect(fast.at(-1)).toBeGreaterThan(2 * M)
    expect(plain.at(-1)).toBeLessThan(1.2 * M)
    const steps = fast.slice(1).map((bps, i) => bps / fast[i])
    for (const step of steps) expect(step).toBeLessThanOrEqual(MAX_INCREASE_PER_SECOND + 1e-9)
    // Faster the longer it lasts.
    expect(steps.at(-1)).toBeGreaterThan(steps[RAMP_AFTER_MS / 1000])
  })

  it('an overuse ends the fast run: 0.85 × acknowledged, then GCC\'s pace for another 2 s', () => {
    const r = climb(true, 9000, 6000) // r[i] is the rate at (i + 1) s
    const ramping = climb(true, 9000)
    expect(r[5]).toBeLessThan(0.85 * ramping[5])
    // For 2 s after the overuse at 6 s: GCC near a capacity (additive, a few %/s), not 40 %/s.
    expect(r[7] / r[5]).toBeLessThan(1.1)
  })

  it('crosses the link capacity estimate at GCC\'s 8 %/s, however fast it climbed to it', () => {
    const aimd = new AimdRateControl({ startBitrateBps: 1 * M, minBitrateBps: 100_000, maxBitrateBps: 10 * M })
    aimd.update('normal', 1 * M, -100)
    aimd.update('overusing', 1 * M, 0)
    const capacity = aimd.linkCapacityBps as number
    let crossedMs: number | undefined
    let before = aimd.bitrateBps
    let fastest = 1
    for (let t = 100; t <= 10_000; t += 100) {
      aimd.update('normal', 0.95 * aimd.bitrateBps, t)
      const step = (aimd.bitrateBps / before) ** 10 // per second
      if (crossedMs === undefined && before < capacity) fastest = Math.max(fastest, step)
      if (crossedMs === undefined && aimd.bitrateBps >= capacity) crossedMs = t
      else if (crossedMs !== undefined && t <= crossedMs + 300) expect(step).toBeLessThanOrEqual(1.09)
      before = aimd.bitrateBps
    }
    expect(crossedMs).toBeDefined()
    expect(fastest).toBeGreaterThan(1.1) // it did climb faster than GCC below the capacity
    expect(aimd.bitrateBps).toBeGreaterThan(3 * M) // and goes on ramping past it
  })
})

describe('LossBasedController', () => {
  it('decreases over 10 % loss, holds from 2 to 10 %, increases under 2 %', () => {
    const loss = new LossBasedController({ startBitrateBps: 2 * M, minBitrateBps: 100_000, maxBitrateBps: 4 * M, minPackets: 20, minIntervalMs: 0 })
    loss.onPackets(100, 20, 2 * M, 0)
    expect(loss.bitrateBps).toBeCloseTo(2 * M * 0.9, -3)
    expect(loss.fractionLost).toBeCloseTo(0.2)
    const after = loss.bitrateBps
    loss.onPackets(100, 5, after, 1000)
    expect(loss.bitrateBps).toBe(after)
    loss.onPackets(100, 0, after, 2000)
    expect(loss.bitrateBps).toBeCloseTo(after * 1.08 + 1000, -2)
  })

  it('beside a delay-based estimate, lifts a cap loss has not justified for liftAfterMs; 2 % loss or more restarts the wait', () => {
    const init = { startBitrateBps: 2 * M, minBitrateBps: 100_000, maxBitrateBps: 4 * M, minPackets: 20, minIntervalMs: 0 }
    const lifting = new LossBasedController({ ...init, liftAfterMs: 2000 })
    const alone = new LossBasedController(init)
    for (const loss of [lifting, alone]) {
      loss.onPackets(100, 20, 2 * M, 0) // 20 %: cut to 1.8 Mbit/s
      loss.onPackets(100, 0, 1.8 * M, 1000) // low since 1 s
      loss.onPackets(100, 3, 1.8 * M, 2000) // 3 %: holds, and the wait starts again
      loss.onPackets(100, 0, 1.8 * M, 3000)
      loss.onPackets(100, 0, 1.8 * M, 4000)
    }
    expect(lifting.bitrateBps).toBeLessThan(2.2 * M)
    lifting.onPackets(100, 0, 1.8 * M, 5000) // under 2 % for 2 s
    alone.onPackets(100, 0, 1.8 * M, 5000)
    expect(lifting.bitrateBps).toBe(4 * M)
    expect(alone.bitrateBps).toBeLessThan(2.2 * M)
    // Loss over 10 % pulls a lifted cap down again, from what is being sent.
    lifting.onPackets(100, 20, 2 * M, 6000)
    expect(lifting.bitrateBps).toBeCloseTo(1.8 * M, -3)
  })

  it('waits for enough packets and time before it judges', () => {
    const loss = new LossBasedController({ startBitrateBps: 2 * M, minBitrateBps: 100_000, maxBitrateBps: 4 * M })
    loss.onPackets(5, 5, 2 * M, 0)
    loss.onPackets(10, 5, 2 * M, 500)
    expect(loss.bitrateBps).toBe(2 * M)
    loss.onPackets(10, 0, 2 * M, 1000)
    expect(loss.bitrateBps).toBeLessThan(2 * M)
  })
})

describe('FallbackBandwidthEstimator (REMB, receiver reports)', () => {
  it('follows REMB, capped by loss from receiver reports, within [min, max]', () => {
    const fb = new FallbackBandwidthEstimator({ minBitrateBps: 100_000, maxBitrateBps: 3 * M, startBitrateBps: 1 * M })
    expect(fb.estimate.source).toBe('receiver-reports')
    expect(fb.onRemb(800_000, 0).bitrateBps).toBe(800_000)
    expect(fb.estimate.source).toBe('remb')
    expect(fb.onRemb(10 * M, 100).bitrateBps).toBe(1 * M) // the loss cap, at the start rate
    const e = fb.onReceiverReport(64, 1000) // 25 % loss
    expect(e.bitrateBps).toBeCloseTo(1 * M * (1 - 0.125), -3)
    expect(e.state).toBe('decrease')
    expect(fb.onRemb(50_000, 1100).bitrateBps).toBe(100_000)
    // A REMB that stops coming stops counting.
    expect(fb.onReceiverReport(0, 20_000).source).toBe('receiver-reports')
  })

  it('with receiver reports alone, climbs while loss stays under 2 %', () => {
    const fb = new FallbackBandwidthEstimator({ minBitrateBps: 100_000, maxBitrateBps: 3 * M, startBitrateBps: 1 * M })
    for (let t = 0; t <= 10_000; t += 1000) fb.onReceiverReport(2, t)
    expect(fb.estimate.bitrateBps).toBeGreaterThan(1.08 ** 9 * M)
    for (let t = 11_000; t <= 15_000; t += 1000) fb.onReceiverReport(12, t) // ~5 %: hold
    const held = fb.estimate.bitrateBps
    fb.onReceiverReport(12, 16_000)
    expect(fb.estimate.bitrateBps).toBe(held)
  })
})

describe('probing', () => {
  it('a cluster squeezed by the bottleneck reads as 95 % of its receive rate', () => {
    const probes = new ProbeBitrateEstimator()
    probes.expect({ id: 7, bitrateBps: 4 * M, minPackets: 5, minBytes: 7500 })
    let result: number | undefined
    // Sent at 4 Mbit/s (1200 B every 2.4 ms), arriving at 1 Mbit/s (every 9.6 ms).
    for (let i = 0; i < 8; i++) result = probes.add({ sequence: i, sendTimeMs: i * 2.4, arrivalTimeMs: 50 + i * 9.6, size: 1200, probeClusterId: 7 }) ?? result
    expect(result).toBeCloseTo(0.95 * 1 * M, -3)
    expect(probes.takeResult()?.id).toBe(7)
    expect(probes.takeResult()).toBeUndefined()
  })

  it('probes at 3× and 6× at start, goes on while results keep up, backs off when they do not', () => {
    const pc = new ProbeController({ startBitrateBps: 500_000, maxBitrateBps: 10 * M })
    const start = pc.process(0, 500_000, undefined)
    expect(start.map(c => c.bitrateBps)).toEqual([1.5 * M, 3 * M])
    pc.onResult(start[0].id, 1.5 * M, 100)
    expect(pc.process(100, 1.5 * M, undefined).map(c => c.bitrateBps)).toEqual([3 * M])
    pc.onResult(start[1].id, 1 * M, 150) // the link gave out
    expect(pc.process(1000, 1 * M, undefined)).toEqual([]) // still waiting for the 3 Mbit/s one
    expect(pc.process(1200, 1 * M, undefined)).toEqual([]) // that one timed out: back off
    expect(pc.process(3000, 1 * M, 2500)).toEqual([]) // a recent decrease: no probe
    expect(pc.process(5000, 1 * M, 2500)).toEqual([]) // two failures: the interval is 5 s now
    const periodic = pc.process(5100, 1 * M, 2500)
    expect(periodic.map(c => c.bitrateBps)).toEqual([2 * M])
  })
})

describe('AcknowledgedBitrateEstimator and QueueingDelayTracker', () => {
  it('measures the rate over the window, the slower of send and arrival', () => {
    const ack = new AcknowledgedBitrateEstimator()
    for (let i = 0; i < 100; i++) ack.add(i * 4.8, 20 + i * 9.6, 1200) // sent at 2, arriving at 1 Mbit/s
    expect(ack.bitrateBps).toBeCloseTo(1 * M, -4)
  })

  it('reports delay above the window minimum', () => {
    const q = new QueueingDelayTracker()
    q.add(0, 1000)
    q.add(100, 1100)
    expect(q.delayMs).toBe(0)
    q.add(200, 1260)
    expect(q.delayMs).toBe(60)
  })
})

describe('SendSideBandwidthEstimator', () => {
  it('refuses limits that make no sense and clamps what it starts from', () => {
    expect(() => new SendSideBandwidthEstimator({ minBitrateBps: 0, maxBitrateBps: 1 })).toThrow(RangeError)
    expect(() => new SendSideBandwidthEstimator({ minBitrateBps: 2 * M, maxBitrateBps: 1 * M })).toThrow(RangeError)
    expect(new SendSideBandwidthEstimator({ minBitrateBps: 100_000, maxBitrateBps: 400_000, startBitrateBps: 5 * M }).estimate.bitrateBps).toBe(400_000)
  })

  it('shrugs off feedback about packets it never sent, and honours a lower max', () => {
    const bwe = new SendSideBandwidthEstimator({ minBitrateBps: 100_000, maxBitrateBps: 4 * M, startBitrateBps: 2 * M })
    for (let i = 0; i < 10; i++) bwe.onPacketSent({ sequence: i, sendTimeMs: i, size: 1200 })
    const before = bwe.estimate.bitrateBps
    expect(bwe.onTransportFeedback(feedback(30_000, 0xffff, [[30_000, 0]]), 100).bitrateBps).toBe(before)
    bwe.setMaxBitrate(1 * M)
    expect(bwe.estimate.bitrateBps).toBe(1 * M)
    expect(bwe.process(200).every(c => c.bitrateBps <= 1 * M)).toBe(true)
  })
})
