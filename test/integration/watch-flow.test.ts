import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EDGECTL, startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { gstChildren, isAlive } from '../helpers/media-processes.ts'
import { unixRequest } from '../helpers/unix-http.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'

const run = promisify(execFile)
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const rtc = { bindAddress: '127.0.0.1' }
const video = (codec: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ kind: 'video', codec, pipeline: 'videotestsrc is-live=true pattern=ball', width: 320, height: 240, fps: 30, ...extra })
const sources = {
  h264: video('h264'),
  vp8: video('vp8'),
  // A key frame every 10 s: a viewer joining mid-stream needs one on request.
  slowkey: video('h264', { keyframeInterval: 300 }),
  tone: { kind: 'audio', codec: 'opus', pipeline: 'audiotestsrc is-live=true wave=sine' }
}

async function watch (d: EdgedProcess, peer: string, source: string, sink = 'count'): Promise<any> {
  const res = await unixRequest(d.socket, 'POST', '/v1/watch', { peer, source, sink })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body
}
async function watchInfo (d: EdgedProcess, id: string): Promise<any> {
  return (await unixRequest(d.socket, 'GET', `/v1/watch/${id}`)).body
}
async function unwatch (d: EdgedProcess, id: string): Promise<void> {
  expect((await unixRequest(d.socket, 'DELETE', `/v1/watch/${id}`)).status).toBe(204)
}
async function localSource (d: EdgedProcess, name: string): Promise<any> {
  return (await unixRequest(d.socket, 'GET', '/v1/sources')).body.local.find((s: any) => s.name === name)
}

/**
 * Frames decoded at the viewer over `ms` once decoding runs, against the frames
 * the source sent meanwhile (its encoder may fall behind 30 fps on a loaded
 * machine: that is not the transport's loss). The viewer is read `LAG_MS`
 * after the source at both ends of the window, so both count the same frames.
 */
const LAG_MS = 300
async function decodedShare (source: EdgedProcess, name: string, viewer: EdgedProcess, id: string, ms: number): Promise<{ decoded: number, sent: number, nominal: number }> {
  await waitFor('first decoded frame', async () => (await watchInfo(viewer, id)).stats.framesDecoded > 0, 10_000, 50)
  const sent0 = await localSource(source, name)
  const t0 = performance.now()
  await sleep(LAG_MS)
  const start = await watchInfo(viewer, id)
  await sleep(ms - (performance.now() - t0))
  const sent1 = await localSource(source, name)
  const elapsed = performance.now() - t0
  await sleep(LAG_MS - (performance.now() - t0 - elapsed))
  const end = await watchInfo(viewer, id)
  return { decoded: end.stats.framesDecoded - start.stats.framesDecoded, sent: sent1.stats.frames - sent0.stats.frames, nominal: elapsed / 1000 * 30 }
}

