import path from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { ChannelHub, EDGE_CHANNEL } from '../../src/core/sessions/channel-hub.ts'
import type { RecordedUnit, VideoInput } from '../../src/core/record/record-types.ts'
import { Recording, VIDEO_RETRY_MS } from '../../src/core/record/recording.ts'
import { MAX_RECORDINGS, Recordings } from '../../src/core/record/recordings.ts'
import type { PeerInfo } from '../../src/signalling/types.ts'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'
import { FakeChannel, pairOf } from '../helpers/fake-channel.ts'
import { readMcap } from '../helpers/mcap-read.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'
import { waitFor } from '../helpers/edged-process.ts'

// A recording on daemon B of its peer A: two channel hubs joined by fake
// channels (a session can be cut and replaced), and a fake video input.

const log = pino({ level: 'silent' })
const A = 'peer-a'
const B = 'peer-b'

interface FakeSession { a: Record<string, FakeChannel>, b: Record<string, FakeChannel> }

function session (hubA: ChannelHub, hubB: ChannelHub, id: string, labels: string[]): FakeSession {
  const s: FakeSession = { a: {}, b: {} }
  for (const label of [EDGE_CHANNEL, ...labels]) {
    const [a, b] = pairOf(label)
    s.a[label] = a
    s.b[label] = b
    hubA.attach(B, a, id)
    hubB.attach(A, b, id)
  }
  return s
}

/** The session ends: every channel of both ends closes. */
function end (s: FakeSession): void {
  for (const side of [s.a, s.b]) for (const c of Object.values(side)) c.close()
}

async function until (check: () => boolean, timeoutMs = 5_000): Promise<void> {
  await waitFor('the condition', check, timeoutMs, 5)
}

class FakeSubscription extends TypedEmitter<{ end: [] }> {
  closed = false
  close (): void { this.closed = true }
}

/** Video input whose units the test pushes; subscriptions as made, in order. */
function fakeVideo (): VideoInput & { subs: Array<{ source: string, sub: FakeSubscription, push: (unit: RecordedUnit) => void }>, refuse: boolean } {
  const input = {
    subs: [] as Array<{ source: string, sub: FakeSubscription, push: (unit: RecordedUnit) => void }>,
    refuse: false,
    subscribe: async (peer: string, source: string, onUnit: (unit: RecordedUnit) => void) => {
      if (input.refuse) throw Object.assign(new Error(`no source ${source}`), { name: 'NotFoundError' })
      const sub = new FakeSubscription()
      input.subs.push({ source, sub, push: onUnit })
      return sub
    }
  }
  return input
}

const unit = (i: number): RecordedUnit => ({ data: Buffer.from([0, 0, 0, 1, i % 5 === 0 ? 0x65 : 0x41, i & 0xff]), rtpTimestamp: i * 3000, keyFrame: i % 5 === 0 })

