import { SendSideBandwidthEstimator } from '../../src/rtp/bwe-send-side.ts'
import type { BandwidthEstimate } from '../../src/rtp/bwe-estimate.ts'
import type { ProbeCluster } from '../../src/rtp/bwe-probe-controller.ts'
import { parseTransportFeedback } from '../../src/rtp/transport-cc-feedback.ts'
import { readTransportSequence, writeTransportSequence } from '../../src/rtp/transport-cc-extension.ts'
import { TransportFeedbackGenerator } from '../../src/rtp/transport-cc-generator.ts'

/**
 * A small deterministic model of one viewer's path, driven by virtual time
 * in 1 ms steps (no real timers): an encoder that follows the estimate
 * (30 fps, frame sizes ±20 %, a key frame of 3× every 3 s), a pacer at
 * 2.5 × the target that also sends probe clusters, a bottleneck link with a
 * rate, a drop-tail queue of `queueMs`, propagation delay and optional
 * random loss from a seeded PRNG, and a receiver whose transport-cc
 * feedback (real bytes through the real builder and parser) comes back
 * over an uncongested path. The transport-wide number travels in a real
 * RTP header extension.
 */
export interface LinkSimInit {
  seed: number
  durationMs: number
  /** The bottleneck's rate at a time, bits per second. */
  linkBps: (tMs: number) => number
  queueMs: number
  propagationMs: number
  lossRate?: number
  minBitrateBps: number
  maxBitrateBps: number
  startBitrateBps: number
  probing?: boolean
  fastRampUp?: boolean
}

export interface LinkSimSample {
  tMs: number
  estimate: BandwidthEstimate
  /** Time the last packet through the link waited in its queue. */
  queueMs: number
}

export interface LinkSimResult {
  samples: LinkSimSample[]
  /** Per delivered packet: send time and the time it waited in the bottleneck queue. */
  queueDelays: Array<{ tMs: number, ms: number }>
  /** Bytes delivered per whole second of virtual time. */
  deliveredBytesPerSecond: number[]
  sentPackets: number
  probePackets: number
  droppedByQueue: number
  droppedByLoss: number
}

const PACKET_BYTES = 1200
const PACING_FACTOR = 2.5
const FPS = 30
const KEY_FRAME_EVERY_MS = 3000
const EXTENSION_ID = 5
const SAMPLE_EVERY_MS = 100
/** The receiver's clock runs this far from the sender's: only differences may matter. */
const RECEIVER_CLOCK_OFFSET_MS = 123_456

