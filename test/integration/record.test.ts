import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEdgedPair } from '../helpers/edged-pair.ts'
import { EDGECTL, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { readMcap, type ReadMessage } from '../helpers/mcap-read.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'
import { unixRequest } from '../helpers/unix-http.ts'

// Two daemons with a session: B records A's camera and a channel A sends on,
// through edgectl, into an MCAP file read back with @mcap/core; the video is
// decoded with GStreamer.

const run = promisify(execFile)
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const rtc = { bindAddress: '127.0.0.1' }
const sources = {
  cam: { kind: 'video', codec: 'h264', pipeline: 'videotestsrc is-live=true pattern=ball', width: 320, height: 240, fps: 30 },
  tone: { kind: 'audio', codec: 'opus', pipeline: 'audiotestsrc is-live=true wave=sine' }
}

async function edgectl (d: EdgedProcess, ...args: string[]): Promise<string> {
  return (await run(EDGECTL, ['--socket', d.socket, ...args], { timeout: 20_000 })).stdout
}

async function connected (from: EdgedProcess, to: EdgedProcess): Promise<boolean> {
  const res = await unixRequest(from.socket, 'GET', `/v1/sessions/${to.peerId}`)
  return res.status === 200 && res.body.state === 'connected'
}

/** Send `count` JSON messages from A to B on `label`, `everyMs` apart; numbered from `from`. */
async function sendSeries (a: EdgedProcess, b: EdgedProcess, label: string, from: number, count: number, everyMs: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const res = await unixRequest(a.socket, 'POST', `/v1/channels/${b.peerId}/${label}`, { text: JSON.stringify({ i, at: Date.now() }) })
    expect(res.status, JSON.stringify(res.body)).toBe(202)
    await sleep(everyMs)
  }
}

/** The CompressedVideo messages' access units, one after the other: an Annex-B H.264 stream. */
function annexB (video: ReadMessage[]): Buffer {
  return Buffer.concat(video.map(m => Buffer.from((JSON.parse(Buffer.from(m.data).toString()) as { data: string }).data, 'base64')))
}

/** NAL unit types of an Annex-B access unit. */
function nalTypes (unit: Buffer): number[] {
  const types: number[] = []
  for (let i = 0; i + 3 < unit.length; i++) {
    if (unit[i] === 0 && unit[i + 1] === 0 && unit[i + 2] === 1) types.push(unit[i + 3] & 0x1f)
  }
  return types
}

/** Foxglove's rule for h264: a message with an IDR also carries the SPS (and PPS); the first is a key frame. */
function expectDecodableUnits (video: ReadMessage[]): void {
  const units = video.map(m => nalTypes(Buffer.from((JSON.parse(Buffer.from(m.data).toString()) as { data: string }).data, 'base64')))
  expect(units[0]).toContain(5)
  for (const types of units) if (types.includes(5)) expect(types).toEqual(expect.arrayContaining([7, 8]))
}

/** Frames GStreamer decodes from an Annex-B file (fakesink's per-buffer message, with -v). */
async function decodedFrames (file: string): Promise<number> {
  const { stdout, stderr } = await run('gst-launch-1.0', ['-v', 'filesrc', `location=${file}`, '!', 'h264parse', '!', 'avdec_h264', '!', 'fakesink', 'silent=false'], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 })
  expect(stderr).not.toMatch(/ERROR/)
  return stdout.split('\n').filter(l => l.includes('last-message = chain')).length
}

function expectMonotonic (messages: ReadMessage[]): void {
  for (let i = 1; i < messages.length; i++) expect(messages[i].logTime >= messages[i - 1].logTime, `message ${i}`).toBe(true)
}

