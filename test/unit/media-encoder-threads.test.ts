import { describe, expect, it } from 'vitest'
import { encoderDescription } from '../../src/media/encoders.ts'
import { vp8Threads } from '../../src/media/encoder-threads.ts'

describe('vp8enc threads (libwebrtc\'s rule)', () => {
  it('runs one thread up to VGA or on fewer than three cores, more only above VGA with cores to spare', () => {
    expect(vp8Threads(320, 240, 2)).toBe(1)
    expect(vp8Threads(640, 480, 16)).toBe(1)
    expect(vp8Threads(1280, 720, 2)).toBe(1)
    expect(vp8Threads(1280, 720, 4)).toBe(2)
    expect(vp8Threads(1920, 1080, 4)).toBe(2)
    expect(vp8Threads(1920, 1080, 6)).toBe(3)
    // the pipeline picks its own size: above VGA for all we know
    expect(vp8Threads(undefined, undefined, 2)).toBe(1)
    expect(vp8Threads(undefined, 480, 4)).toBe(2)
  })

  it('goes into vp8enc\'s properties, one thread when the cores are not given', () => {
    const s = { bitrateKbps: 800, keyframeInterval: 60, fps: 30 }
    expect(encoderDescription('vp8enc', { ...s, width: 320, height: 240, cores: 8 }).split(' ')).toContain('threads=1')
    expect(encoderDescription('vp8enc', { ...s, width: 1280, height: 720, cores: 4 }).split(' ')).toContain('threads=2')
    expect(encoderDescription('vp8enc', s).split(' ')).toContain('threads=1')
    // a configured line is the user's
    expect(encoderDescription('vp8enc threads=4', { ...s, cores: 2 })).toBe('vp8enc threads=4')
  })
})