/** mulberry32: a small seeded PRNG, so every run is the same. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function runLinkSim (init: LinkSimInit): LinkSimResult {
  const random = prng(init.seed)
  const estimator = new SendSideBandwidthEstimator({
    minBitrateBps: init.minBitrateBps,
    maxBitrateBps: init.maxBitrateBps,
    startBitrateBps: init.startBitrateBps,
    probing: init.probing === false ? false : undefined,
    fastRampUp: init.fastRampUp
  })
  const generator = new TransportFeedbackGenerator({ senderSsrc: 2, mediaSsrc: 1 })
  const header = new Uint8Array([0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])

  const pacerQueue: number[] = []
  let pacerBytes = 0
  let budget = 0
  let probe: (ProbeCluster & { sentBytes: number, sentPackets: number, budget: number }) | undefined
  const pendingClusters: ProbeCluster[] = []
  let sequence = 0
  let nextFrameMs = 0
  let nextKeyFrameMs = 0
  let lastDepartureMs = 0
  const toReceiver: Array<{ atMs: number, bytes: Uint8Array, size: number }> = []
  const toSender: Array<{ atMs: number, bytes: Uint8Array }> = []
  const result: LinkSimResult = { samples: [], queueDelays: [], deliveredBytesPerSecond: [], sentPackets: 0, probePackets: 0, droppedByQueue: 0, droppedByLoss: 0 }
  let lastQueueMs = 0

  const send = (t: number, size: number, clusterId: number | undefined): void => {
    sequence = (sequence + 1) & 0xffff
    const bytes = writeTransportSequence(header, EXTENSION_ID, sequence) as Uint8Array
    estimator.onPacketSent({ sequence, sendTimeMs: t, size, probeClusterId: clusterId })
    result.sentPackets++
    if (clusterId !== undefined) result.probePackets++
    if (init.lossRate !== undefined && random() < init.lossRate) { result.droppedByLoss++; return }
    const start = Math.max(t, lastDepartureMs)
    const waited = start - t
    if (waited > init.queueMs) { result.droppedByQueue++; return }
    lastDepartureMs = start + size * 8 / init.linkBps(t) * 1000
    lastQueueMs = waited
    result.queueDelays.push({ tMs: t, ms: waited })
    toReceiver.push({ atMs: lastDepartureMs + init.propagationMs, bytes, size })
  }

  for (let t = 0; t <= init.durationMs; t++) {
    // Feedback reaching the sender.
    while (toSender.length > 0 && toSender[0].atMs <= t) {
      estimator.onTransportFeedback(parseTransportFeedback(toSender.shift()!.bytes), t)
    }
    pendingClusters.push(...estimator.process(t))
    const target = estimator.estimate.bitrateBps

    // The encoder: skips a frame when the pacer still holds half a second.
    if (t >= nextFrameMs) {
      nextFrameMs += 1000 / FPS
      if (pacerBytes * 8 < target * 0.5) {
        let frameBytes = target / 8 / FPS * (0.8 + 0.4 * random())
        if (t >= nextKeyFrameMs) { frameBytes *= 3; nextKeyFrameMs += KEY_FRAME_EVERY_MS }
        for (let left = Math.round(frameBytes); left > 0; left -= PACKET_BYTES) {
          const size = Math.min(left, PACKET_BYTES)
          pacerQueue.push(size)
          pacerBytes += size
        }
      }
    }

    // The pacer: a probe cluster when one is due, else media at 2.5 × the target.
    if (probe === undefined && pendingClusters.length > 0) probe = { ...pendingClusters.shift()!, sentBytes: 0, sentPackets: 0, budget: 0 }
    if (probe !== undefined) {
      probe.budget += probe.bitrateBps / 8 / 1000
      while (probe.budget > 0) {
        const media = pacerQueue.shift()
        if (media !== undefined) pacerBytes -= media
        const size = media ?? PACKET_BYTES // padding when media runs short
        send(t, size, probe.id)
        probe.budget -= size
        probe.sentBytes += size
        probe.sentPackets++
      }
      if (probe.sentBytes >= probe.minBytes && probe.sentPackets >= probe.minPackets) probe = undefined
      budget = 0
    } else {
      budget = Math.min(budget + target * PACING_FACTOR / 8 / 1000, PACKET_BYTES * 2)
      while (budget > 0 && pacerQueue.length > 0) {
        const size = pacerQueue.shift()!
        pacerBytes -= size
        budget -= size
        send(t, size, undefined)
      }
    }

    // The receiver.
    while (toReceiver.length > 0 && toReceiver[0].atMs <= t) {
      const packet = toReceiver.shift()!
      const seq = readTransportSequence(packet.bytes, EXTENSION_ID)
      if (seq === undefined) throw new Error('lost the transport sequence number on the way')
      generator.record(seq, packet.atMs + RECEIVER_CLOCK_OFFSET_MS)
      const second = Math.floor(packet.atMs / 1000)
      result.deliveredBytesPerSecond[second] = (result.deliveredBytesPerSecond[second] ?? 0) + packet.size
    }
    for (const bytes of generator.poll(t + RECEIVER_CLOCK_OFFSET_MS)) toSender.push({ atMs: t + init.propagationMs, bytes })

    if (t % SAMPLE_EVERY_MS === 0) result.samples.push({ tMs: t, estimate: estimator.estimate, queueMs: lastQueueMs })
  }
  return result
}

/** The p-th percentile (0-100) of some numbers. */
export function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]
}
