import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DOWN_HOLD_MS, formatSteps, MAX_UP_HOLD_MS, MIN_FPS, MIN_PIXELS, UP_HOLD_MS, UP_MARGIN } from '../../src/core/media-router/format-ladder.ts'
import { REPAIR_HEADROOM, SourceRateControl } from '../../src/core/media-router/source-rate-control.ts'
import type { BandwidthEstimate } from '../../src/rtp/bwe-estimate.ts'
import type { ElementStats, VideoFormat, VideoFormatChange } from '../../src/media/running-source.ts'
import { PipelineNotRunningError, VideoFormatUnsupportedError } from '../../src/util/errors.ts'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'

// Issue 17: below the bit-rate floor, the source's picture or frame rate steps down (and back up).

class FakeTrack extends TypedEmitter<{ estimate: [BandwidthEstimate] }> {}

function estimate (kbps: number): BandwidthEstimate {
  const bps = kbps * 1000
  return { bitrateBps: bps, delayBasedBps: bps, lossBasedBps: bps, acknowledgedBps: bps, state: 'hold', queueingDelayMs: 0, trend: 0, threshold: 6, lossFraction: 0, rttMs: 20, source: 'transport-cc' }
}

/** The estimate (kbit/s) whose rate after headroom is `kbps`. */
const carrying = (kbps: number): number => kbps / (1 - REPAIR_HEADROOM)

/** A running video source that records what it is told, and refuses what `refuse` says it cannot make. */
class FakeSource {
  readonly name = 'cam'
  bitrateKbps = 2000
  videoFormat: VideoFormat = { width: 640, height: 480, fps: 30 }
  readonly bitrates: number[] = []
  readonly formats: string[] = []
  refuse: (f: VideoFormat) => Error | undefined = () => undefined

  async setBitrate (kbps: number): Promise<void> {
    this.bitrates.push(kbps)
    this.bitrateKbps = kbps
  }

  async setVideoFormat (change: VideoFormatChange): Promise<VideoFormat> {
    const next = { width: change.width ?? this.videoFormat.width, height: change.height ?? this.videoFormat.height, fps: change.fps ?? this.videoFormat.fps }
    const err = this.refuse(next)
    if (err !== undefined) throw err
    this.videoFormat = next
    this.formats.push(`${next.width}x${next.height}@${next.fps}`)
    return next
  }

  async elementStats (): Promise<ElementStats> {
    return { encoder: { element: 'x264enc', targetKbps: this.bitrateKbps, framesIn: 0, framesOut: 0, bytesOut: 0 }, format: { width: 1280, height: 720, fps: this.videoFormat.fps }, sinkBytes: 0 }
  }
}

function setup (over: { minKbps?: number, source?: FakeSource } = {}): { source: FakeSource, track: FakeTrack, control: SourceRateControl, logs: Array<{ msg: string, level: number }> } {
  const logs: Array<{ msg: string, level: number }> = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => { logs.push(JSON.parse(line)) } })
  const source = over.source ?? new FakeSource()
  const control = new SourceRateControl({ source: source as any, range: { minKbps: 8, floorKbps: over.minKbps ?? 150, maxKbps: 2000 }, logger, now: () => Date.now() })
  const track = new FakeTrack()
  control.add(track)
  return { source, track, control, logs }
}

/** The viewer's estimate, repeated every 100 ms (as transport-cc feedback comes) for `ms`. */
async function feed (track: FakeTrack, kbps: number, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    track.emit('estimate', estimate(kbps))
    await vi.advanceTimersByTimeAsync(100)
  }
}

