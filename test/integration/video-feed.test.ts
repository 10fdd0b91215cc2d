import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { MediaRouter } from '../../src/core/media-router/media-router.ts'
import { VideoFeeds, type AccessUnit } from '../../src/core/watch/video-feeds.ts'
import { MediaSources } from '../../src/media/media-sources.ts'
import { decodeAnnexB } from '../helpers/h264-decode.ts'
import { sleep } from '../helpers/media-pair.ts'

const logger = pino({ level: 'silent' })
const VIDEO = { kind: 'video', pipeline: 'videotestsrc is-live=true pattern=ball', codec: 'h264', width: 320, height: 240, fps: 30, bitrate: 600 } as const

let media: MediaSources | undefined
afterEach(async () => { await media?.stop() })

describe('in-process video feed (VideoFeeds over the media router)', () => {
  it('gives each subscriber decodable access units from one encoder, starting at a key frame', async () => {
    media = new MediaSources({ mtu: 1200, logger, sources: { cam: { ...VIDEO, keyframeInterval: 300 }, tone: { kind: 'audio', pipeline: 'audiotestsrc is-live=true' } } })
    await media.start()
    const local = new MediaRouter({ localPeer: 'self', media, peers: () => [], logger })
    await local.start()
    const feeds = new VideoFeeds({ router: local, logger })
    const a: AccessUnit[] = []
    const b: AccessUnit[] = []
    const subA = await feeds.subscribe(undefined, 'cam', u => a.push(u))
    await sleep(1_500)
    // Joins mid-GOP (a key frame every 10 s): its PLI brings one at once.
    const subB = await feeds.subscribe('self', 'cam', u => b.push(u))
    expect(media.list().find(s => s.name === 'cam')).toMatchObject({ running: true, users: 2 })
    const pid = media.list().find(s => s.name === 'cam')!.stats!.pid
    await sleep(2_000)
    expect(media.list().find(s => s.name === 'cam')!.stats!.pid).toBe(pid)
    subA.close()
    subB.close()
    subB.close()
    expect(subB.closed).toBe(true)
    await sleep(100)
    expect(media.list().find(s => s.name === 'cam')).toMatchObject({ running: false, users: 0 })

    for (const units of [a, b]) {
      expect(units[0].keyFrame).toBe(true)
      const ts = units.map(u => u.rtpTimestamp)
      expect(new Set(ts).size).toBe(ts.length)
    }
    expect(a.length).toBeGreaterThanOrEqual(60)
    // B joined 1.5 s in and started on the key frame its join asked for, not 8 s later.
    expect(b.length).toBeGreaterThanOrEqual(30)
    expect(await decodeAnnexB(Buffer.concat(a.map(u => u.data)))).toBe(a.length)
    expect(await decodeAnnexB(Buffer.concat(b.map(u => u.data)))).toBe(b.length)

    await expect(feeds.subscribe(undefined, 'tone', () => {})).rejects.toMatchObject({ name: 'UnsupportedCodecError' })
    await expect(feeds.subscribe(undefined, 'nope', () => {})).rejects.toMatchObject({ name: 'NotFoundError' })
    await local.stop()
  })

  it('ends a subscription when its source goes away, and one whose consumer throws', async () => {
    media = new MediaSources({ mtu: 1200, logger, sources: { cam: { ...VIDEO } } })
    await media.start()
    const local = new MediaRouter({ localPeer: 'self', media, peers: () => [], logger })
    await local.start()
    const feeds = new VideoFeeds({ router: local, logger })
    let ended = 0
    const sub = await feeds.subscribe(undefined, 'cam', () => {})
    sub.on('end', () => { ended++ })
    const thrower = await feeds.subscribe(undefined, 'cam', () => { throw new Error('consumer bug') })
    const thrown = new Promise<void>(resolve => thrower.on('end', resolve))
    await thrown
    expect(thrower.closed).toBe(true)
    expect(sub.closed).toBe(false)
    await media.reconfigure({})
    await sleep(100)
    expect(ended).toBe(1)
    expect(sub.closed).toBe(true)
    await local.stop()
  })
})