describe('Recording', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

  async function setup (channels?: string[]): Promise<{ hubA: ChannelHub, hubB: ChannelHub, video: ReturnType<typeof fakeVideo>, recording: Recording, file: string }> {
    const temp = await makeTempDir('record-')
    cleanups.push(temp.cleanup)
    const hubA = new ChannelHub(log)
    const hubB = new ChannelHub(log)
    cleanups.push(() => { hubA.close(); hubB.close() })
    const video = fakeVideo()
    const file = path.join(temp.dir, 'a.mcap')
    const recording = new Recording({ id: 'r1', peer: A, sources: ['front'], ...(channels === undefined ? {} : { channels }), file, hub: hubB, video, logger: log })
    cleanups.push(async () => { await recording.stop() })
    await recording.start()
    return { hubA, hubB, video, recording, file }
  }

  it('records a channel both ways through a remade session, once each, and takes nothing from the programs that listen', async () => {
    const { hubA, hubB, recording, file } = await setup()
    const toB = hubA.endpoint(B, 'control')
    const s1 = session(hubA, hubB, 's1', ['control'])
    for (let i = 0; i < 50; i++) await toB.write(JSON.stringify({ i }))
    await until(() => recording.info().stats.channelMessages === 50)
    // Nobody listened on B yet: the messages are parked for the first program, recording or not.
    const got: string[] = []
    hubB.find(A, 'control')?.addConsumer({ deliver: data => { got.push(String(data)); return true }, backlog: () => 0, overflow: () => {} })
    expect(got).toHaveLength(50)
    // The session is replaced; the endpoint (and the tap) go on.
    end(s1)
    const s2 = session(hubA, hubB, 's2', ['control'])
    for (let i = 50; i < 100; i++) await toB.write(JSON.stringify({ i }))
    // B's program sends two, one of them not JSON.
    await hubB.find(A, 'control')?.write('{"ack":true}')
    await hubB.find(A, 'control')?.write('plain text')
    await until(() => got.length === 100 && recording.info().stats.channelMessages === 102)
    await recording.stop()
    end(s2)

    const { messages } = await readMcap(file)
    const received = messages.filter(m => m.topic === '/channels/control').map(m => JSON.parse(Buffer.from(m.data).toString()).i)
    expect(received).toEqual([...Array(100).keys()])
    expect(messages.filter(m => m.topic === '/channels/control/sent').map(m => Buffer.from(m.data).toString())).toEqual(['{"ack":true}'])
    expect(messages.filter(m => m.topic === '/channels/control/sent/raw').map(m => Buffer.from(m.data).toString())).toEqual(['plain text'])
    for (let i = 1; i < messages.length; i++) expect(messages[i].logTime >= messages[i - 1].logTime).toBe(true)
  })

  it('records only the labels asked for, including channels that open after it started', async () => {
    const { hubA, hubB, recording, file } = await setup(['wanted'])
    const s = session(hubA, hubB, 's1', ['wanted', 'other'])
    await hubA.endpoint(B, 'other').write('{"x":1}')
    await hubA.endpoint(B, 'wanted').write('{"y":2}')
    await until(() => recording.info().stats.channelMessages === 1)
    await new Promise(resolve => setTimeout(resolve, 20))
    await recording.stop()
    end(s)
    const { messages } = await readMcap(file)
    expect(messages.map(m => m.topic)).toEqual(['/channels/wanted'])
    expect(recording.info().channels).toEqual(['wanted'])
  })

  it('writes the video as CompressedVideo, and subscribes again when the feed ends', async () => {
    const { video, recording, file } = await setup()
    await until(() => video.subs.length === 1)
    for (let i = 0; i < 10; i++) video.subs[0].push(unit(i))
    expect(recording.info().sources).toEqual([{ source: 'front', frames: 10, live: true, error: null }])
    video.subs[0].sub.emit('end')
    expect(recording.info().sources[0].live).toBe(false)
    await until(() => video.subs.length === 2, VIDEO_RETRY_MS + 3_000)
    for (let i = 10; i < 20; i++) video.subs[1].push(unit(i))
    await recording.stop()
    expect(video.subs[1].sub.closed).toBe(true)
    const { messages } = await readMcap(file)
    expect(messages).toHaveLength(20)
    expect(messages.every(m => m.topic === '/video/front' && m.schemaName === 'foxglove.CompressedVideo')).toBe(true)
    const decoded = messages.map(m => JSON.parse(Buffer.from(m.data).toString()) as { data: string, format: string, frame_id: string })
    expect(decoded.map(d => Buffer.from(d.data, 'base64')[5])).toEqual([...Array(20).keys()])
    expect(decoded[0]).toMatchObject({ format: 'h264', frame_id: 'front' })
  }, 15_000)

  it('a source that cannot start is asked for again, and its error shows meanwhile', async () => {
    const temp = await makeTempDir('record-')
    cleanups.push(temp.cleanup)
    const hub = new ChannelHub(log)
    cleanups.push(() => { hub.close() })
    const video = fakeVideo()
    video.refuse = true
    const recording = new Recording({ id: 'r2', peer: A, sources: ['rear'], file: path.join(temp.dir, 'b.mcap'), hub, video, logger: log })
    cleanups.push(async () => { await recording.stop() })
    await recording.start()
    await until(() => recording.info().sources[0].error !== null)
    expect(recording.info().sources[0]).toMatchObject({ live: false, error: { name: 'NotFoundError' } })
    video.refuse = false
    await until(() => recording.info().sources[0].live, VIDEO_RETRY_MS + 3_000)
    await recording.stop()
    // Stopped: no timer or subscription left behind.
    expect(video.subs[0].sub.closed).toBe(true)
  }, 15_000)
})

describe('Recordings', () => {
  it('bounds recordings at MAX_RECORDINGS, refuses one file twice, and stop() finalises every file', async () => {
    const temp = await makeTempDir('recordings-')
    const hub = new ChannelHub(log)
    const video = fakeVideo()
    const peers = (): PeerInfo[] => [{ peerId: A, sources: [{ name: 'front', kind: 'video', codec: 'h264' }, { name: 'mic', kind: 'audio', codec: 'opus' }] } as unknown as PeerInfo]
    const recordings = new Recordings({ localPeer: B, peers, sessions: { link: () => undefined }, hub, video, logger: log })
    try {
      await recordings.start()
      const files = Array.from({ length: MAX_RECORDINGS }, (_, i) => path.join(temp.dir, `r${i}.mcap`))
      const first = await recordings.create({ peer: A, out: files[0] })
      // The peer's H.264 video, not its audio.
      expect(first.sources.map(s => s.source)).toEqual(['front'])
      await expect(recordings.create({ peer: A, out: files[0] })).rejects.toMatchObject({ name: 'ConflictError' })
      for (const file of files.slice(1)) await recordings.create({ peer: A, out: file })
      await expect(recordings.create({ peer: A, out: path.join(temp.dir, 'one-more.mcap') })).rejects.toMatchObject({ name: 'ConflictError' })
      await expect(recordings.create({ peer: A, out: path.join(temp.dir, 'mic.mcap'), sources: ['mic'] })).rejects.toMatchObject({ name: 'ConflictError' })
      const stopped = await recordings.delete(first.id)
      expect(stopped.id).toBe(first.id)
      expect(recordings.has(first.id)).toBe(false)
      await expect(recordings.delete(first.id)).rejects.toMatchObject({ name: 'NotFoundError' })
      expect((await readMcap(files[0])).records.Footer).toBe(1)
      await recordings.stop()
      expect(recordings.list()).toEqual([])
      for (const file of files.slice(1)) expect((await readMcap(file)).records.Footer).toBe(1)
      await expect(recordings.create({ peer: A, out: path.join(temp.dir, 'late.mcap') })).rejects.toMatchObject({ name: 'ConflictError' })
      expect(video.subs.every(s => s.sub.closed)).toBe(true)
    } finally {
      await recordings.stop()
      hub.close()
      await temp.cleanup()
    }
  })
})