describe('formatSteps', () => {
  it('alternates a smaller picture and a lower frame rate, each floor scaled by pixels × fps, down to the least format', () => {
    const steps = formatSteps({ width: 640, height: 480, fps: 30 }, 1000)
    expect(steps.map(s => `${s.width}x${s.height}@${s.fps}:${s.floorKbps}`)).toEqual([
      '640x480@30:1000', '480x360@30:563', '480x360@15:281', '320x240@15:125', '320x240@8:67', '240x180@8:38', '240x180@5:23', '160x120@5:10'
    ])
    // The default minBitrate (150) ends where a floor would go under what an encoder takes (8 kbit/s).
    expect(formatSteps({ width: 640, height: 480, fps: 30 }, 150).map(s => s.floorKbps)).toEqual([150, 84, 42, 19, 10])
    // 16:9 stays 16:9 (even sides), never under 160×120's area nor 5 fps.
    const wide = formatSteps({ width: 1280, height: 720, fps: 60 }, 4000)
    expect(wide.slice(1, 4).map(s => `${s.width}x${s.height}@${s.fps}`)).toEqual(['960x540@60', '960x540@30', '640x360@30'])
    for (const s of wide) {
      expect(s.width * s.height).toBeGreaterThanOrEqual(MIN_PIXELS)
      expect(s.fps).toBeGreaterThanOrEqual(MIN_FPS)
      expect(s.width % 2 + s.height % 2).toBe(0)
    }
    // A frame rate the source cannot go under: only the picture steps below it.
    expect(formatSteps({ width: 640, height: 480, fps: 30 }, 1000, 15).map(s => `${s.width}x${s.height}@${s.fps}`)).toEqual([
      '640x480@30', '480x360@30', '480x360@15', '320x240@15', '240x180@15', '160x120@15'
    ])
    // Already at the least: no steps.
    expect(formatSteps({ width: 160, height: 120, fps: 5 }, 150)).toHaveLength(1)
  })
})

