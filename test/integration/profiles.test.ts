import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { collect, openChannelSocket } from '../helpers/channel-client.ts'
import { startEdgedPair } from '../helpers/edged-pair.ts'
import { EDGECTL, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { makeIdentity } from '../helpers/identity.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'
import { unixRequest } from '../helpers/unix-http.ts'

const run = promisify(execFile)
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const channels = { control: { ordered: true }, telemetry: { ordered: false, maxRetransmits: 0 } }
const sources = { video: { kind: 'video', codec: 'h264', pipeline: 'videotestsrc is-live=true pattern=ball', width: 320, height: 240, fps: 30 } }

type Profile = 'webrtc' | 'media' | 'data' | 'trusted'
const HAS_CHANNELS: Record<Profile, boolean> = { webrtc: true, media: false, data: true, trusted: true }
const HAS_MEDIA: Record<Profile, boolean> = { webrtc: true, media: true, data: false, trusted: true }

const daemons: EdgedProcess[] = []
const temps: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(daemons.splice(0).map(async d => { await d.cleanup() }))
  await Promise.all(temps.splice(0).map(async fn => { await fn() }))
})

interface PairOptions {
  a: Record<string, any>
  b: Record<string, any>
  /** Each lists the other in swarm.allow. */
  allowEachOther?: boolean
}

/** Two daemons on loopback, each bootstrapping from the other, with identities made first (swarm.allow can name them). */
async function startPair (opts: PairOptions): Promise<[EdgedProcess, EdgedProcess]> {
  const [ta, tb] = await Promise.all([makeTempDir('edged-pa-'), makeTempDir('edged-pb-')])
  temps.push(ta.cleanup, tb.cleanup)
  const [ida, idb] = await Promise.all([makeIdentity(ta.dir), makeIdentity(tb.dir)])
  const allow = (peer: string): Record<string, any> => opts.allowEachOther === true ? { allow: [peer] } : {}
  const [a, b] = await startEdgedPair(
    { name: 'alpha', dir: ta.dir, peerId: ida, config: merge(opts.a, { swarm: allow(idb) }) },
    { name: 'bravo', dir: tb.dir, peerId: idb, config: merge(opts.b, { swarm: allow(ida) }) })
  daemons.push(a, b)
  expect([a.peerId, b.peerId]).toEqual([ida, idb])
  return [a, b]
}

function merge (base: Record<string, any>, over: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...base }
  for (const [k, v] of Object.entries(over)) out[k] = typeof v === 'object' && !Array.isArray(v) && typeof base[k] === 'object' ? merge(base[k], v) : v
  return out
}

const rtcFor = (stack: Profile): Record<string, any> => ({ bindAddress: '127.0.0.1', stack, channels, ...(stack === 'trusted' ? { trusted: true } : {}) })

async function sessionWith (d: EdgedProcess, peer: string): Promise<any> {
  return (await unixRequest(d.socket, 'GET', '/v1/sessions')).body.sessions.find((s: any) => s.peer === peer)
}

async function connected (a: EdgedProcess, b: EdgedProcess): Promise<[any, any]> {
  await waitFor('both ends connected', async () =>
    (await sessionWith(a, b.peerId))?.state === 'connected' && (await sessionWith(b, a.peerId))?.state === 'connected', 20_000)
  return [await sessionWith(a, b.peerId), await sessionWith(b, a.peerId)]
}

/** Plain-RTP fields tshark decodes from the UDP packets on `port` over `seconds` (a capture filter on that port only). */
async function captureRtp (port: number, seconds: number): Promise<Array<{ ssrc: number, pt: number, dtls: boolean, nal: number }>> {
  const { stdout } = await run('tshark', [
    '-i', 'lo', '-f', `udp port ${port}`, '-a', `duration:${seconds}`, '-c', '400', '-l',
    '-d', `udp.port==${port},rtp`, '-T', 'fields', '-E', 'separator=,', '-e', 'rtp.ssrc', '-e', 'rtp.p_type', '-e', 'dtls.record.content_type', '-e', 'rtp.payload'
  ], { timeout: (seconds + 20) * 1000, maxBuffer: 16 * 1024 * 1024 })
  return stdout.trim().split('\n').filter(l => l !== '').map(line => {
    const [ssrc, pt, dtls, payload] = line.split(',')
    return { ssrc: ssrc === '' ? NaN : Number(ssrc), pt: pt === '' ? NaN : Number(pt), dtls: (dtls ?? '') !== '', nal: parseInt((payload ?? '').replace(/:/g, '').slice(0, 2), 16) }
  })
}