describe('watching a peer\'s source over a WebRTC track', () => {
  let a: EdgedProcess, b: EdgedProcess, c: EdgedProcess
  let aPid: number

  beforeAll(async () => {
    a = await startEdged({ name: 'alpha', config: { rtc, media: { sources } } })
    const status = (await unixRequest(a.socket, 'GET', '/v1/status')).body
    aPid = status.pid
    const config = { rtc, swarm: { bootstrap: [status.addresses[0]] } }
    ;[b, c] = await Promise.all([startEdged({ name: 'bravo', config }), startEdged({ name: 'charlie', config })])
    for (const d of [b, c]) {
      await waitFor(`${d.name} sees alpha's sources`, async () =>
        (await unixRequest(d.socket, 'GET', '/v1/peers')).body.peers.some((p: any) => p.peerId === a.peerId && p.sources.length === 4))
    }
  }, 60_000)
  afterAll(async () => { await Promise.all([a, b, c].map(async d => { await d?.cleanup() })) })
  // A failed test must not leave its watches (and their encoders) to the next one.
  afterEach(async () => {
    for (const d of [a, b, c]) {
      if (d === undefined || d.proc.exitCode !== null || d.proc.signalCode !== null) continue
      const { body } = await unixRequest(d.socket, 'GET', '/v1/watch')
      for (const w of body.watches ?? []) await unixRequest(d.socket, 'DELETE', `/v1/watch/${w.id}`)
    }
  })

  for (const codec of ['h264', 'vp8']) {
    it(`${codec}: at least 95 % of 5 s of 30 fps video decoded at the viewer`, async () => {
      const w = await watch(b, a.peerId, codec)
      expect(w).toMatchObject({ peer: a.peerId, source: codec, sink: 'count', state: 'active', codec })
      const { decoded, sent, nominal } = await decodedShare(a, codec, b, w.id, 5_000)
      console.log(`${codec}: ${decoded} frames decoded of ${sent} sent (${nominal.toFixed(0)} at a steady 30 fps)`)
      expect(decoded, `${decoded} of ${sent} frames`).toBeGreaterThanOrEqual(sent * 0.95)
      // The source itself kept close to its frame rate.
      expect(sent, `${sent} frames sent in 5 s`).toBeGreaterThanOrEqual(nominal * 0.8)
      const info = await watchInfo(b, w.id)
      expect(info.stats.lost).toBe(0)
      expect(info.stats.keyFrames).toBeGreaterThan(0)
      expect(info.stats.bitrateKbps).toBeGreaterThan(0)
      await unwatch(b, w.id)
      await waitFor('source stopped after its last viewer', async () => (await localSource(a, codec)).running === false, 5_000)
    }, 30_000)
  }

  it('per-consumer figures: alpha\'s /v1/sessions (sending side) and bravo\'s /v1/watch (receiving side) agree', async () => {
    const w = await watch(b, a.peerId, 'h264')
    const track = async (): Promise<any> => (await unixRequest(a.socket, 'GET', '/v1/sessions')).body.sessions
      .find((s: any) => s.peer === b.peerId)?.tracks.find((t: any) => t.direction === 'send' && t.mid === w.id)
    // Sender reports go once a second and each brings a receiver report back: two round trips measured.
    const sent = await waitFor('two receiver reports with an RTT', async () => { const t = await track(); return t?.sender?.reports >= 2 && t.sender.rttMs !== null ? t : undefined }, 10_000, 100)
    const got = await watchInfo(b, w.id)
    const source = await localSource(a, 'h264')
    console.log(`consumer h264 → bravo: ${JSON.stringify(sent.sender)}; watch: ${JSON.stringify(got.stats)}`)
    expect(sent.source).toBe('h264')
    // Both ends counted the same stream: read a moment apart, at ~100 packets a second.
    expect(sent.sender.packets).toBeGreaterThan(50)
    expect(Math.abs(sent.sender.packets - got.stats.packets), `${sent.sender.packets} sent, ${got.stats.packets} received`).toBeLessThanOrEqual(Math.max(30, sent.sender.packets * 0.1))
    expect(Math.abs(sent.sender.bytes - got.stats.bytes)).toBeLessThanOrEqual(Math.max(40_000, sent.sender.bytes * 0.1))
    expect(sent.sender.bitrateKbps).toBeGreaterThan(0)
    // On loopback nothing is lost and the round trip is short; jitter (which also holds the encoder's
    // own timing, 15 ms seen on a loaded machine) stays within a few frame intervals.
    expect(sent.sender).toMatchObject({ packetsLost: 0, fractionLost: 0, ssrc: sent.sender.ssrc })
    expect(sent.sender.rttMs).toBeGreaterThanOrEqual(0)
    expect(sent.sender.rttMs).toBeLessThan(250)
    expect(sent.sender.jitterMs).toBeGreaterThanOrEqual(0)
    expect(sent.sender.jitterMs).toBeLessThan(100)
    expect(got.stats.jitterMs).toBeGreaterThan(0)
    expect(got.stats.jitterMs).toBeLessThan(100)
    // The target is the source's encoder's (the configured default here).
    expect(sent.sender.targetBitrateKbps).toBe(source.stats.targetBitrateKbps)
    expect(sent.sender.targetBitrateKbps).toBeGreaterThan(0)
    // No NACK on loopback, so nothing resent.
    expect(sent.sender).toMatchObject({ nacks: 0, retransmits: 0 })
    await unwatch(b, w.id)
  }, 20_000)

  it('a running source takes a new bit rate from the API and edgectl sources set; the consumer\'s rate follows; bad requests are named', async () => {
    const control = async (name: string, body: unknown): Promise<{ status: number, body: any }> => await unixRequest(a.socket, 'POST', `/v1/sources/${name}/control`, body)
    // Not running yet (nobody watches vp8), unknown, bad values: refused before anything runs.
    expect(await control('vp8', { bitrate: 300 })).toMatchObject({ status: 409, body: { error: { name: 'PipelineNotRunningError' } } })
    expect(await control('nosuch', { bitrate: 300 })).toMatchObject({ status: 404, body: { error: { name: 'NotFoundError' } } })
    const bad = await control('h264', { bitrate: 'fast' })
    expect(bad).toMatchObject({ status: 400, body: { error: { name: 'BadRequestError' } } })
    expect(bad.body.error.message).toMatch(/^bitrate/)
    expect((await control('h264', { framerate: 0 })).body.error.message).toMatch(/^framerate/)
    expect((await control('h264', {})).body.error).toMatchObject({ name: 'BadRequestError', message: expect.stringMatching(/at least one/) })

    const w = await watch(b, a.peerId, 'h264')
    const consumer = async (): Promise<any> => (await unixRequest(a.socket, 'GET', '/v1/sessions')).body.sessions
      .find((s: any) => s.peer === b.peerId)?.tracks.find((t: any) => t.mid === w.id)?.sender
    const rate = async (): Promise<number> => (await watchInfo(b, w.id)).stats.bitrateKbps
    // videotestsrc's ball at 320x240 stays under 200 kbit/s at any target: raise it with a busier pattern? No:
    // lower it to 40 kbit/s, well under what it sends, and see the consumer's rate fall.
    await waitFor('a steady rate', async () => await rate() > 100, 10_000, 100)
    const before = await rate()
    const res = await control('h264', { bitrate: 40 })
    expect(res).toMatchObject({ status: 200, body: { name: 'h264', bitrateKbps: 40, keyFrame: false } })
    await waitFor('the consumer\'s rate falls', async () => await rate() < before * 0.6, 5_000, 100)
    expect((await consumer()).targetBitrateKbps).toBe(40)
    // edgectl: 1.5M is 1500 kbit/s, and a key frame at once.
    const { stdout } = await run(EDGECTL, ['--socket', a.socket, 'sources', 'set', 'h264', '--bitrate', '1.5M', '--key-frame'])
    expect(stdout).toMatch(/^h264: 1500 kbit\/s, key frame asked for/)
    expect((await consumer()).targetBitrateKbps).toBe(1500)
    await unwatch(b, w.id)
  }, 30_000)

  it('Opus audio flows', async () => {
    const w = await watch(b, a.peerId, 'tone')
    expect(w).toMatchObject({ kind: 'audio', codec: 'opus', state: 'active' })
    await sleep(2_000)
    const info = await watchInfo(b, w.id)
    // 20 ms Opus frames: about 50 a second
    expect(info.stats.framesDecoded).toBeGreaterThan(50)
    expect(info.stats.lost).toBe(0)
    await unwatch(b, w.id)
  }, 20_000)

  it('a file: recording is playable and lasts as long as it was watched (± 10 %)', async () => {
    const { dir, cleanup } = await makeTempDir('edge-watch-')
    try {
      const file = path.join(dir, 'rec.mkv')
      const w = await watch(b, a.peerId, 'h264', `file:${file}`)
      const t0 = performance.now()
      await sleep(5_000)
      await unwatch(b, w.id)
      const watched = (performance.now() - t0) / 1000
      const { stdout } = await run('gst-discoverer-1.0', [file], { timeout: 10_000 })
      const m = /Duration: (\d+):(\d+):([\d.]+)/.exec(stdout)
      expect(m, stdout).not.toBeNull()
      const duration = Number(m![1]) * 3600 + Number(m![2]) * 60 + Number(m![3])
      expect(Math.abs(duration - watched) / watched, `${duration} s in the file, watched ${watched} s`).toBeLessThanOrEqual(0.1)
      const decode = await run('gst-launch-1.0', ['-q', 'filesrc', `location=${file}`, '!', 'decodebin', '!', 'fakesink'], { timeout: 20_000 })
      expect(decode.stderr).not.toMatch(/ERROR/)
    } finally {
      await cleanup()
    }
  }, 30_000)

  it('two viewers share one encoder; a viewer joining mid-stream gets a key frame on request', async () => {
    const first = await watch(b, a.peerId, 'slowkey')
    await waitFor('bravo decoding', async () => (await watchInfo(b, first.id)).stats.framesDecoded > 0, 10_000, 50)
    await sleep(1_500) // well past the first key frame; the next is 10 s away
    const t0 = performance.now()
    const second = await watch(c, a.peerId, 'slowkey')
    await waitFor('charlie decoding', async () => (await watchInfo(c, second.id)).stats.framesDecoded > 0, 3_000, 20)
    const firstFrameMs = performance.now() - t0
    console.log(`mid-stream viewer: first frame decoded ${firstFrameMs.toFixed(0)} ms after asking`)
    expect(firstFrameMs).toBeLessThan(1_000)

    expect(gstChildren(aPid)).toHaveLength(1)
    const source = await localSource(a, 'slowkey')
    expect(source).toMatchObject({ running: true, users: 2 })
    const viewers = (await unixRequest(a.socket, 'GET', '/v1/sources')).body.viewers
    expect(viewers.map((v: any) => v.peer).sort()).toEqual([b.peerId, c.peerId].sort())
    expect(viewers.every((v: any) => v.source === 'slowkey' && v.open && v.packetsSent > 0)).toBe(true)

    await unwatch(c, second.id)
    await unwatch(b, first.id)
    await waitFor('no encoder left', () => gstChildren(aPid).length === 0, 5_000)
  }, 30_000)

  it('one peer watching one source twice on one session: each track has its own SSRC and both keep decoding', async () => {
    // Before: both send tracks carried (and announced) the source's SSRC and the first stalled at about 52 packets.
    const first = await watch(b, a.peerId, 'slowkey')
    await waitFor('first watch decoding', async () => (await watchInfo(b, first.id)).stats.framesDecoded > 0, 10_000, 50)
    await sleep(1_500) // past the first key frame: the second needs one on request (next one 10 s away)
    const second = await watch(b, a.peerId, 'slowkey')
    await waitFor('second watch decoding', async () => (await watchInfo(b, second.id)).stats.framesDecoded > 0, 5_000, 20)
    const before = await Promise.all([first, second].map(async w => (await watchInfo(b, w.id)).stats.framesDecoded))
    await sleep(3_000)
    const after = await Promise.all([first, second].map(async w => (await watchInfo(b, w.id)).stats))
    const decoded = after.map((s, i) => s.framesDecoded - before[i])
    console.log(`two watches of one source from one peer: ${decoded.join(' and ')} frames decoded in 3 s`)
    expect(decoded[0], 'first watch').toBeGreaterThanOrEqual(30)
    expect(decoded[1], 'second watch').toBeGreaterThanOrEqual(30)

    const source = await localSource(a, 'slowkey')
    expect(source).toMatchObject({ running: true, users: 2 })
    const viewers = (await unixRequest(a.socket, 'GET', '/v1/sources')).body.viewers
    expect(viewers.map((v: any) => v.id).sort()).toEqual([first.id, second.id].sort())
    const ssrcs = new Set(viewers.map((v: any) => v.ssrc))
    expect(ssrcs.size).toBe(2)
    expect(ssrcs.has(source.stats.ssrc)).toBe(false)
    // PLI from the viewer names the track's SSRC: it still reaches that track (and the encoder).
    for (const [i, w] of [first, second].entries()) {
      const v = viewers.find((v: any) => v.id === w.id)
      if (after[i].keyFrameRequests > 0) expect(v.keyFrameRequests, `viewer ${i} key frame requests`).toBeGreaterThan(0)
    }

    await unwatch(b, second.id)
    await unwatch(b, first.id)
    await waitFor('no encoder left', () => gstChildren(aPid).length === 0, 5_000)
  }, 30_000)

  it('both directions at once on one session (one side offers, the other asks it to)', async () => {
    const there = await watch(b, a.peerId, 'h264')
    const back = await watch(a, b.peerId, 'video') // bravo's built-in test pattern
    for (const [d, w] of [[b, there], [a, back]] as const) {
      await waitFor(`${d.name} decoding`, async () => (await watchInfo(d, w.id)).stats.framesDecoded > 10, 10_000, 50)
    }
    const sessions = (await unixRequest(a.socket, 'GET', '/v1/sessions')).body.sessions.filter((s: any) => s.peer === b.peerId)
    expect(sessions).toHaveLength(1)
    await unwatch(b, there.id)
    await unwatch(a, back.id)
  }, 30_000)

  it('unknown peer or source is 404 naming it; a bad sink is 400', async () => {
    const noSource = await unixRequest(b.socket, 'POST', '/v1/watch', { peer: a.peerId, source: 'nope', sink: 'count' })
    expect(noSource.status).toBe(404)
    expect(noSource.body.error.message).toContain('nope')
    const stranger = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
    const noPeer = await unixRequest(b.socket, 'POST', '/v1/watch', { peer: stranger, source: 'h264', sink: 'count' })
    expect(noPeer.status).toBe(404)
    expect(noPeer.body.error.message).toContain(stranger)
    const badSink = await unixRequest(b.socket, 'POST', '/v1/watch', { peer: a.peerId, source: 'h264', sink: 'file:/tmp/x.avi' })
    expect(badSink.status).toBe(400)
    expect(badSink.body.error.name).toBe('InvalidSinkError')
    expect((await unixRequest(b.socket, 'DELETE', '/v1/watch/AAAAAAAAAAAA')).status).toBe(404)
    expect((await unixRequest(b.socket, 'GET', '/v1/watch')).body.watches).toEqual([])
  })

  it('a killed source pipeline is restarted and the viewer\'s frames grow again', async () => {
    const w = await watch(b, a.peerId, 'h264')
    await waitFor('decoding', async () => (await watchInfo(b, w.id)).stats.framesDecoded > 10, 10_000, 50)
    const pid = (await localSource(a, 'h264')).stats.pid as number
    process.kill(pid, 'SIGKILL')
    await waitFor('a new source pipeline', async () => {
      const s = await localSource(a, 'h264')
      return s.stats?.pid !== pid && s.stats?.state === 'running'
    }, 10_000)
    const before = (await watchInfo(b, w.id)).stats.framesDecoded
    await waitFor('frames decoded again', async () => (await watchInfo(b, w.id)).stats.framesDecoded > before + 30, 10_000)
    expect((await watchInfo(b, w.id)).state).toBe('active')
    await unwatch(b, w.id)
  }, 30_000)

  it('no gst process outlives kill -9 of its daemon', async () => {
    await watch(b, a.peerId, 'h264')
    await watch(c, a.peerId, 'tone', 'count')
    const bPid = (await unixRequest(b.socket, 'GET', '/v1/status')).body.pid as number
    const cPid = (await unixRequest(c.socket, 'GET', '/v1/status')).body.pid as number
    const gst = [...gstChildren(aPid), ...gstChildren(bPid), ...gstChildren(cPid)]
    expect(gst.length).toBe(4) // two sources at alpha, a sink each at bravo and charlie
    for (const d of [a, b, c]) d.proc.kill('SIGKILL')
    await Promise.all([a, b, c].map(async d => await d.exited))
    await waitFor('gst processes gone', () => gst.every(pid => !isAlive(pid)), 5_000)
  }, 30_000)
})
