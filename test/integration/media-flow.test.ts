import dgram from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { GstSink } from '../../src/media/gst-sink.ts'
import { parseRtpHeader } from '../../src/rtp/rtp-header.ts'
import type { MissingElementError } from '../../src/util/errors.ts'
import { isAlive } from '../helpers/media-processes.ts'
import { settled, sleep, testPair, testSource } from '../helpers/media-pair.ts'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map(async c => await c()))
})

async function rejection (promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection')
}

describe('media flow: source → UDP → sink', () => {
  for (const codec of ['h264', 'vp8'] as const) {
    it(`${codec}: the count sink decodes at least 95 % of 5 s of 30 fps video`, async () => {
      const pair = await testPair(codec, 'count')
      cleanups.push(pair.stop)
      await sleep(5_000)
      await pair.source.stop()
      const sent = pair.source.stats()
      const decoded = await settled(() => pair.sink.stats().framesDecoded)
      const received = pair.sink.stats()
      // the source runs at about 30 fps; loose, because under CPU starvation (shared CI
      // machines) its leaky queue drops raw frames rather than add latency, by design
      expect(sent.frames, JSON.stringify({ sent, decoded })).toBeGreaterThanOrEqual(0.5 * 150)
      expect(received.frames).toBe(sent.frames)
      expect(received.lost).toBe(0)
      expect(decoded).toBeGreaterThanOrEqual(0.95 * sent.frames)
      expect(decoded).toBeLessThanOrEqual(sent.frames)
      // every packet payloaded to rtc.mtu
      expect(sent.bytes / sent.packets).toBeLessThanOrEqual(1200)
      expect(sent.keyFrames).toBeGreaterThanOrEqual(1)
    })
  }

  it('opus: audio packets flow and are decoded', async () => {
    const pair = await testPair('opus', 'count')
    cleanups.push(pair.stop)
    await sleep(2_000)
    const running = pair.sink.stats()
    expect(running.bitrateKbps).toBeGreaterThan(20)
    await pair.source.stop()
    const sent = pair.source.stats()
    const decoded = await settled(() => pair.sink.stats().framesDecoded)
    // 20 ms Opus frames: 50 packets a second
    expect(sent.packets).toBeGreaterThanOrEqual(0.9 * 100)
    expect(pair.sink.stats().packets).toBe(sent.packets)
    expect(decoded).toBeGreaterThanOrEqual(0.95 * sent.packets)
    expect(pair.source.requestKeyFrame()).toBe(false)
  })

  it('rtp:// re-exposes the packets unchanged on a local UDP port', async () => {
    const receiver = dgram.createSocket('udp4')
    await new Promise<void>(resolve => receiver.bind(0, '127.0.0.1', resolve))
    cleanups.push(async () => { receiver.close() })
    const got: Buffer[] = []
    receiver.on('message', m => got.push(m))
    const pair = await testPair('vp8', `rtp://127.0.0.1:${receiver.address().port}`)
    cleanups.push(pair.stop)
    const sent: Buffer[] = []
    pair.source.on('rtp', p => sent.push(Buffer.from(p)))
    await sleep(1_000)
    await pair.source.stop()
    await sleep(200)
    expect(sent.length).toBeGreaterThan(10)
    expect(got.slice(-sent.length)).toEqual(sent)
    expect(pair.sink.stats()).toMatchObject({ sink: `rtp://127.0.0.1:${receiver.address().port}`, pid: null, discarded: 0 })
    // the bridge may also send UDP to the sink's input port instead of calling write()
    const arrived = new Promise<Buffer>(resolve => receiver.once('message', resolve))
    receiver.send(sent[0], pair.sink.inputPort!, '127.0.0.1')
    expect(await arrived).toEqual(sent[0])
  })

  it('a killed source pipeline is restarted and the stream goes on: same SSRC, no sequence gap', async () => {
    const pair = await testPair('h264', 'count')
    cleanups.push(pair.stop)
    await sleep(700)
    const pid = pair.source.pid!
    const ssrcs = new Set<number>()
    pair.source.on('rtp', p => ssrcs.add(parseRtpHeader(p)!.ssrc))
    const restarted = new Promise<number>(resolve => pair.source.once('restart', resolve))
    const started = new Promise<number>(resolve => pair.source.once('started', resolve))
    process.kill(pid, 'SIGKILL')
    expect(await restarted).toBe(1)
    const newPid = await started
    expect(newPid).not.toBe(pid)
    expect(isAlive(pid)).toBe(false)
    const before = pair.source.stats().packets
    const decodedBefore = pair.sink.stats().framesDecoded
    await sleep(1_500)
    const after = pair.source.stats()
    expect(after.packets - before).toBeGreaterThan(20)
    expect(after.restarts).toBe(1)
    expect(after.state).toBe('running')
    expect([...ssrcs]).toEqual([pair.source.ssrc])
    expect(pair.sink.stats().lost).toBe(0)
    expect(pair.sink.stats().framesDecoded - decodedBefore).toBeGreaterThan(20)
  })

  it('a sink restarted after a crash decodes again', async () => {
    const pair = await testPair('vp8', 'count')
    cleanups.push(pair.stop)
    await sleep(500)
    const started = new Promise<number>(resolve => pair.sink.once('started', resolve))
    process.kill(pair.sink.pid!, 'SIGKILL')
    await started
    const decodedBefore = pair.sink.stats().framesDecoded
    await sleep(1_500)
    expect(pair.sink.stats().restarts).toBe(1)
    expect(pair.sink.stats().framesDecoded - decodedBefore).toBeGreaterThan(20)
  })

  it('a missing encoder or payloader is a MissingElementError naming the Debian package', async () => {
    const err = await rejection(testSource('h264', { encoder: 'edgestacknosuchenc' }))
    expect(err.name).toBe('MissingElementError')
    expect((err as MissingElementError).element).toBe('edgestacknosuchenc')
    const av1Source = await testSource('av1')
    const av1 = await rejection(av1Source.start()) as MissingElementError
    expect(av1.name).toBe('MissingElementError')
    expect(av1.element).toBe('rtpav1pay')
    expect(av1.package).toMatch(/gst-plugins-rs/)
  })

  it('the display sink refuses to start without a display', async () => {
    const sink = new GstSink({ sink: 'display', codec: 'h264', env: { PATH: process.env.PATH } })
    cleanups.push(async () => { await sink.stop() })
    expect((await rejection(sink.start())).name).toBe('NoDisplayError')
  })
})
