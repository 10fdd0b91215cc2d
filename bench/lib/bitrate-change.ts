/**
 * How long a bit-rate change takes to show at a consumer, against the only
 * way there was before the pipeline host (restart the source with the new
 * rate). One source (x264enc, the bench's encoder) whose RTP goes over UDP to
 * a socket in this process that counts bytes; a change has shown once the
 * rate over the last WINDOW_MS is past the midpoint between the old and the
 * new rate. Down and up alternate; both are counted.
 */
import type dgram from 'node:dgram'
import { chooseEncoder, probeEncoders } from '../../src/media/encoder-probe.ts'
import { GstSource } from '../../src/media/gst-source.ts'
import type { SourceConfig } from '../../src/media/source-pipeline.ts'
import { bindLoopback, closeSocket, LOOPBACK } from '../../src/media/udp-socket.ts'
import { ByteRate, rateReached } from '../../test/helpers/byte-rate.ts'
import { sleep } from './sleep.ts'
import type { BenchContext } from './types.ts'

const HIGH_KBPS = 1500
const LOW_KBPS = 300
/** Coarse noise at 640×360: the encoder spends what it is allowed (see test/integration/media-control.test.ts). */
const SOURCE: SourceConfig = {
  kind: 'video',
  codec: 'h264',
  pipeline: 'videotestsrc is-live=true pattern=snow ! video/x-raw,width=80,height=45 ! videoscale',
  width: 640,
  height: 360,
  fps: 30,
  bitrate: HIGH_KBPS
}
const WINDOW_MS = 250
/** Before each change: the rate settles at its target. */
const SETTLE_MS = 2_000
const DEADLINE_MS = 8_000

export interface BitrateChangeResult {
  /** ms from setBitrate() to the new rate at the consumer. */
  live: number[]
  /** ms from stopping the source to the new rate at the consumer of a source restarted with it. */
  restart: number[]
  /** The longest time without a packet at the consumer around each change (from the command to 1 s after). */
  liveGap: number[]
  restartGap: number[]
  encoder: string
}

export async function measureBitrateChange (ctx: BenchContext, rounds: number): Promise<BitrateChangeResult> {
  const encoder = await chooseEncoder(await probeEncoders(), 'h264', undefined)
  const rate = new ByteRate()
  const consumer: dgram.Socket = await bindLoopback()
  const sender: dgram.Socket = await bindLoopback()
  consumer.unref()
  sender.unref()
  consumer.on('message', packet => rate.add(packet.length))
  const port = consumer.address().port
  const forward = (packet: Buffer): void => { sender.send(packet, port, LOOPBACK) }
  let source: GstSource | undefined
  ctx.scope.defer(async () => {
    await source?.stop()
    await closeSocket(consumer)
    await closeSocket(sender)
  })
  const start = async (kbps: number, ssrc?: number): Promise<GstSource> => {
    const s = new GstSource({ name: 'bitrate-bench', source: { ...SOURCE, bitrate: kbps }, encoder, mtu: 1200, ssrc })
    s.on('rtp', forward)
    await s.start()
    return s
  }
  const shown = async (since: number, from: number, to: number): Promise<number> => {
    const midway = (from + to) / 2
    const ms = await rateReached(rate, since, WINDOW_MS, kbps => to < from ? kbps < midway : kbps > midway, DEADLINE_MS)
    if (ms === undefined) throw new Error(`a change ${Math.round(from)} → ${to} kbit/s did not show at the consumer within ${DEADLINE_MS} ms`)
    return ms
  }
  const current = (): number => rate.kbps(performance.now() - 1_000, performance.now())

  const result: BitrateChangeResult = { live: [], restart: [], liveGap: [], restartGap: [], encoder }
  source = await start(HIGH_KBPS)
  let target = HIGH_KBPS
  for (let r = 0; r < rounds; r++) {
    for (const how of ['live', 'restart'] as const) {
      await sleep(SETTLE_MS)
      const from = current()
      const to = target === HIGH_KBPS ? LOW_KBPS : HIGH_KBPS
      const since = performance.now()
      if (how === 'live') {
        await source.setBitrate(to)
      } else {
        const ssrc = source.ssrc
        await source.stop()
        source = await start(to, ssrc)
      }
      result[how].push(await shown(since, from, to))
      await sleep(Math.max(0, since + 1_000 - performance.now()))
      result[how === 'live' ? 'liveGap' : 'restartGap'].push(rate.largestGap(since, since + 1_000))
      target = to
    }
    ctx.log(`bit-rate change, round ${r + 1}/${rounds}: live ${result.live.at(-1)!.toFixed(0)} ms (longest gap ${result.liveGap.at(-1)!.toFixed(0)} ms), ` +
      `restart ${result.restart.at(-1)!.toFixed(0)} ms (longest gap ${result.restartGap.at(-1)!.toFixed(0)} ms)`)
  }
  await source.stop()
  source = undefined
  return result
}

export interface ApiBitrateChangeResult {
  /** ms from the control request to the lower rate seen at the consumer. */
  ms: number[]
  /** Rounds whose stream did not spend well over the lower rate before the change (nothing to see). */
  skipped: number
}

/**
 * The same change through the daemons: `control(kbps)` (POST
 * /v1/sources/:name/control on the source daemon) → the lower rate seen in
 * what a peer's watch re-exposes (`meter`, the viewer's rtp:// sink). Each
 * round goes back to `highKbps`, settles, then measures the step down (the
 * way up depends on what the frames let the encoder spend).
 */
export async function measureApiBitrateChange (ctx: BenchContext, control: (kbps: number) => Promise<void>, meter: ByteRate, rounds: number, highKbps: number, lowKbps: number): Promise<ApiBitrateChangeResult> {
  const result: ApiBitrateChangeResult = { ms: [], skipped: 0 }
  for (let r = 0; r < rounds; r++) {
    await control(highKbps)
    await sleep(SETTLE_MS)
    const now = performance.now()
    const from = meter.kbps(now - 1_000, now)
    if (from < lowKbps * 1.5) {
      result.skipped++
      ctx.log(`API bit-rate change, round ${r + 1}/${rounds}: the stream spent ${from.toFixed(0)} kbit/s at a ${highKbps} kbit/s target, too near ${lowKbps} to see a change`)
      continue
    }
    const since = performance.now()
    await control(lowKbps)
    const ms = await rateReached(meter, since, WINDOW_MS, kbps => kbps < (from + lowKbps) / 2, DEADLINE_MS)
    if (ms === undefined) throw new Error(`a change ${Math.round(from)} → ${lowKbps} kbit/s through the control API did not show at the viewer within ${DEADLINE_MS} ms`)
    result.ms.push(ms)
    ctx.log(`API bit-rate change, round ${r + 1}/${rounds}: ${from.toFixed(0)} → ${lowKbps} kbit/s seen at the viewer's sink after ${ms.toFixed(0)} ms`)
  }
  await control(highKbps)
  return result
}