/** A first payload byte that is an H.264 NAL unit header as rtph264pay sends them (single NAL, STAP-A, FU-A). */
function isH264Nal (byte: number): boolean {
  return Number.isInteger(byte) && (byte & 0x80) === 0 && [1, 5, 6, 7, 8, 24, 28].includes(byte & 0x1f)
}

describe('stack profiles between two daemons', () => {
  for (const profile of ['webrtc', 'media', 'data', 'trusted'] as const) {
    it(`${profile}: what must flow flows, what must not exist does not`, async () => {
      const config = { rtc: rtcFor(profile), media: { sources } }
      const [a, b] = await startPair({ a: config, b: config, allowEachOther: profile === 'trusted' })
      const [onA, onB] = await connected(a, b)
      expect(onA.profile).toBe(profile)
      expect(onB.profile).toBe(profile)
      const table = await run(EDGECTL, ['--socket', a.socket, 'sessions'])
      expect(table.stdout).toContain(profile)

      // Sections negotiated (SDP m= lines): none at all in trusted (no PeerConnection).
      for (const s of [onA, onB]) {
        const all = [...s.sections.local, ...s.sections.remote]
        if (profile === 'media') expect(all).not.toContain('application')
        if (profile === 'data') expect(all.filter((k: string) => k === 'audio' || k === 'video')).toEqual([])
        if (profile === 'webrtc') expect(all).toContain('application')
        if (profile === 'trusted') expect(all).toEqual([])
      }

      if (HAS_CHANNELS[profile]) {
        await waitFor('control open on both', async () => {
          const [x, y] = [await sessionWith(a, b.peerId), await sessionWith(b, a.peerId)]
          return [x, y].every(s => s.channels.some((c: any) => c.label === 'control' && c.open))
        })
        const wa = await openChannelSocket(a.socket, b.peerId, 'control')
        const wb = await openChannelSocket(b.socket, a.peerId, 'control')
        const N = 500
        const atB = collect(wb, N)
        const atA = collect(wa, N)
        for (let i = 0; i < N; i++) { wa.send(`a ${i}`); wb.send(`b ${i}`) }
        expect(await atB).toEqual(Array.from({ length: N }, (_, i) => `a ${i}`))
        expect(await atA).toEqual(Array.from({ length: N }, (_, i) => `b ${i}`))
        const bin = collect(wb, 1)
        wa.send(Buffer.from([1, 2, 3]))
        expect(await bin).toEqual(['<binary 3>'])
        // Lossy (maxRetransmits 0): UDP datagrams in trusted, unreliable SCTP otherwise.
        const la = await openChannelSocket(a.socket, b.peerId, 'telemetry')
        const lb = await openChannelSocket(b.socket, a.peerId, 'telemetry')
        const lossy = collect(lb, 50, 10_000)
        for (let i = 0; i < 100; i++) la.send(JSON.stringify({ i }))
        expect((await lossy).length).toBeGreaterThanOrEqual(50)
        // Channels opened on demand work too.
        const adhoc = await openChannelSocket(b.socket, a.peerId, 'adhoc')
        const got = collect(adhoc, 1)
        await waitFor('adhoc open at A', async () => (await sessionWith(a, b.peerId)).channels.some((c: any) => c.label === 'adhoc' && c.open))
        expect((await unixRequest(a.socket, 'POST', `/v1/channels/${b.peerId}/adhoc`, { text: 'posted' })).status).toBe(202)
        expect(await got).toEqual(['posted'])
        for (const ws of [wa, wb, la, lb, adhoc]) ws.close()
      } else {
        const res = await unixRequest(a.socket, 'POST', `/v1/channels/${b.peerId}/control`, { text: 'x' })
        expect(res.status).toBe(409)
        expect(res.body.error.name).toBe('ConflictError')
        expect(res.body.error.message).toMatch(/profile media has no data channels/)
        expect(onA.channels).toEqual([])
      }

      if (HAS_MEDIA[profile]) {
        const res = await unixRequest(b.socket, 'POST', '/v1/watch', { peer: a.peerId, source: 'video', sink: 'count' })
        expect(res.status, JSON.stringify(res.body)).toBe(201)
        expect(res.body.state).toBe('active')
        const id = res.body.id
        await waitFor('frames decoded at the viewer', async () =>
          (await unixRequest(b.socket, 'GET', `/v1/watch/${id}`)).body.stats.framesDecoded >= 30, 15_000)
        if (profile === 'trusted') {
          // On the wire: plain RTP with the viewer track's SSRC, no DTLS record anywhere on the session's port.
          const { local, viewers } = (await unixRequest(a.socket, 'GET', '/v1/sources')).body
          const src = local.find((s: any) => s.name === 'video')
          const viewer = viewers.find((v: any) => v.id === id)
          expect(viewer.ssrc).not.toBe(src.stats.ssrc)
          const pair = (await sessionWith(b, a.peerId)).pair
          expect(pair.local.transport).toBe('udp')
          const packets = await captureRtp(pair.local.port, 3)
          const rtp = packets.filter(p => p.ssrc === viewer.ssrc)
          expect(rtp.length, `${packets.length} packets captured`).toBeGreaterThan(30)
          expect(rtp.every(p => p.pt === src.stats.payloadType)).toBe(true)
          expect(packets.filter(p => p.dtls)).toEqual([])
          // …and its payload is readable H.264: every first byte a valid NAL unit header (no encryption).
          expect(rtp.filter(p => !isH264Nal(p.nal))).toEqual([])
        }
        if (profile === 'media' || profile === 'webrtc') {
          const s = await sessionWith(a, b.peerId)
          expect(s.sections.local).toContain('video')
        }
        // A second watch of the same source on the same session: its track has its own SSRC, both decode.
        const again = await unixRequest(b.socket, 'POST', '/v1/watch', { peer: a.peerId, source: 'video', sink: 'count' })
        expect(again.status, JSON.stringify(again.body)).toBe(201)
        const decoded = async (w: string): Promise<number> => (await unixRequest(b.socket, 'GET', `/v1/watch/${w}`)).body.stats.framesDecoded
        await waitFor('second watch decoding', async () => await decoded(again.body.id) > 0, 10_000)
        const before = await decoded(id)
        await waitFor('both watches decoding', async () => await decoded(again.body.id) >= 30 && await decoded(id) >= before + 30, 10_000)
        expect((await unixRequest(b.socket, 'DELETE', `/v1/watch/${again.body.id}`)).status).toBe(204)
        expect((await unixRequest(b.socket, 'DELETE', `/v1/watch/${id}`)).status).toBe(204)
      } else {
        const res = await unixRequest(b.socket, 'POST', '/v1/watch', { peer: a.peerId, source: 'video', sink: 'count' })
        expect(res.status).toBe(409)
        expect(res.body.error.name).toBe('ConflictError')
        expect(res.body.error.message).toMatch(/stack profile data/)
      }
    }, 90_000)
  }

  it('webrtc: the same packets are SRTP: the header stays readable, the H.264 payload does not', async () => {
    const config = { rtc: rtcFor('webrtc'), media: { sources } }
    const [a, b] = await startPair({ a: config, b: config })
    await connected(a, b)
    const res = await unixRequest(b.socket, 'POST', '/v1/watch', { peer: a.peerId, source: 'video', sink: 'count' })
    expect(res.status).toBe(201)
    await waitFor('viewer track open', async () => (await unixRequest(a.socket, 'GET', '/v1/sources')).body.viewers.some((v: any) => v.open))
    const viewer = (await unixRequest(a.socket, 'GET', '/v1/sources')).body.viewers.find((v: any) => v.id === res.body.id)
    const pair = (await sessionWith(b, a.peerId)).pair
    const packets = await captureRtp(pair.local.port, 2)
    const rtp = packets.filter(p => p.ssrc === viewer.ssrc)
    expect(rtp.length, `${packets.length} packets captured`).toBeGreaterThan(30)
    // Encrypted payloads: about half have the forbidden bit set or an unused NAL type.
    const readable = rtp.filter(p => isH264Nal(p.nal)).length
    expect(readable / rtp.length, `${readable} of ${rtp.length} payloads look like H.264`).toBeLessThan(0.8)
  }, 60_000)
})

