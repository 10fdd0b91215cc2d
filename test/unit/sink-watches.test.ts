import pino from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MediaRouter } from '../../src/core/media-router/media-router.ts'
import type { ProducerOutput } from '../../src/core/media-router/producer.ts'
import type { ForwardedFormat } from '../../src/core/watch/forwarded-streams.ts'
import { SinkTrack } from '../../src/core/watch/sink-track.ts'
import { SinkWatches } from '../../src/core/watch/sink-watches.ts'
import type { WatchInfo } from '../../src/core/watch/watch-types.ts'
import { EARLY_PACKETS, type WatchSink } from '../../src/core/watch/watches.ts'
import type { GstSinkEvents, SinkStats } from '../../src/media/gst-sink.ts'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'

const logger = pino({ level: 'silent' })
const PEER = '12D3KooWPeerPeerPeerPeerPeerPeerPeerPeerPeerPeerPe'

function rtp (seq: number, payloadType = 96): Buffer {
  const p = Buffer.alloc(20)
  p[0] = 0x80
  p[1] = payloadType
  p.writeUInt16BE(seq, 2)
  return p
}

/** A sink that records what it is written; start() waits until released. */
class FakeSink extends TypedEmitter<GstSinkEvents> implements WatchSink {
  readonly codec: ForwardedFormat['codec']
  readonly kind = 'video' as const
  readonly payloadType: number
  readonly written: number[] = []
  stopped = false
  #release = (): void => {}
  readonly #started = new Promise<void>(resolve => { this.#release = resolve })
  constructor (format: ForwardedFormat) { super(); this.codec = format.codec; this.payloadType = format.payloadType }
  async start (): Promise<void> { await this.#started }
  release (): void { this.#release() }
  async stop (): Promise<void> { this.stopped = true; this.release() }
  write (packet: Uint8Array): void { this.written.push((packet[2] << 8) | packet[3]) }
  stats (): SinkStats { return { packets: this.written.length } as unknown as SinkStats }
}

describe('SinkTrack: a router consumer ending in a local sink', () => {
  it('keeps packets while the sink starts, drops what has no format yet, rebuilds the sink on a new payload type', async () => {
    let format: ForwardedFormat | undefined
    const sinks: FakeSink[] = []
    const failed = vi.fn()
    const track = new SinkTrack({ spec: { kind: 'count' }, format: () => format, createSink: f => { const s = new FakeSink(f); sinks.push(s); return s }, onFailed: failed, logger })
    expect(track.sendRtp(rtp(1))).toBe(false)
    expect(track.stats()).toMatchObject({ packets: 1, dropped: 1 })
    format = { codec: 'h264', payloadType: 96 }
    for (let seq = 2; seq < 2 + EARLY_PACKETS + 5; seq++) track.sendRtp(rtp(seq))
    expect(sinks).toHaveLength(1)
    expect(sinks[0].written).toEqual([])
    expect(track.stats().dropped).toBe(1 + 5)
    sinks[0].release()
    await track.prepare()
    expect(track.ready).toBe(true)
    expect(sinks[0].written).toHaveLength(EARLY_PACKETS)
    expect(sinks[0].written[0]).toBe(2)
    track.sendRtp(rtp(5000))
    expect(sinks[0].written.at(-1)).toBe(5000)

    // The peer's source came back as VP8: a new sink, the old one stopped.
    format = { codec: 'vp8', payloadType: 97 }
    track.sendRtp(rtp(1, 97))
    expect(sinks).toHaveLength(2)
    expect(sinks[1]).toMatchObject({ codec: 'vp8', payloadType: 97 })
    sinks[1].release()
    await track.prepare()
    expect(sinks[0].stopped).toBe(true)
    expect(sinks[1].written).toEqual([1])

    const requests: string[] = []
    track.on('keyframe-request', kind => requests.push(kind))
    sinks[0].emit('keyframe-needed') // the old sink's: not ours any more
    sinks[1].emit('keyframe-needed')
    expect(requests).toEqual(['pli'])
    sinks[1].emit('failed', new Error('gave up'))
    expect(failed).toHaveBeenCalledTimes(1)

    const closed = vi.fn()
    track.on('close', closed)
    await track.stop()
    expect(closed).toHaveBeenCalledTimes(1)
    expect(sinks[1].stopped).toBe(true)
    expect(track.sendRtp(rtp(2, 97))).toBe(false)
  })
})

describe('SinkWatches: POST /v1/watch as consumers of the media router', () => {
  const stops: Array<() => Promise<void>> = []
  afterEach(async () => { for (const s of stops.splice(0)) await s() })

  async function setup (): Promise<{ watches: SinkWatches, router: MediaRouter, origins: Map<string, { output: ProducerOutput, holds: number, keyFrames: number }>, sinks: FakeSink[] }> {
    const origins = new Map<string, { output: ProducerOutput, holds: number, keyFrames: number }>()
    const router = new MediaRouter({
      localPeer: 'self',
      media: { list: () => [] } as any,
      peers: () => [],
      forward: {
        create: (_peer, _source, output, own) => {
          const origin = { output, holds: 0, keyFrames: 0 }
          origins.set(own ?? 'shared', origin)
          return { kind: 'forward', hold: async () => { origin.holds++ }, release: async () => { origin.holds-- }, requestKeyFrame: () => { origin.keyFrames++ }, stats: () => null, close: () => {} }
        }
      },
      logger
    })
    await router.start()
    const sinks: FakeSink[] = []
    const remote = (id: string): WatchInfo => ({ id, peer: PEER, source: 'cam', sink: 'count', state: 'active', kind: 'video', codec: 'h264', error: null, createdAt: '', activeAt: 'then', stats: { keyFrameRequests: 3, nacksSent: 2, retransmitsReceived: 1, jitterMs: 4 } as any })
    const watches = new SinkWatches({
      localPeer: 'self',
      router,
      streams: { watchOf: (_p, _s, own) => own !== undefined && origins.has(own) ? remote(own) : undefined, formatOf: () => ({ codec: 'h264', payloadType: 96 }) },
      sessions: { link: () => undefined },
      peers: () => [{ peerId: PEER, sources: [{ name: 'cam', kind: 'video', codec: 'h264' }] } as any],
      createSink: f => { const s = new FakeSink(f); s.release(); sinks.push(s); return s },
      logger
    })
    stops.push(async () => { await watches.close(); await router.stop() })
    return { watches, router, origins, sinks }
  }

  it('each watch is the one consumer of a stream of its own, named by its id; its packets reach its sink; DELETE leaves the stream', async () => {
    const { watches, router, origins, sinks } = await setup()
    const a = await watches.create(PEER, 'cam', 'count')
    const b = await watches.create(PEER, 'cam', 'count')
    expect([...origins.keys()].sort()).toEqual([a.id, b.id].sort())
    expect(a).toMatchObject({ state: 'active', peer: PEER, source: 'cam', codec: 'h264', stats: { keyFrameRequests: 3, nacksSent: 2, retransmitsReceived: 1, jitterMs: 4 } })
    expect(router.list().map(p => p.consumers.map(c => [c.kind, c.client]))).toEqual([[['sink', a.id]], [['sink', b.id]]])
    // A new consumer asks its producer for a key frame.
    expect(origins.get(a.id)?.keyFrames).toBe(1)
    origins.get(a.id)?.output.write(rtp(7))
    expect(sinks.map(s => s.written)).toEqual([[7], []])
    await watches.delete(a.id)
    expect(origins.get(a.id)?.holds).toBe(0)
    expect(sinks[0].stopped).toBe(true)
    expect(() => watches.get(a.id)).toThrow(expect.objectContaining({ name: 'NotFoundError' }))
    expect(watches.list().map(w => w.id)).toEqual([b.id])
  })

  it('the stream ending fails the watch with a named error and stops its sink; unknown peers and sources are NotFoundError', async () => {
    const { watches, origins, sinks } = await setup()
    const w = await watches.create(PEER, 'cam', 'count')
    origins.get(w.id)?.output.end('source-removed', `peer ${PEER}: source cam went away`)
    expect(watches.get(w.id)).toMatchObject({ state: 'failed', error: { name: 'NotFoundError', message: expect.stringMatching(/went away/) } })
    await vi.waitFor(() => { expect(sinks[0].stopped).toBe(true) })
    await expect(watches.create(PEER, 'nosuch', 'count')).rejects.toMatchObject({ name: 'NotFoundError' })
    await expect(watches.create('self', 'cam', 'count')).rejects.toMatchObject({ name: 'ConflictError' })
    await expect(watches.create(PEER, 'cam', 'tcp://nowhere')).rejects.toMatchObject({ name: 'InvalidSinkError' })
  })
})