describe('SourceRateControl with a format ladder', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('steps down one step per hold while the estimate stays under the floor, the target following each floor', async () => {
    const { source, track, control } = setup()
    // A dip shorter than the hold is no reason to change the format.
    await feed(track, carrying(100), DOWN_HOLD_MS - 200)
    await feed(track, carrying(500), 500)
    expect(source.formats).toEqual([])
    expect(source.bitrates).toEqual([150, 500]) // the floor, then the estimate again
    // 57 kbit/s after headroom: under 150 (640×480@30) and 84 (480×360@30), over 42 (480×360@15).
    await feed(track, carrying(57), DOWN_HOLD_MS - 200)
    expect(source.formats).toEqual([])
    await feed(track, carrying(57), 400)
    expect(source.formats).toEqual(['480x360@30'])
    expect(control.format).toMatchObject({ step: 1, width: 480, height: 360, fps: 30, floorKbps: 84 })
    await feed(track, carrying(57), DOWN_HOLD_MS)
    expect(source.formats).toEqual(['480x360@30', '480x360@15'])
    await feed(track, carrying(57), 5 * DOWN_HOLD_MS)
    expect(source.formats).toHaveLength(2) // 57 is over this step's floor (42): it stays
    expect(source.bitrates.slice(2)).toEqual([150, 84, 57])
    expect(control.targetKbps).toBe(57)
    control.close()
  })

  it('climbs back one step per (longer) hold once the estimate carries the upper floor with margin, and does not flap near a floor', async () => {
    const { source, track, control } = setup()
    await feed(track, carrying(57), 2 * DOWN_HOLD_MS + 300)
    expect(control.format?.step).toBe(2)
    // Over 84 (the upper step's floor) but under 84 × UP_MARGIN: stays.
    await feed(track, carrying(95), 3 * UP_HOLD_MS)
    expect(control.format?.step).toBe(2)
    // Around the floor of this step (42), a bit over and a bit under, for a long time: no change.
    for (let i = 0; i < 10; i++) {
      await feed(track, carrying(38), DOWN_HOLD_MS / 2)
      await feed(track, carrying(46), DOWN_HOLD_MS / 2)
    }
    expect(control.format?.step).toBe(2)
    // Enough for 480×360@30 with margin: up after UP_HOLD_MS, not before.
    const enough = Math.ceil(84 * UP_MARGIN) + 1
    await feed(track, carrying(enough), UP_HOLD_MS - 200)
    expect(control.format?.step).toBe(2)
    await feed(track, carrying(enough), 400)
    expect(control.format?.step).toBe(1)
    expect(source.formats.at(-1)).toBe('480x360@30')
    // The link drops again soon after: down (one hold), and the next climb waits twice as long.
    await feed(track, carrying(57), DOWN_HOLD_MS + 200)
    expect(control.format?.step).toBe(2)
    await feed(track, carrying(enough), UP_HOLD_MS + 500)
    expect(control.format?.step).toBe(2)
    await feed(track, carrying(enough), UP_HOLD_MS)
    expect(control.format?.step).toBe(1)
    // All the way up: 150 × margin.
    await feed(track, carrying(1000), 2 * UP_HOLD_MS + 200)
    expect(control.format).toMatchObject({ step: 0, width: 640, height: 480, fps: 30, floorKbps: 150 })
    expect(source.formats).toEqual(['480x360@30', '480x360@15', '480x360@30', '480x360@15', '480x360@30', '640x480@30'])
    expect(UP_HOLD_MS * 2).toBeLessThanOrEqual(MAX_UP_HOLD_MS)
    control.close()
  })

  it('stops at the least format, and the viewers leaving brings the format back up', async () => {
    const { source, track, control } = setup({ minKbps: 1000 })
    await feed(track, carrying(9), 12 * DOWN_HOLD_MS)
    expect(source.formats).toEqual(['480x360@30', '480x360@15', '320x240@15', '320x240@8', '240x180@8', '240x180@5', '160x120@5'])
    expect(control.format).toMatchObject({ step: 7, steps: 8, floorKbps: 10 })
    expect(control.targetKbps).toBe(10)
    // No viewer estimates any more: nothing holds the format down.
    control.remove(track)
    await vi.advanceTimersByTimeAsync(UP_HOLD_MS + 100)
    expect(control.format?.step).toBe(6)
    await vi.advanceTimersByTimeAsync(6 * UP_HOLD_MS)
    expect(control.format?.step).toBe(0)
    expect(source.videoFormat).toEqual({ width: 640, height: 480, fps: 30 })
    control.close()
  })

  it('a lower frame rate the source refuses ends the frame-rate steps only; a smaller picture it refuses ends the ladder; each logged once', async () => {
    const source = new FakeSource()
    source.refuse = f => f.fps < 30 ? new VideoFormatUnsupportedError('the source cannot produce framerate=15/1') : undefined
    const { track, control, logs } = setup({ minKbps: 1000, source })
    await feed(track, carrying(9), 12 * DOWN_HOLD_MS)
    expect(source.formats).toEqual(['480x360@30', '320x240@30', '240x180@30', '160x120@30'])
    expect(control.format).toMatchObject({ step: 4, steps: 5, fps: 30, refused: 'fps' })
    expect(logs.filter(l => /no lower frame rate/.test(l.msg))).toHaveLength(1)
    control.close()

    const fixed = new FakeSource()
    fixed.refuse = f => f.width !== 640 ? new VideoFormatUnsupportedError('no capsfilter before x264enc to change') : undefined
    const second = setup({ source: fixed })
    await feed(second.track, carrying(9), 10 * DOWN_HOLD_MS)
    expect(fixed.formats).toEqual([])
    expect(second.control.format).toMatchObject({ step: 0, steps: 1, refused: 'size' })
    expect(second.logs.filter(l => /no smaller picture/.test(l.msg))).toHaveLength(1)
    // It goes on following the estimate at minBitrate, the floor it has.
    expect(second.control.targetKbps).toBe(150)
    second.control.close()
  })

  it('a failure that is no refusal (the pipeline restarting) is tried again at the next hold, warned once', async () => {
    const source = new FakeSource()
    let down = true
    source.refuse = () => down ? new PipelineNotRunningError('source cam is not running') : undefined
    const { track, control, logs } = setup({ source })
    await feed(track, carrying(57), 4 * DOWN_HOLD_MS)
    expect(control.format?.step).toBe(0)
    expect(logs.filter(l => /format step not taken/.test(l.msg))).toHaveLength(1)
    down = false
    await feed(track, carrying(57), DOWN_HOLD_MS + 200)
    expect(control.format?.step).toBe(1)
    control.close()
  })

  it('close() puts the source back at the format it started at (an alwaysOn source keeps running)', async () => {
    const { source, track, control } = setup()
    await feed(track, carrying(57), 2 * DOWN_HOLD_MS + 300)
    expect(source.videoFormat).toEqual({ width: 480, height: 360, fps: 15 })
    control.close()
    await vi.advanceTimersByTimeAsync(0)
    expect(source.videoFormat).toEqual({ width: 640, height: 480, fps: 30 })
    // Closed: estimates do nothing.
    const calls = source.formats.length
    await feed(track, carrying(10), 3 * DOWN_HOLD_MS)
    expect(source.formats).toHaveLength(calls)
  })

  it('a source with no configured size steps from the size its pipeline runs at', async () => {
    const source = new FakeSource()
    source.videoFormat = { width: undefined, height: undefined, fps: 30 }
    const { track, control } = setup({ source })
    await feed(track, carrying(100), DOWN_HOLD_MS + 200)
    expect(source.formats).toEqual(['960x540@30'])
    control.close()
    await vi.advanceTimersByTimeAsync(0)
    expect(source.videoFormat).toEqual({ width: 1280, height: 720, fps: 30 })
  })
})