describe('trusted is refused unless both ends opted in and list the peer', () => {
  it('towards a peer not listed in swarm.allow: refused with a logged warning, no session', async () => {
    const config = { rtc: rtcFor('trusted'), swarm: { autoconnect: false } }
    const [a, b] = await startPair({ a: config, b: config })
    expect((await unixRequest(a.socket, 'POST', '/v1/sessions', { peer: b.peerId })).status).toBe(202)
    const s = await waitFor('a refusal', async () => {
      const x = await sessionWith(a, b.peerId)
      return x?.lastError !== null ? x : undefined
    }, 10_000)
    expect(s.lastError.code).toBe('not-allowed')
    expect(s.lastError.message).toMatch(/not listed in swarm.allow/)
    expect(s.state).not.toBe('connected')
    expect(a.output()).toMatch(/trusted profile refused/)
    expect((await sessionWith(b, a.peerId))?.state ?? 'idle').not.toBe('connected')
  }, 60_000)

  it('when the far end has not set rtc.trusted: its refusal names why', async () => {
    const [a, b] = await startPair({
      a: { rtc: rtcFor('trusted'), swarm: { autoconnect: false } },
      b: { rtc: { ...rtcFor('trusted'), trusted: false }, swarm: { autoconnect: false } },
      allowEachOther: true
    })
    expect((await unixRequest(a.socket, 'POST', '/v1/sessions', { peer: b.peerId })).status).toBe(202)
    const s = await waitFor('a refusal', async () => {
      const x = await sessionWith(a, b.peerId)
      return x?.lastError !== null ? x : undefined
    }, 10_000)
    expect(s.lastError.code).toBe('not-allowed')
    expect(s.lastError.message).toMatch(/rtc\.trusted is not true/)
    expect(b.output()).toMatch(/trusted offer refused/)
    expect((await sessionWith(b, a.peerId))?.state ?? 'idle').not.toBe('connected')
  }, 60_000)
})

