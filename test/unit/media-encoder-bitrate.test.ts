import { describe, expect, it } from 'vitest'
import { BITRATE_CONTROLS, bitrateControl, bitrateKbpsOf, bitrateSetting, encoderElement } from '../../src/media/encoder-bitrate.ts'
import { ENCODERS } from '../../src/media/encoders.ts'

describe('bit-rate mapping per encoder', () => {
  it('sets each encoder in its own property and unit', () => {
    expect(bitrateSetting(bitrateControl('x264enc')!, 800)).toEqual({ property: 'bitrate', value: 800 }) // kbit/s
    expect(bitrateSetting(bitrateControl('vp8enc')!, 800)).toEqual({ property: 'target-bitrate', value: 800_000 }) // bit/s
    expect(bitrateSetting(bitrateControl('openh264enc')!, 800)).toEqual({ property: 'bitrate', value: 800_000 }) // bit/s
    expect(bitrateSetting(bitrateControl('vah264enc')!, 800)).toEqual({ property: 'bitrate', value: 800 })
    expect(bitrateSetting(bitrateControl('nvv4l2h264enc')!, 800)).toEqual({ property: 'bitrate', value: 800_000 })
    expect(bitrateSetting(bitrateControl('omxh264enc')!, 800)).toEqual({ property: 'target-bitrate', value: 800_000 })
    expect(bitrateSetting(bitrateControl('v4l2h264enc')!, 800)).toEqual({ property: 'extra-controls', value: 'controls,video_bitrate=800000' })
  })

  it('rounds to whole units and never to zero (0 means "auto" to vpx)', () => {
    expect(bitrateSetting(bitrateControl('x264enc')!, 99.6).value).toBe(100)
    expect(bitrateSetting(bitrateControl('x264enc')!, 0.2).value).toBe(1)
    expect(bitrateSetting(bitrateControl('vp8enc')!, 0.0001).value).toBe(1)
  })

  it('reads back what an element reports, numbers and extra-controls structures alike', () => {
    expect(bitrateKbpsOf(bitrateControl('x264enc')!, 800)).toBe(800)
    expect(bitrateKbpsOf(bitrateControl('vp8enc')!, 800_000)).toBe(800)
    expect(bitrateKbpsOf(bitrateControl('v4l2h264enc')!, 'controls, video_bitrate=(int)800000, h264_i_frame_period=(int)60;')).toBe(800)
    expect(bitrateKbpsOf(bitrateControl('v4l2h264enc')!, 'controls, h264_i_frame_period=(int)60;')).toBeNull()
    expect(bitrateKbpsOf(bitrateControl('x264enc')!, undefined)).toBeNull()
  })

  it('knows no element it was not told about, and marks encoders that read the rate only at start', () => {
    expect(bitrateControl('toString')).toBeUndefined()
    expect(bitrateControl('avenc_mpeg4')).toBeUndefined()
    expect(bitrateControl('svtav1enc')?.live).toBe(false)
    expect(bitrateControl('x264enc')?.live).toBe(true)
  })

  it('agrees with the properties encoders.ts sets at start, for every known encoder', () => {
    const settings = { bitrateKbps: 1234, keyframeInterval: 60, fps: 30 }
    for (const spec of ENCODERS) {
      const control = BITRATE_CONTROLS[spec.element]
      expect(control, spec.element).toBeDefined()
      const { value } = bitrateSetting(control, settings.bitrateKbps)
      const expected = control.extraControl !== undefined ? `${control.extraControl}=${1234 * 1000 / control.bitsPerUnit}` : `${control.property}=${String(value)}`
      expect(spec.props(settings).split(/[\s,]/), spec.element).toContain(expected)
    }
  })

  it('takes the element factory from a configured encoder', () => {
    expect(encoderElement('x264enc')).toBe('x264enc')
    expect(encoderElement('  x264enc threads=2 bitrate=900 ')).toBe('x264enc')
  })
})