describe('edgectl record: video and channel messages in one MCAP file', () => {
  let a: EdgedProcess, b: EdgedProcess
  let temp: { dir: string, cleanup: () => Promise<void> }

  beforeAll(async () => {
    temp = await makeTempDir('edge-record-')
    ;[a, b] = await startEdgedPair({ name: 'alpha', config: { rtc, media: { sources } } }, { name: 'bravo', config: { rtc } })
    await waitFor('bravo sees alpha\'s camera', async () =>
      (await unixRequest(b.socket, 'GET', '/v1/peers')).body.peers.some((p: any) => p.peerId === a.peerId && p.sources.length === 2))
    await waitFor('a session between them', async () => await connected(b, a))
  }, 60_000)
  afterAll(async () => {
    await Promise.all([a, b].map(async d => { await d?.cleanup() }))
    await temp?.cleanup()
  })

  it('refuses what it cannot record with a named error, and creates no file', async () => {
    const out = path.join(temp.dir, 'refused.mcap')
    const post = async (body: unknown): Promise<[number, string]> => {
      const res = await unixRequest(b.socket, 'POST', '/v1/record', body)
      return [res.status, res.body.error?.name]
    }
    expect(await post({ peer: a.peerId })).toEqual([400, 'BadRequestError'])
    expect(await post({ peer: a.peerId, out: 'relative.mcap' })).toEqual([400, 'BadRequestError'])
    expect(await post({ peer: a.peerId, out: path.join(temp.dir, 'x.mkv') })).toEqual([400, 'BadRequestError'])
    expect(await post({ peer: a.peerId, out, channels: ['_edge'] })).toEqual([400, 'BadRequestError'])
    expect(await post({ peer: a.peerId, out: path.join(temp.dir, 'no', 'dir.mcap') })).toEqual([400, 'BadRequestError'])
    expect(await post({ peer: a.peerId, out, sources: ['nope'] })).toEqual([404, 'NotFoundError'])
    expect(await post({ peer: a.peerId, out, sources: ['tone'] })).toEqual([409, 'ConflictError'])
    expect(await post({ peer: b.peerId, out })).toEqual([409, 'ConflictError'])
    expect(await post({ peer: '12D3KooWNoSuchPeerNoSuchPeerNoSuchPeerNoSuchPeer1', out })).toEqual([404, 'NotFoundError'])
    await fs.writeFile(out, 'someone else\'s')
    expect(await post({ peer: a.peerId, out })).toEqual([409, 'ConflictError'])
    expect(await fs.readFile(out, 'utf8')).toBe('someone else\'s')
    expect((await unixRequest(b.socket, 'DELETE', '/v1/record/nope')).body.error.name).toBe('NotFoundError')
    expect((await unixRequest(b.socket, 'GET', '/v1/watch')).body.recordings).toEqual([])
  })

  it('5 s of video and 100 channel messages: every message, monotonic log times, frames that decode; unwatch finalises', async () => {
    const file = path.join(temp.dir, 'five seconds.mcap')
    const id = (await edgectl(b, 'record', a.peerId, '--source', 'cam', '--channel', 'telemetry', '--out', file)).trim()
    expect(id).toMatch(/^[\w-]{16}$/)
    // Listed with the watches.
    const listed = (await unixRequest(b.socket, 'GET', '/v1/watch')).body
    expect(listed.recordings.map((r: any) => r.id)).toEqual([id])
    await waitFor('the first frames', async () => (await unixRequest(b.socket, 'GET', `/v1/watch/${id}`)).body.sources[0].frames > 0, 15_000)
    const started = performance.now()
    await sendSeries(a, b, 'telemetry', 0, 100, 40)
    // A message on a channel not asked for stays out of the file.
    await unixRequest(a.socket, 'POST', `/v1/channels/${b.peerId}/other`, { text: '{"no":1}' })
    await sleep(5_000 - (performance.now() - started))
    await waitFor('100 channel messages taken', async () => (await unixRequest(b.socket, 'GET', `/v1/record/${id}`)).body.stats.channelMessages === 100)
    const info = (await unixRequest(b.socket, 'GET', `/v1/record/${id}`)).body
    expect(info).toMatchObject({ id, peer: a.peerId, file, state: 'recording', channels: ['telemetry'], stats: { dropped: 0 } })
    expect(await edgectl(b, 'unwatch', id)).toBe(`stopped watch ${id}\n`)
    expect((await unixRequest(b.socket, 'GET', '/v1/watch')).body.recordings).toEqual([])

    const { reader, messages, records } = await readMcap(file)
    expect(records.Footer).toBe(1)
    expect(reader.chunkIndexes.length).toBeGreaterThan(0)
    expectMonotonic(messages)
    const telemetry = messages.filter(m => m.topic === '/channels/telemetry')
    expect(telemetry.map(m => (JSON.parse(Buffer.from(m.data).toString()) as { i: number }).i)).toEqual([...Array(100).keys()])
    expect(telemetry[0]).toMatchObject({ messageEncoding: 'json', schemaName: 'edge.channel.telemetry' })
    expect(messages.filter(m => m.topic.includes('other'))).toEqual([])
    const video = messages.filter(m => m.topic === '/video/cam')
    expect(video[0]).toMatchObject({ messageEncoding: 'json', schemaName: 'foxglove.CompressedVideo' })
    // 5 s at 30 fps on a loaded two-core machine: at least 60 % of them.
    expect(video.length, `${video.length} frames in 5 s`).toBeGreaterThanOrEqual(90)
    expect(video.length).toBeGreaterThanOrEqual(info.sources[0].frames)
    // Video and messages on one timeline: the messages fall within the video's span.
    expect(telemetry[0].logTime > video[0].logTime).toBe(true)
    expect(telemetry[99].logTime < video.at(-1)!.logTime).toBe(true)
    expectDecodableUnits(video)
    const h264 = path.join(temp.dir, 'cam.h264')
    await fs.writeFile(h264, annexB(video))
    const decoded = await decodedFrames(h264)
    console.log(`record: ${video.length} frames and ${telemetry.length} messages in ${(await fs.stat(file)).size} bytes; ${decoded} frames decoded`)
    expect(decoded).toBeGreaterThanOrEqual(video.length - 1)
  }, 60_000)

  it('goes on through a remade session, and SIGTERM to edged finalises the file', async () => {
    const file = path.join(temp.dir, 'sigterm.mcap')
    const res = await unixRequest(b.socket, 'POST', '/v1/record', { peer: a.peerId, out: file })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    // No --source, no --channel: every H.264 source of the peer, every channel.
    expect(res.body).toMatchObject({ sources: [{ source: 'cam' }], channels: null })
    await waitFor('the first frames', async () => (await unixRequest(b.socket, 'GET', `/v1/record/${res.body.id}`)).body.sources[0].frames > 0, 15_000)
    await sendSeries(a, b, 'control', 0, 20, 20)
    // The session is remade.
    expect((await unixRequest(b.socket, 'DELETE', `/v1/sessions/${a.peerId}`)).status).toBe(204)
    await waitFor('the session gone', async () => !(await connected(b, a)))
    const remadeAt = performance.now()
    expect((await unixRequest(b.socket, 'POST', '/v1/sessions', { peer: a.peerId })).status).toBe(202)
    await waitFor('the session again', async () => await connected(b, a))
    await sendSeries(a, b, 'control', 20, 20, 20)
    const framesBefore = (await unixRequest(b.socket, 'GET', `/v1/record/${res.body.id}`)).body.sources[0].frames
    await waitFor('video again after the remake', async () => (await unixRequest(b.socket, 'GET', `/v1/record/${res.body.id}`)).body.sources[0].frames > framesBefore + 30, 15_000)
    await waitFor('40 channel messages taken', async () => (await unixRequest(b.socket, 'GET', `/v1/record/${res.body.id}`)).body.stats.channelMessages === 40).catch(async (err) => {
      console.log(JSON.stringify((await unixRequest(b.socket, 'GET', `/v1/record/${res.body.id}`)).body))
      console.log(JSON.stringify((await unixRequest(b.socket, 'GET', `/v1/sessions/${a.peerId}`)).body.channels))
      console.log(b.output().split('\n').filter(l => /control|resum|again/.test(l)).join('\n'))
      console.log(a.output().split('\n').filter(l => /control|resum|again/.test(l)).join('\n'))
      throw err
    })
    console.log(`record: video back ${((performance.now() - remadeAt) / 1000).toFixed(1)} s after the session was remade`)

    expect(await b.stop('SIGTERM')).toBe(0)
    const { messages, records } = await readMcap(file)
    expect(records.Footer).toBe(1)
    expectMonotonic(messages)
    expect(messages.filter(m => m.topic === '/channels/control').map(m => (JSON.parse(Buffer.from(m.data).toString()) as { i: number }).i)).toEqual([...Array(40).keys()])
    const video = messages.filter(m => m.topic === '/video/cam')
    expectDecodableUnits(video)
    const h264 = path.join(temp.dir, 'sigterm.h264')
    await fs.writeFile(h264, annexB(video))
    expect(await decodedFrames(h264)).toBeGreaterThanOrEqual(video.length - 2)
  }, 90_000)
})
