import { afterEach, describe, expect, it } from 'vitest'
import { MediaSources } from '../../src/media/media-sources.ts'
import { isAlive } from '../helpers/media-processes.ts'
import { sleep } from '../helpers/media-pair.ts'

const VIDEO = { kind: 'video', pipeline: 'videotestsrc is-live=true', codec: 'vp8', width: 160, height: 120, fps: 15, bitrate: 200 } as const

let media: MediaSources | undefined
afterEach(async () => { await media?.stop() })

describe('MediaSources', () => {
  it('runs alwaysOn sources from start, others while held, and lists them for edgectl sources', async () => {
    media = new MediaSources({
      mtu: 1200,
      sources: {
        cam: { ...VIDEO },
        tone: { kind: 'audio', pipeline: 'audiotestsrc is-live=true', alwaysOn: true },
        broken: { kind: 'video', pipeline: 'videotestsrc is-live=true', encoder: 'edgestacknosuchenc', alwaysOn: true }
      }
    })
    await media.start()
    expect(media.encoders().map(e => `${e.codec}=${e.encoder}`)).toContain('h264=x264enc')
    const byName = Object.fromEntries(media.list().map(s => [s.name, s]))
    expect(byName.tone).toMatchObject({ kind: 'audio', codec: 'opus', encoder: 'opusenc', running: true, alwaysOn: true, users: 0, error: null })
    expect(byName.cam).toMatchObject({ codec: 'vp8', encoder: 'vp8enc', running: false, stats: null })
    expect(byName.broken).toMatchObject({ running: false, error: { name: 'MissingElementError' } })

    const [a, b] = await Promise.all([media.acquire('cam'), media.acquire('cam')])
    expect(a).toBe(b)
    const pid = a.stats().pid!
    expect(media.list().find(s => s.name === 'cam')).toMatchObject({ running: true, users: 2 })
    await sleep(300)
    expect(media.list().find(s => s.name === 'cam')?.stats?.packets).toBeGreaterThan(0)
    await media.release('cam')
    expect(isAlive(pid)).toBe(true)
    await media.release('cam')
    expect(isAlive(pid)).toBe(false)
    expect(media.list().find(s => s.name === 'cam')).toMatchObject({ running: false, users: 0 })
    await expect(media.acquire('nope')).rejects.toMatchObject({ name: 'NotFoundError' })
    await expect(media.acquire('broken')).rejects.toMatchObject({ name: 'MissingElementError' })
    expect(media.list().find(s => s.name === 'broken')?.users).toBe(0)

    const tonePid = media.list().find(s => s.name === 'tone')!.stats!.pid!
    await media.stop()
    expect(isAlive(tonePid)).toBe(false)
    expect(media.list().every(s => !s.running)).toBe(true)
  })
})
