import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ConsumerEndCode } from '../../src/core/media-router/consumer.ts'
import { MediaRouter } from '../../src/core/media-router/media-router.ts'
import { KEYFRAME_MIN_INTERVAL_MS } from '../../src/media/keyframe-throttle.ts'
import type { MediaSourcesEvents } from '../../src/media/media-sources.ts'
import type { RunningSourceEvents } from '../../src/media/running-source.ts'
import type { SendTrack, SendTrackEvents, TrackInit, TrackStats } from '../../src/transport/track-types.ts'
import { NotFoundError, SourceFailedError } from '../../src/util/errors.ts'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'

const logger = pino({ level: 'silent' })

/** A running source that counts its key-frame requests. */
class FakeSource extends TypedEmitter<RunningSourceEvents> {
  readonly name: string
  readonly kind = 'video' as const
  readonly codec = 'h264' as const
  readonly ssrc = 1234
  readonly payloadType = 96
  readonly clockRate = 90_000
  readonly encoder = 'fake'
  keyFrames = 0
  constructor (name: string) { super(); this.name = name }
  requestKeyFrame (): boolean { this.keyFrames++; return true }
  stats (): any { return { name: this.name } }
  get rtpListeners (): number { return this.listenerCount('rtp') }
}

/** MediaSources as the router sees it: a source starts on the first hold and stops on the last. */
class FakeMedia extends TypedEmitter<MediaSourcesEvents> {
  readonly users = new Map<string, number>()
  readonly running = new Map<string, FakeSource>()
  starts = 0
  stops = 0
  fail: Error | undefined
  list (): any[] { return ['cam', 'mic'].map(name => ({ name, kind: 'video', codec: 'h264', published: false })) }
  async acquire (name: string): Promise<FakeSource> {
    if (!['cam', 'mic'].includes(name)) throw new NotFoundError(`no source named ${name}`)
    await Promise.resolve()
    if (this.fail !== undefined) throw this.fail
    this.users.set(name, (this.users.get(name) ?? 0) + 1)
    let source = this.running.get(name)
    if (source === undefined) {
      source = new FakeSource(name)
      this.running.set(name, source)
      this.starts++
    }
    return source
  }

  async release (name: string): Promise<void> {
    const users = (this.users.get(name) ?? 0) - 1
    this.users.set(name, users)
    if (users === 0 && this.running.delete(name)) this.stops++
  }
}

/** A send track: records what it is sent; throws when told to. */
class FakeTrack extends TypedEmitter<SendTrackEvents> implements SendTrack {
  readonly init: TrackInit = { mid: '0', kind: 'video', codec: 'h264', payloadType: 96, ssrc: 1, clockRate: 90_000 }
  readonly got: Buffer[] = []
  isOpen = true
  isClosed = false
  throws = false
  sendRtp (packet: Uint8Array): boolean {
    if (this.throws) throw new Error('output broke')
    this.got.push(packet as Buffer)
    return true
  }

  stats (): TrackStats {
    return { mid: '0', direction: 'send', codec: 'h264', open: this.isOpen, packets: this.got.length, bytes: 0, dropped: 0, keyFrameRequests: 0 }
  }

  close (): void {
    if (this.isClosed) return
    this.isClosed = true
    this.isOpen = false
    this.emit('close')
  }
}

const packet = (n: number): Buffer => Buffer.from([0x80, 96, 0, n])

let media: FakeMedia
let router: MediaRouter

beforeEach(async () => {
  media = new FakeMedia()
  router = new MediaRouter({ localPeer: 'self', media: media as any, peers: () => [], logger })
  await router.start()
})

afterEach(async () => {
  vi.useRealTimers()
  await router.stop()
})

async function consumers (n: number, kinds: Array<'peer' | 'browser' | 'feed'> = ['peer']): Promise<Array<{ track: FakeTrack, ended: Array<[ConsumerEndCode, string]>, consumer: Awaited<ReturnType<MediaRouter['consume']>> }>> {
  const out = []
  for (let i = 0; i < n; i++) {
    const ended: Array<[ConsumerEndCode, string]> = []
    const consumer = await router.consume(undefined, 'cam', { kind: kinds[i % kinds.length], client: `client-${i}`, onEnd: (code, reason) => { ended.push([code, reason]) } })
    const track = new FakeTrack()
    consumer.attach(track)
    out.push({ track, ended, consumer })
  }
  return out
}

