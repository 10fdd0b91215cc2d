import { afterEach, describe, expect, it } from 'vitest'
import { GstSink } from '../../src/media/gst-sink.ts'
import type { GstSource } from '../../src/media/gst-source.ts'
import { sleep, testSource } from '../helpers/media-pair.ts'

// 10 s of frames between periodic key frames: any key frame seen in between was asked for
const RARE_KEYFRAMES = { keyframeInterval: 300 }

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map(async c => await c()))
})

async function started (codec: 'h264' | 'vp8' | 'vp9'): Promise<GstSource> {
  const source = await testSource(codec, RARE_KEYFRAMES)
  cleanups.push(async () => { await source.stop() })
  await source.start()
  return source
}

/** Milliseconds from `ask()` to the next key frame, or Infinity after `withinMs`. */
async function keyFrameAfter (source: GstSource, ask: () => boolean, withinMs = 1_000): Promise<number> {
  const asked = performance.now()
  const seen = new Promise<number>(resolve => source.once('keyframe', () => resolve(performance.now() - asked)))
  expect(ask()).toBe(true)
  return await Promise.race([seen, sleep(withinMs).then(() => Infinity)])
}

describe('key frame on request (RTCP PLI/FIR → rtpbin → GstForceKeyUnit → encoder)', () => {
  for (const codec of ['h264', 'vp8', 'vp9'] as const) {
    it(`${codec}: a PLI and a FIR each bring a key frame within 1 s`, async () => {
      const source = await started(codec)
      await sleep(1_000)
      expect(source.rtcpPort).toBeGreaterThan(0)
      // control: with no request, no key frame comes for a second
      const before = source.stats().keyFrames
      await sleep(1_000)
      expect(source.stats().keyFrames).toBe(before)

      const pli = await keyFrameAfter(source, () => source.requestKeyFrame('pli'))
      expect(pli).toBeLessThan(1_000)
      await sleep(300)
      const fir = await keyFrameAfter(source, () => source.requestKeyFrame('fir'))
      expect(fir).toBeLessThan(1_000)
      expect(source.stats().keyFrameRequests).toBe(2)
      expect(source.stats().keyFrames).toBe(before + 2)
    })
  }

  it('a viewer that joins late asks for a key frame and decodes at once', async () => {
    const source = await started('h264')
    await sleep(1_500)
    const sink = new GstSink({ sink: 'count', codec: 'h264', payloadType: source.payloadType })
    cleanups.push(async () => { await sink.stop() })
    let asked = 0
    sink.on('keyframe-needed', () => {
      asked++
      source.requestKeyFrame()
    })
    await sink.start()
    source.on('rtp', packet => sink.write(packet))
    await sleep(1_500)
    expect(asked).toBeGreaterThanOrEqual(1)
    expect(sink.stats().keyFrames).toBeGreaterThanOrEqual(1)
    expect(sink.stats().framesDecoded).toBeGreaterThan(15)
  })
})
