import dgram from 'node:dgram'
import fs from 'node:fs/promises'
import path from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { echoText, openChannelSocket, pingText } from './lib/channel-socket.ts'
import { isDown, isReady, sessionWith, startEdged, waitForPeer, type EdgedDaemon } from './lib/edged.ts'
import { sleep } from './lib/sleep.ts'
import { median, p95, round } from './lib/stats.ts'
import type { BenchContext, Benchmark, Figure } from './lib/types.ts'
import { expectStatus, unixJson } from './lib/unix-json.ts'

type Profile = 'webrtc' | 'media' | 'data' | 'trusted'
const PROFILES: Profile[] = ['webrtc', 'media', 'data', 'trusted']
const HAS_CHANNELS: Record<Profile, boolean> = { webrtc: true, media: false, data: true, trusted: true }
const HAS_MEDIA: Record<Profile, boolean> = { webrtc: true, media: true, data: false, trusted: true }
const BASELINE = 'webrtc profile (ICE + DTLS + SRTP + SCTP), same run'

/** Connects per profile (`--runs` overrides); pings and timed packets per profile. */
const DEFAULT_CONNECTS = 15
const PINGS = 200
const PACKETS = 200
const PACKET_GAP_MS = 10
const TRY_TIMEOUT_MS = 15_000
const POLL_MS = 2
const CHANNEL = 'control'
/** Marks the benchmark's own RTP packets among the source's. */
const MAGIC = Buffer.from('EDGEBENCH')

interface Pair { profile: Profile, a: EdgedDaemon, b: EdgedDaemon }

async function waitUntil (what: string, check: () => Promise<boolean>, everyMs = POLL_MS, timeoutMs = TRY_TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(everyMs)
  }
}

async function identity (dir: string): Promise<string> {
  const key = await generateKeyPair('Ed25519')
  await fs.mkdir(path.join(dir, 'state'), { recursive: true, mode: 0o700 })
  await fs.writeFile(path.join(dir, 'state', 'identity.key'), privateKeyToProtobuf(key), { mode: 0o600 })
  return peerIdFromPrivateKey(key).toString()
}

/** Two daemons on one profile (trusted: opted in, each on the other's swarm.allow); sessions only by hand. */
async function startPair (ctx: BenchContext, profile: Profile): Promise<Pair> {
  const [da, db] = [await ctx.tempDir(`${profile}-a-`), await ctx.tempDir(`${profile}-b-`)]
  const [ida, idb] = [await identity(da), await identity(db)]
  const rtc = { bindAddress: '127.0.0.1', stack: profile, trusted: profile === 'trusted', channels: { [CHANNEL]: { ordered: true } } }
  const allow = (peer: string): Record<string, unknown> => profile === 'trusted' ? { allow: [peer] } : {}
  const a = await startEdged(ctx, { name: `${profile}-a`, dir: da, swarm: { autoconnect: false, ...allow(idb) }, rtc })
  const b = await startEdged(ctx, { name: `${profile}-b`, dir: db, swarm: { autoconnect: false, bootstrap: [a.addresses[0]], ...allow(ida) }, rtc })
  await waitForPeer(a, b.peerId)
  await waitForPeer(b, a.peerId)
  return { profile, a, b }
}

const ready = (profile: Profile, s: any): boolean => HAS_CHANNELS[profile] ? isReady(s, CHANNEL) : s?.state === 'connected'

/** POST /v1/sessions → connected on both (and the control channel open where the profile has channels). */
async function connectOnce ({ profile, a, b }: Pair): Promise<number> {
  const started = performance.now()
  await expectStatus(a.socket, 'POST', '/v1/sessions', 202, { peer: b.peerId })
  await waitUntil(`${profile} session up`, async () => {
    const [x, y] = await Promise.all([sessionWith(a, b.peerId), sessionWith(b, a.peerId)])
    return ready(profile, x) && ready(profile, y)
  })
  return performance.now() - started
}

async function disconnect ({ a, b }: Pair): Promise<void> {
  await expectStatus(a.socket, 'DELETE', `/v1/sessions/${b.peerId}`, 204)
  await waitUntil('the session down on both', async () => {
    const [x, y] = await Promise.all([sessionWith(a, b.peerId), sessionWith(b, a.peerId)])
    return isDown(x) && isDown(y)
  }, 5)
}

/** Sequential text pings through both daemons' control sockets: A's program → B's program (echo) → back. */
async function messageRtts (pair: Pair): Promise<number[]> {
  const onA = await openChannelSocket(pair.a.socket, pair.b.peerId, CHANNEL)
  const onB = await openChannelSocket(pair.b.socket, pair.a.peerId, CHANNEL)
  const stop = echoText(onB)
  try {
    await pingText(onA, 10, 32, TRY_TIMEOUT_MS)
    return await pingText(onA, PINGS, 32, TRY_TIMEOUT_MS)
  } finally {
    stop()
    onA.close()
    onB.close()
  }
}

/**
 * Per-packet latency daemon to daemon: B watches A's `audio` source into
 * rtp://127.0.0.1:<ours>; we put timed, marked RTP packets (the source's SSRC
 * and payload type) into A's source socket, where the pipeline's own go, and
 * time them until B's sink forwards them to us. Both ends are Node sockets of
 * the daemons: this is the transport's cost, no encoder or decoder in it.
 */
