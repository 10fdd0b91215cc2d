import { describe, expect, it } from 'vitest'
import { chooseEncoder, encodesFrames, probeEncoders } from '../../src/media/encoder-probe.ts'
import { ENCODERS, encoderDescription, encoderSpec, type EncoderSpec } from '../../src/media/encoders.ts'
import { GstElements } from '../../src/media/gst-elements.ts'
import type { MissingElementError } from '../../src/util/errors.ts'

/** The real registry, plus hardware encoders that are not here. */
class WithFakeHardware extends GstElements {
  readonly fake: Set<string>
  constructor (fake: string[]) {
    super()
    this.fake = new Set(fake)
  }

  override async exists (element: string): Promise<boolean> {
    return this.fake.has(element) || await super.exists(element)
  }
}

describe('encoder probe', () => {
  it('picks the software encoders installed here, hardware candidates listed as unavailable', async () => {
    const table = await probeEncoders()
    expect(table.h264).toMatchObject({ encoder: 'x264enc', element: 'x264enc', hardware: false, origin: 'probe' })
    expect(table.h264.candidates.find(c => c.element === 'v4l2h264enc')).toEqual({ element: 'v4l2h264enc', hardware: true, available: false })
    expect(table.h264.candidates.find(c => c.element === 'openh264enc')?.available).toBe(true)
    expect(table.vp8.encoder).toBe('vp8enc')
    expect(table.vp9.encoder).toBe('vp9enc')
    expect(table.av1.encoder).toBe('av1enc')
    expect(table.opus.encoder).toBe('opusenc')
  })

  it('puts a working hardware encoder first and skips one that cannot encode', async () => {
    const elements = new WithFakeHardware(['vah264enc', 'v4l2h264enc'])
    const tried: string[] = []
    const table = await probeEncoders({
      elements,
      verifyHardware: async (spec: EncoderSpec) => {
        tried.push(spec.element)
        return spec.element === 'vah264enc'
      }
    })
    expect(tried).toEqual(['v4l2h264enc', 'vah264enc'])
    expect(table.h264).toMatchObject({ encoder: 'vah264enc', hardware: true, origin: 'probe' })
    expect(table.h264.candidates.find(c => c.element === 'v4l2h264enc')?.available).toBe(false)
    const none = await probeEncoders({ elements, verifyHardware: async () => false })
    expect(none.h264.encoder).toBe('x264enc')
  })

  it('honours media.encoders, and reports a configured encoder that is not installed', async () => {
    const table = await probeEncoders({ overrides: { h264: 'openh264enc', vp8: 'edgestacknosuchenc', opus: 'opusenc bitrate=32000' } })
    expect(table.h264).toMatchObject({ encoder: 'openh264enc', origin: 'config' })
    expect(table.opus).toMatchObject({ encoder: 'opusenc bitrate=32000', element: 'opusenc', origin: 'config' })
    expect(table.vp8).toMatchObject({ encoder: null, origin: 'none', missing: { element: 'edgestacknosuchenc', package: undefined } })
    const err = await chooseEncoder(table, 'vp8').then(() => undefined, (e: unknown) => e as MissingElementError)
    expect(err?.name).toBe('MissingElementError')
    expect(err?.element).toBe('edgestacknosuchenc')
    // a source's own encoder wins over the table
    expect(await chooseEncoder(table, 'vp8', 'vp8enc')).toBe('vp8enc')
    expect(await chooseEncoder(table, 'h264')).toBe('openh264enc')
  })

  it('gives bare elements their low-latency settings and leaves a configured line alone', () => {
    const s = { bitrateKbps: 800, keyframeInterval: 60, fps: 30 }
    expect(encoderDescription('x264enc', s)).toBe('x264enc tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max=60 bitrate=800 aud=false ! video/x-h264,profile=constrained-baseline')
    expect(encoderDescription('vp8enc', s)).toContain('deadline=1')
    expect(encoderDescription('vp8enc', s)).toContain('target-bitrate=800000')
    expect(encoderDescription('vp8enc', s)).toContain('keyframe-max-dist=60')
    expect(encoderDescription('x264enc speed-preset=fast', s)).toBe('x264enc speed-preset=fast')
    expect(encoderDescription('myenc', s)).toBe('myenc')
    expect(encoderSpec('x264enc')?.hardware).toBe(false)
  })

  it('every encoder marked verified encodes frames here with its low-latency settings', async () => {
    const verified = ENCODERS.filter(e => e.verified === true)
    expect(verified.map(e => e.element).sort()).toEqual(['av1enc', 'openh264enc', 'opusenc', 'vp8enc', 'vp9enc', 'x264enc'])
    const results = await Promise.all(verified.map(async e => [e.element, await encodesFrames(e)] as const))
    expect(results.filter(([, ok]) => !ok)).toEqual([])
    const broken: EncoderSpec = { element: 'x264enc', codec: 'h264', hardware: false, props: () => 'edge-stack-no-such-property=1' }
    expect(await encodesFrames(broken)).toBe(false)
  })
})