describe('media router', () => {
  it('one producer per source however many consumers, each packet to every consumer once', async () => {
    const cs = await consumers(5, ['peer', 'browser', 'feed'])
    expect(media.starts).toBe(1)
    expect(media.users.get('cam')).toBe(5)
    const list = router.list()
    expect(list).toHaveLength(1)
    expect(list[0]).toMatchObject({ peer: 'self', source: 'cam', kind: 'source' })
    expect(list[0].consumers.map(c => c.kind)).toEqual(['peer', 'browser', 'feed', 'peer', 'browser'])
    expect(list[0].consumers.map(c => c.client)).toEqual(['client-0', 'client-1', 'client-2', 'client-3', 'client-4'])
    expect(new Set(list[0].consumers.map(c => c.id)).size).toBe(5)
    const source = media.running.get('cam') as FakeSource
    expect(source.rtpListeners).toBe(1)
    for (let i = 0; i < 10; i++) source.emit('rtp', packet(i))
    for (const c of cs) expect(c.track.got.map(p => p[3])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(router.list()[0].packets).toBe(10)
    // The stats hook: what each consumer's track reports.
    expect(router.list()[0].consumers[0].stats).toMatchObject({ packets: 10 })
    // Another source is another producer.
    await router.consume(undefined, 'mic', { kind: 'sink', client: 'x' })
    expect(router.list().map(p => p.source).sort()).toEqual(['cam', 'mic'])
    expect(router.producer(undefined, 'cam')?.runningSource).toBe(source)
  })

  it('the last consumer to leave stops the source; the next one starts it again', async () => {
    const cs = await consumers(3)
    const source = media.running.get('cam') as FakeSource
    cs[0].consumer.close()
    cs[0].consumer.close() // idempotent
    cs[1].track.close() // a closed track closes its consumer
    await Promise.resolve()
    expect(media.stops).toBe(0)
    expect(media.users.get('cam')).toBe(1)
    expect(router.list()[0].consumers).toHaveLength(1)
    cs[2].consumer.close()
    await vi.waitFor(() => { expect(media.stops).toBe(1) })
    expect(media.users.get('cam')).toBe(0)
    expect(router.list()).toEqual([])
    expect(source.rtpListeners).toBe(0)
    // Nobody was told the stream ended: their owners closed them.
    for (const c of cs) expect(c.ended).toEqual([])
    await consumers(1)
    expect(media.starts).toBe(2)
  })

  it('PLIs from N consumers (peers and browsers) give at most one key frame per interval', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
    vi.advanceTimersByTime(10_000)
    const cs = await consumers(6, ['peer', 'browser'])
    const source = media.running.get('cam') as FakeSource
    // The tracks were open when attached: the first asked at once, the others merged into one at the interval's end.
    expect(source.keyFrames).toBe(1)
    vi.advanceTimersByTime(KEYFRAME_MIN_INTERVAL_MS)
    expect(source.keyFrames).toBe(2)
    // Every consumer sends a PLI every 20 ms for 3 s (900 requests).
    const before = source.keyFrames
    for (let t = 0; t < 3_000; t += 20) {
      for (const c of cs) c.track.emit('keyframe-request', t % 100 === 0 ? 'fir' : 'pli')
      vi.advanceTimersByTime(20)
    }
    vi.advanceTimersByTime(KEYFRAME_MIN_INTERVAL_MS)
    const sent = source.keyFrames - before
    expect(sent).toBeGreaterThanOrEqual(Math.floor(3_000 / KEYFRAME_MIN_INTERVAL_MS))
    expect(sent).toBeLessThanOrEqual(Math.ceil(3_000 / KEYFRAME_MIN_INTERVAL_MS) + 1)
    const info = router.list()[0]
    expect(info.keyFrames.sent).toBe(source.keyFrames)
    expect(info.keyFrames.merged).toBeGreaterThan(800)
  })

  it('a consumer whose output throws is ended; the others keep getting every packet', async () => {
    const cs = await consumers(3)
    const source = media.running.get('cam') as FakeSource
    source.emit('rtp', packet(1))
    cs[1].track.throws = true
    source.emit('rtp', packet(2))
    source.emit('rtp', packet(3))
    expect(cs[0].track.got.map(p => p[3])).toEqual([1, 2, 3])
    expect(cs[2].track.got.map(p => p[3])).toEqual([1, 2, 3])
    expect(cs[1].track.got.map(p => p[3])).toEqual([1])
    expect(cs[1].ended).toEqual([['consumer-failed', 'Error: output broke']])
    expect(cs[1].consumer.closed).toBe(true)
    expect(cs[0].ended).toEqual([])
    expect(router.list()[0].consumers.map(c => c.client)).toEqual(['client-0', 'client-2'])
    expect(media.users.get('cam')).toBe(2)
    expect(media.stops).toBe(0)
  })

  it('a consumer without an owner of its end gets its track closed when the stream ends', async () => {
    const consumer = await router.consume(undefined, 'cam', { kind: 'browser', client: 'b' })
    const track = new FakeTrack()
    consumer.attach(track)
    const [peer] = await consumers(1)
    media.running.get('cam')?.emit('failed', new SourceFailedError('encoder died'))
    expect(track.isClosed).toBe(true)
    expect(peer.ended).toEqual([['source-failed', 'SourceFailedError: encoder died']])
    // The ended producer left the router at once: the next consumer gets a new one.
    expect(router.list()).toEqual([])
    await vi.waitFor(() => { expect(media.users.get('cam')).toBe(0) })
  })

  it('a source that cannot start rejects consume() and leaves no producer; a stream removed ends its consumers', async () => {
    media.fail = new SourceFailedError('no camera')
    await expect(router.consume(undefined, 'cam', { kind: 'peer', client: 'p' })).rejects.toMatchObject({ name: 'SourceFailedError' })
    expect(router.list()).toEqual([])
    await expect(router.consume(undefined, 'nope', { kind: 'peer', client: 'p' })).rejects.toMatchObject({ name: 'NotFoundError' })
    await expect(router.consume('other-peer', 'cam', { kind: 'peer', client: 'p' })).rejects.toMatchObject({ name: 'NotFoundError' })
    media.fail = undefined
    const cs = await consumers(2)
    media.emit('removed', 'cam', 'gone from the config')
    for (const c of cs) expect(c.ended).toEqual([['source-removed', 'gone from the config']])
    expect(router.list()).toEqual([])
  })

  it('a restarted source feeds the same consumers and asks for a key frame', async () => {
    const cs = await consumers(2)
    const old = media.running.get('cam') as FakeSource
    const fresh = new FakeSource('cam')
    media.running.set('cam', fresh)
    media.emit('restarted', 'cam', fresh as any)
    expect(old.rtpListeners).toBe(0)
    fresh.emit('rtp', packet(7))
    for (const c of cs) expect(c.track.got.map(p => p[3])).toEqual([7])
    expect(router.list()).toHaveLength(1)
  })

  it('exposes the source\'s control when it has one (a GstSource), not for a WHIP publication', async () => {
    await consumers(1)
    expect(router.producer(undefined, 'cam')?.controllable).toBeUndefined()
    const controllable = Object.assign(new FakeSource('mic'), { setBitrate: async () => {}, setVideoFormat: async () => ({}), elementStats: async () => ({}) })
    media.running.set('mic', controllable)
    await router.consume(undefined, 'mic', { kind: 'sink', client: 's' })
    expect(router.producer(undefined, 'mic')?.controllable).toBe(controllable)
  })

  it('a peer\'s stream forwarded is one origin however many consumers; its key-frame requests are merged too', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
    vi.advanceTimersByTime(10_000)
    const made: Array<{ holds: number, keyFrames: number, write: (p: Buffer) => void }> = []
    const forwarding = new MediaRouter({
      localPeer: 'self',
      media: media as any,
      peers: () => [],
      forward: {
        create: (_peer, _source, output) => {
          const origin = { holds: 0, keyFrames: 0, write: output.write }
          made.push(origin)
          return { kind: 'forward', hold: async () => { origin.holds++ }, release: async () => { origin.holds-- }, requestKeyFrame: () => { origin.keyFrames++ }, stats: () => null, close: () => {} }
        }
      },
      logger
    })
    await forwarding.start()
    const tracks = await Promise.all([1, 2, 3].map(async i => {
      const c = await forwarding.consume('alpha', 'cam', { kind: i === 3 ? 'feed' : 'browser', client: `b${i}` })
      const t = new FakeTrack()
      c.attach(t)
      return t
    }))
    expect(made).toHaveLength(1)
    expect(made[0].holds).toBe(3)
    expect(made[0].keyFrames).toBe(1)
    made[0].write(packet(5))
    for (const t of tracks) expect(t.got.map(p => p[3])).toEqual([5])
    expect(forwarding.list()).toMatchObject([{ peer: 'alpha', source: 'cam', kind: 'forward' }])
    for (const t of tracks) t.close()
    expect(made[0].holds).toBe(0)
    expect(forwarding.list()).toEqual([])
    await forwarding.stop()
  })

  it('stop() drops every producer and its holds', async () => {
    await consumers(2)
    await router.stop()
    await vi.waitFor(() => { expect(media.users.get('cam')).toBe(0) })
    expect(router.list()).toEqual([])
    await expect(router.consume(undefined, 'cam', { kind: 'peer', client: 'p' })).rejects.toMatchObject({ name: 'WatchEndedError' })
  })
})
