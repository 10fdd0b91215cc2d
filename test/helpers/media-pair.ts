import type { Codec } from '../../src/media/codecs.ts'
import { chooseEncoder, probeEncoders, type EncoderTable } from '../../src/media/encoder-probe.ts'
import { GstSink, type GstSinkInit } from '../../src/media/gst-sink.ts'
import { GstSource } from '../../src/media/gst-source.ts'
import type { SourceConfig } from '../../src/media/source-pipeline.ts'

let table: Promise<EncoderTable> | undefined

/** Small frames keep two loaded cores ahead of 30 fps. */
export function testSourceConfig (codec: Codec, over: Partial<SourceConfig> = {}): SourceConfig {
  return codec === 'opus'
    ? { kind: 'audio', pipeline: 'audiotestsrc is-live=true wave=sine freq=440', codec, bitrate: 48, ...over }
    : { kind: 'video', pipeline: 'videotestsrc is-live=true pattern=ball', codec, width: 320, height: 240, fps: 30, bitrate: 600, ...over }
}

export async function testSource (codec: Codec, over: Partial<SourceConfig> = {}, name = `test-${codec}`): Promise<GstSource> {
  table ??= probeEncoders()
  const source = testSourceConfig(codec, over)
  const encoder = await chooseEncoder(await table, codec, source.encoder)
  return new GstSource({ name, source, encoder, mtu: 1200, process: { restartInitialMs: 200 } })
}

/** A source wired to a sink the way the RTP bridge will: every 'rtp' packet into write(). */
export async function testPair (codec: Codec, sink: GstSinkInit['sink'], over: Partial<SourceConfig> = {}): Promise<{ source: GstSource, sink: GstSink, stop: () => Promise<void> }> {
  const source = await testSource(codec, over)
  const gstSink = new GstSink({ sink, codec, payloadType: source.payloadType })
  source.on('rtp', packet => gstSink.write(packet))
  gstSink.on('keyframe-needed', () => source.requestKeyFrame())
  await gstSink.start()
  try {
    await source.start()
  } catch (err) {
    await gstSink.stop()
    throw err
  }
  return {
    source,
    sink: gstSink,
    stop: async () => {
      await source.stop()
      await gstSink.stop()
    }
  }
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Poll until the value stops changing for `quietMs` (at most `timeoutMs`). */
export async function settled (read: () => number, quietMs = 400, timeoutMs = 3_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let last = read()
  let since = Date.now()
  while (Date.now() < deadline) {
    await sleep(50)
    const now = read()
    if (now !== last) {
      last = now
      since = Date.now()
    } else if (Date.now() - since >= quietMs) {
      break
    }
  }
  return last
}