async function packetLatencies (pair: Pair): Promise<number[]> {
  const { a, b } = pair
  const socket = dgram.createSocket('udp4')
  await new Promise<void>(resolve => { socket.bind(0, '127.0.0.1', resolve) })
  const sent = new Map<number, number>()
  const latencies: number[] = []
  let streamSeq: number | undefined
  socket.on('message', packet => {
    const at = performance.now()
    const idx = packet.indexOf(MAGIC)
    if (idx < 0) { streamSeq = packet.readUInt16BE(2); return }
    const id = packet.readUInt32BE(idx + MAGIC.length)
    const t0 = sent.get(id)
    if (t0 !== undefined) { latencies.push(at - t0); sent.delete(id) }
  })
  const watch = await expectStatus(b.socket, 'POST', '/v1/watch', 201, { peer: a.peerId, source: 'audio', sink: `rtp://127.0.0.1:${socket.address().port}` })
  try {
    let src: any
    await waitUntil('A\'s audio source running', async () => {
      src = (await unixJson(a.socket, 'GET', '/v1/sources')).body.local.find((s: any) => s.name === 'audio')
      return src?.stats?.rtpPort != null
    }, 20)
    await waitUntil('the source\'s own packets at B', async () => streamSeq !== undefined, 20)
    // SRTP guesses the packet index from the sequence number and drops replays: number ours
    // just ahead of the stream's (its own packets then count as old, which does not matter here).
    const base = (streamSeq ?? 0) + 1000
    const { ssrc, payloadType, rtpPort } = src.stats
    for (let i = 0; i < PACKETS + 10; i++) {
      const packet = Buffer.alloc(12 + MAGIC.length + 4 + 100)
      packet[0] = 0x80
      packet[1] = payloadType
      packet.writeUInt16BE((base + i) & 0xffff, 2)
      packet.writeUInt32BE(i, 4)
      packet.writeUInt32BE(ssrc, 8)
      MAGIC.copy(packet, 12)
      packet.writeUInt32BE(i, 12 + MAGIC.length)
      sent.set(i, performance.now())
      socket.send(packet, rtpPort, '127.0.0.1')
      await sleep(PACKET_GAP_MS)
    }
    await sleep(300)
    // The first ten warm the path (the sink starts, the track opens).
    return latencies.slice(10)
  } finally {
    await unixJson(b.socket, 'DELETE', `/v1/watch/${watch.id}`).catch(() => {})
    socket.close()
  }
}

function row (name: string, unit: string, profile: Profile, samples: number[], valueOf: (s: number[]) => number, webrtc: number[]): Figure {
  return {
    name: `${name} [${profile}]`,
    unit,
    value: round(valueOf(samples), 3),
    samples: samples.map(v => round(v, 3)),
    baseline: BASELINE,
    baselineValue: round(valueOf(webrtc), 3),
    baselineSamples: webrtc.map(v => round(v, 3))
  }
}

export const benchmark: Benchmark = {
  name: 'profiles',
  description: 'what each stack layer costs: connect time, message RTT and per-packet media latency for webrtc, media, data and trusted',
  run: async ctx => {
    const connects = ctx.runs ?? DEFAULT_CONNECTS
    const pairs: Pair[] = []
    for (const profile of PROFILES) pairs.push(await startPair(ctx, profile))
    const connect = new Map<Profile, number[]>(PROFILES.map(p => [p, []]))
    for (const pair of pairs) { await connectOnce(pair); await disconnect(pair) }
    for (let i = 0; i < connects; i++) {
      for (let k = 0; k < pairs.length; k++) {
        const pair = pairs[(i + k) % pairs.length]
        connect.get(pair.profile)?.push(await connectOnce(pair))
        await disconnect(pair)
      }
    }
    ctx.log(`connect medians: ${PROFILES.map(p => `${p} ${median(connect.get(p) ?? []).toFixed(1)} ms`).join(', ')}`)

    const rtt = new Map<Profile, number[]>()
    const media = new Map<Profile, number[]>()
    for (const pair of pairs) {
      await connectOnce(pair)
      if (HAS_CHANNELS[pair.profile]) rtt.set(pair.profile, await messageRtts(pair))
      if (HAS_MEDIA[pair.profile]) media.set(pair.profile, await packetLatencies(pair))
      ctx.log(`${pair.profile}: rtt ${median(rtt.get(pair.profile) ?? [NaN]).toFixed(2)} ms, packet ${median(media.get(pair.profile) ?? [NaN]).toFixed(2)} ms (${media.get(pair.profile)?.length ?? 0} packets)`)
      await disconnect(pair)
    }

    const figures: Figure[] = []
    const web = (m: Map<Profile, number[]>): number[] => m.get('webrtc') ?? []
    for (const profile of PROFILES) {
      figures.push(row('profiles: connect, POST /v1/sessions → up on both (channel open where there are channels), median', 'ms', profile, connect.get(profile) ?? [], median, web(connect)))
      figures.push(row('profiles: connect, p95', 'ms', profile, connect.get(profile) ?? [], p95, web(connect)))
    }
    for (const profile of PROFILES) {
      const samples = rtt.get(profile)
      if (samples === undefined) continue
      figures.push(row(`profiles: message RTT, 32 B program → program → program over '${CHANNEL}', median`, 'ms', profile, samples, median, web(rtt)))
      figures.push(row('profiles: message RTT, p95', 'ms', profile, samples, p95, web(rtt)))
    }
    for (const profile of PROFILES) {
      const samples = media.get(profile)
      if (samples === undefined) continue
      figures.push(row('profiles: media per-packet latency, source socket (A) → sink rtp:// (B), median', 'ms', profile, samples, median, web(media)))
      figures.push(row('profiles: media per-packet latency, p95', 'ms', profile, samples, p95, web(media)))
    }
    return figures
  }
}
