import { describe, expect, it, vi } from 'vitest'
import { MediaSources, MAX_SOURCES } from '../../src/media/media-sources.ts'
import type { RecvTrack, RecvTrackEvents, TrackInit } from '../../src/transport/track-types.ts'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'
import { PublishedSource } from '../../src/web/published-source.ts'

/** The receiving half of a WHIP client's track, as BrowserSession makes it. */
class FakeRecvTrack extends TypedEmitter<RecvTrackEvents> implements RecvTrack {
  isOpen = true
  isClosed = false
  keyFrames = 0
  readonly init: TrackInit
  constructor (init: TrackInit) { super(); this.init = init }
  requestKeyFrame (): boolean { this.keyFrames++; return true }
  stats (): ReturnType<RecvTrack['stats']> { return { mid: this.init.mid, direction: 'recv', codec: this.init.codec, open: true, packets: 0, bytes: 0, dropped: 0, keyFrameRequests: this.keyFrames } }
  close (): void { this.isClosed = true; this.emit('close') }
}

const VIDEO: TrackInit = { mid: '0', kind: 'video', codec: 'vp8', payloadType: 96, ssrc: 1234, clockRate: 90_000 }

function rtp (payloadType: number, seq: number, ts: number): Buffer {
  const p = Buffer.alloc(20)
  p[0] = 0x80
  p[1] = 0x80 | payloadType
  p.writeUInt16BE(seq, 2)
  p.writeUInt32BE(ts, 4)
  p.writeUInt32BE(1234, 8)
  p[12] = 0x10 // VP8 descriptor: start of partition
  return p
}

describe('published sources (WHIP) in MediaSources', () => {
  const sources = (): MediaSources => new MediaSources({ sources: {}, mtu: 1200 })

  it('are listed, acquired without a pipeline, and re-emit only the negotiated payload type', async () => {
    const media = sources()
    const track = new FakeRecvTrack(VIDEO)
    const published = new PublishedSource({ name: 'pub', track, publisher: 'whip 127.0.0.1' })
    const changed = vi.fn()
    media.on('changed', changed)
    media.publish('pub', { source: published, onRemoved: () => {} })
    expect(changed).toHaveBeenCalledTimes(1)
    expect(media.list()).toEqual([expect.objectContaining({ name: 'pub', kind: 'video', codec: 'vp8', encoder: 'whip 127.0.0.1', published: true, running: true, users: 0 })])
    const got = await media.acquire('pub')
    expect(got).toBe(published)
    expect(media.list()[0].users).toBe(1)
    const seen: Buffer[] = []
    got.on('rtp', p => { seen.push(p) })
    track.emit('rtp', rtp(96, 1, 3000))
    track.emit('rtp', rtp(127, 2, 3000)) // not negotiated: dropped
    track.emit('rtp', rtp(96, 3, 6000))
    expect(seen.map(p => p.readUInt16BE(2))).toEqual([1, 3])
    expect(got.stats()).toMatchObject({ packets: 2, frames: 2, ssrc: 1234, payloadType: 96, state: 'running', pid: null })
    expect(got.requestKeyFrame()).toBe(true)
    expect(track.keyFrames).toBe(1)
    await media.release('pub')
    expect(media.list()[0].users).toBe(0) // still there: it runs while its publisher does
  })

  it('refuse a name in use, and go (telling holders why) when the publisher leaves or the config takes the name', async () => {
    const media = sources()
    const first = new PublishedSource({ name: 'cam', track: new FakeRecvTrack(VIDEO), publisher: 'whip a' })
    const removedFromPublisher = vi.fn()
    media.publish('cam', { source: first, onRemoved: removedFromPublisher })
    const second = new PublishedSource({ name: 'cam', track: new FakeRecvTrack(VIDEO), publisher: 'whip b' })
    expect(() => { media.publish('cam', { source: second, onRemoved: () => {} }) }).toThrow(expect.objectContaining({ name: 'ConflictError', status: 409 }))

    const removed: Array<[string, string]> = []
    media.on('removed', (name, reason) => { removed.push([name, reason]) })
    media.unpublish('cam', second, 'not the one published') // a no-op
    expect(media.list()).toHaveLength(1)
    media.unpublish('cam', first, 'its publisher left')
    expect(removed).toEqual([['cam', 'its publisher left']])
    expect(removedFromPublisher).not.toHaveBeenCalled() // it left by itself
    expect(media.list()).toHaveLength(0)

    media.publish('cam', { source: second, onRemoved: removedFromPublisher })
    await media.reconfigure({ cam: { kind: 'video', pipeline: 'videotestsrc' } as any })
    expect(removedFromPublisher).toHaveBeenCalledWith('the config now has a source named cam')
    expect(media.list()).toEqual([expect.objectContaining({ name: 'cam', published: false })])
  })

  it('stop at as many sources as presence carries', () => {
    const media = sources()
    for (let i = 0; i < MAX_SOURCES; i++) media.publish(`s${i}`, { source: new PublishedSource({ name: `s${i}`, track: new FakeRecvTrack(VIDEO), publisher: 'whip' }), onRemoved: () => {} })
    expect(() => { media.publish('one-more', { source: new PublishedSource({ name: 'one-more', track: new FakeRecvTrack(VIDEO), publisher: 'whip' }), onRemoved: () => {} }) })
      .toThrow(/64 sources/)
  })
})