describe('both ends must agree on the profile', () => {
  it('a mismatch is refused with a clear error and no connection', async () => {
    const [a, b] = await startPair({
      a: { rtc: rtcFor('webrtc'), swarm: { autoconnect: false } },
      b: { rtc: rtcFor('data'), swarm: { autoconnect: false } }
    })
    expect((await unixRequest(a.socket, 'POST', '/v1/sessions', { peer: b.peerId })).status).toBe(202)
    const s = await waitFor('a refusal', async () => {
      const x = await sessionWith(a, b.peerId)
      return x?.lastError !== null ? x : undefined
    }, 10_000)
    expect(s.lastError.code).toBe('profile-mismatch')
    expect(s.lastError.message).toMatch(/stack profile data towards you, you offered webrtc/)
    await sleep(500)
    expect((await sessionWith(a, b.peerId)).state).not.toBe('connected')
    expect((await sessionWith(b, a.peerId))?.state ?? 'idle').not.toBe('connected')
    // edgectl shows the error beside the profile it wanted.
    const out = await run(EDGECTL, ['--socket', a.socket, 'sessions', '--json'])
    expect(JSON.parse(out.stdout).sessions.find((x: any) => x.peer === b.peerId)).toMatchObject({ profile: 'webrtc', lastError: { code: 'profile-mismatch' } })
  }, 60_000)
})

