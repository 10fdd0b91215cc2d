/**
 * What the daemons' media bridge costs, each figure beside a path without it
 * in the same run:
 *
 * 1. per-packet latency: RTP packets written into the source daemon's local
 *    RTP port (the Node socket its source pipeline sends to) → out of the
 *    viewing daemon's rtp:// sink, against the same packets over a direct
 *    UDP loopback hop and through two plain Node UDP forwarders;
 * 2. frame latency at 720p30 H.264: a numbered raw frame into the source
 *    pipeline → that frame decoded at the viewer, against the same source
 *    pipeline (buildSourcePipeline) sending straight to the same receiver;
 * 3. CPU of both daemons while they forward that stream, against the same
 *    daemons idle (session and watch up, no packets);
 * 4. a bit-rate change on a running source: setBitrate() → the new rate seen
 *    at a UDP consumer, against restarting the source with the new rate
 *    (bench/lib/bitrate-change.ts);
 * 5. the same through both daemons: POST /v1/sources/:name/control on A → the
 *    lower rate seen in what B's watch re-exposes (its rtp:// sink).
 *
 * Topology:
 *
 *   FrameWriter ─fifo→ [edged A: source pipeline → bridge → track] ══SRTP══ [edged B: track → rtp:// sink]
 *        │                                                                           │ UDP
 *        │                                                                           ▼
 *        │                                                     relay (this process) ─→ receiver gst-launch → strips → stdout
 *        └─fifo→ baseline gst-launch (same pipeline) ─UDP→ relay (this process) ─→ receiver gst-launch → strips → stdout
 *
 * The source pipeline of A reads raw frames from a named pipe, so A is silent
 * whenever the writer feeds the other path or nothing; for (1) packets are
 * injected into A's RTP port while its pipeline is silent, continuing its
 * sequence numbers (SRTP's replay window would drop anything else), which is
 * why (1) runs last.
 */
import { randomInt } from 'node:crypto'
import type dgram from 'node:dgram'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { DEFAULT_MTU } from '../src/daemon/config-defaults.ts'
import { CODECS, rtpCaps } from '../src/media/codecs.ts'
import { READY_LINE } from '../src/media/gst-process.ts'
import { splitLaunchArgs } from '../src/media/launch-args.ts'
import { parseRtpHeader } from '../src/rtp/rtp-header.ts'
import { DEFAULT_JITTER_LATENCY_MS } from '../src/media/sink-pipeline.ts'
import { buildSourcePipeline, DEFAULT_KEYFRAME_SECONDS } from '../src/media/source-pipeline.ts'
import { bindLoopback, closeSocket, LOOPBACK } from '../src/media/udp-socket.ts'
import type { Child } from './lib/child.ts'
import { measureApiBitrateChange, measureBitrateChange } from './lib/bitrate-change.ts'
import { ByteRate } from '../test/helpers/byte-rate.ts'
import { readCpuMs } from './lib/cpu.ts'
import { startEdged, waitForPeer, type EdgedDaemon } from './lib/edged.ts'
import { JsonLines } from './lib/json-lines.ts'
import { sleep } from './lib/sleep.ts'
import { FrameWriter, fifoSourceDescription, makeFifo, nowMs, StripReader, stripToStdoutDescription, type VideoFormat } from './lib/stamped-video.ts'
import { percentile, reportPercentile as q, round } from './lib/stats.ts'
import type { BenchContext, Benchmark, Figure } from './lib/types.ts'
import { expectStatus, unixJson } from './lib/unix-json.ts'

const FORMAT: VideoFormat = { width: 1280, height: 720, fps: 30 }
const BITRATE_KBPS = 1500
/** (5) steps down to this from BITRATE_KBPS. */
const API_LOW_KBPS = 300
const KEYFRAME_INTERVAL = FORMAT.fps * DEFAULT_KEYFRAME_SECONDS
const CODEC = CODECS.h264
const PAYLOAD_TYPE = CODEC.defaultPayloadType
const DECODER = 'avdec_h264'
const SOURCE = 'cam'

/** Rounds of (edged stream, baseline stream, idle), each phase PHASE_MS (`--runs` overrides the rounds). */
const DEFAULT_ROUNDS = 3
const PHASE_MS = 4_000
/** Each path streams this long before anything is measured (first key frame, jitter buffer start). */
const WARMUP_MS = 2_500
/** After a phase, for its last frames to arrive before the next one starts. */
const SETTLE_MS = 400
const START_TIMEOUT_MS = 30_000

/** (1): bursts of BURST_PACKETS × PACKET_BYTES every frame period (≈ 1.6 Mbit/s, like the video). */
const BURSTS = 240
/** Bursts sent first on every path and not counted (the daemons have been silent for a second). */
const WARMUP_BURSTS = 15
const BURST_PACKETS = 6
const PACKET_BYTES = 1100
const MAGIC = Buffer.from('EDGEBNCH')

const FLOOR = 'direct UDP loopback, same packets, same sending and receiving sockets'
const RELAYS = 'same packets through two plain Node processes forwarding UDP (baselines/udp-relay.ts)'
const PLAIN_RTP = 'same source pipeline → plain RTP/UDP → same receiver, no daemon'
const IDLE = 'same daemon idle: session and watch up, no packets, as long'

type PathName = 'edged' | 'base'
type PhaseKind = PathName | 'idle'

interface Phase {
  kind: PhaseKind
  from: number
  to: number
  /** CPU ms of the daemons' node processes (not their gst-launch children) over the phase. */
  cpuA: number
  cpuB: number
  /** CPU ms of A's source pipeline and of the baseline sender (gst-launch) over the phase. */
  gstA: number
  gstBase: number
}

interface PacketPath {
  label: string
  /** Where the packets go in. */
  port: number
  seq: (index: number) => number
  /** Where they come out. */
  out: RtpRelay
  /** Index → nowMs() when sent. */
  sent: Map<number, number>
}

/** A UDP socket in this process on a path's end: records injected packets, forwards the rest to a receiver. */
class RtpRelay {
  readonly socket: dgram.Socket
  readonly injected = new Map<number, number>()
  forwardTo: number | undefined
  packets = 0
  /** Bytes of the stream (not injected packets) as they came, for the bit-rate change through the daemons. */
  readonly rate = new ByteRate()
  last: { seq: number, ts: number, ssrc: number } | undefined

  constructor (socket: dgram.Socket) {
    this.socket = socket
    socket.on('message', packet => { this.#onPacket(packet) })
  }

  get port (): number { return this.socket.address().port }

  #onPacket (packet: Buffer): void {
    const at = nowMs()
    const h = parseRtpHeader(packet)
    if (h === undefined) return
    const index = injectedIndex(packet, h.payloadOffset)
    if (index !== undefined) {
      if (!this.injected.has(index)) this.injected.set(index, at)
      return
    }
    this.packets++
    this.rate.add(packet.length) // ByteRate runs on performance.now(), not nowMs()
    this.last = { seq: h.sequenceNumber, ts: h.timestamp, ssrc: h.ssrc }
    if (this.forwardTo !== undefined) this.socket.send(packet, this.forwardTo, LOOPBACK)
  }
}

/** An injected packet's payload: an H.264 filler NAL (type 12), MAGIC, its index. */
function injectedPacket (seq: number, ts: number, ssrc: number, marker: boolean, index: number): Buffer {
  const packet = Buffer.alloc(PACKET_BYTES)
  packet[0] = 0x80
  packet[1] = (marker ? 0x80 : 0) | PAYLOAD_TYPE
  packet.writeUInt16BE(seq & 0xffff, 2)
  packet.writeUInt32BE(ts >>> 0, 4)
  packet.writeUInt32BE(ssrc >>> 0, 8)
  packet[12] = 0x0c
  MAGIC.copy(packet, 13)
  packet.writeUInt32BE(index, 13 + MAGIC.length)
  return packet
}

function injectedIndex (packet: Buffer, offset: number): number | undefined {
  if (packet.length < offset + 1 + MAGIC.length + 4 || packet[offset] !== 0x0c) return undefined
  if (!packet.subarray(offset + 1, offset + 1 + MAGIC.length).equals(MAGIC)) return undefined
  return packet.readUInt32BE(offset + 1 + MAGIC.length)
}

/** A socket on 127.0.0.1 that never keeps the process alive, closed with the context. */
async function udpSocket (ctx: BenchContext): Promise<dgram.Socket> {
  const socket = await bindLoopback()
  socket.unref()
  ctx.scope.defer(async () => { await closeSocket(socket) })
  return socket
}

async function freeUdpPort (): Promise<number> {
  const socket = await bindLoopback()
  const port = socket.address().port
  await closeSocket(socket)
  return port
}

async function waitFor (what: string, check: () => Promise<boolean> | boolean, timeoutMs = START_TIMEOUT_MS, everyMs = 50): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** The text lines of a child's output (a receiver's stdout is raw video). */
function textOf (child: Child): string {
  return child.output().split('\n').filter(l => /^[\x20-\x7e\t]{3,400}$/.test(l)).join('\n').slice(-3000)
}

function alive (child: Child, what: string): void {
  if (!child.running) throw new Error(`${what} exited:\n${textOf(child)}`)
}

async function cpuOf (pid: number): Promise<number> {
  const ms = await readCpuMs(pid)
  if (ms === undefined) throw new Error(`process ${pid} is gone`)
  return ms
}

/** `gst-launch-1.0 … ! avdec_h264 ! <strip to stdout>` on a UDP port; decoded frame numbers and times go to `decoded`. */
function startReceiver (ctx: BenchContext, port: number, decoded: Map<number, number>, undecodable: { count: number }): Child {
  const description = [
    `udpsrc address=${LOOPBACK} port=${port} buffer-size=1048576 caps=${rtpCaps(CODEC, PAYLOAD_TYPE)}`,
    `rtpjitterbuffer latency=${DEFAULT_JITTER_LATENCY_MS}`,
    CODEC.depayloader,
    CODEC.parser ?? 'identity',
    DECODER,
    stripToStdoutDescription(FORMAT)
  ].join(' ! ')
  const child = ctx.spawn('gst-launch-1.0', ['-q', ...splitLaunchArgs(description)])
  const reader = new StripReader(FORMAT, (n, at) => {
    if (n === undefined) undecodable.count++
    else if (!decoded.has(n)) decoded.set(n, at)
  })
  child.proc.stdout?.on('data', (chunk: Buffer) => { reader.push(chunk) })
  return child
}

/** A baselines/udp-relay.ts process forwarding to `target`; its own port. */
async function startUdpRelay (ctx: BenchContext, target: number): Promise<number> {
  const child = ctx.spawn(process.execPath, [path.join(import.meta.dirname, 'baselines', 'udp-relay.ts'), String(target)], { cwd: ctx.repoRoot, stdin: 'pipe' })
  const ready = await new JsonLines(child).next(m => m.ready === true, START_TIMEOUT_MS)
  return Number(ready.port)
}

/** The port the source pipeline's udpsink sends RTP to (the daemon's bridge socket), from its command line (for builds whose /v1/sources has no rtpPort). */
async function sourceRtpPort (gstPid: number): Promise<number> {
  const args = (await fs.readFile(`/proc/${gstPid}/cmdline`, 'utf8')).split('\0')
  const sink = args.indexOf('udpsink')
  const port = args.slice(sink + 1).find(a => a.startsWith('port='))
  if (sink < 0 || port === undefined) throw new Error(`no udpsink port in the source pipeline ${args.join(' ').slice(0, 500)}`)
  return Number(port.slice('port='.length))
}

async function localSource (d: EdgedDaemon): Promise<any> {
  const body = await expectStatus(d.socket, 'GET', '/v1/sources', 200)
  const source = (body.local as any[]).find(s => s.name === SOURCE)
  if (source === undefined) throw new Error(`${d.name} has no source ${SOURCE}`)
  return source
}

export const benchmark: Benchmark = {
  name: 'media-bridge',
  description: 'RTP packet and 720p30 frame latency through two daemons, and their CPU per forwarded stream, against plain RTP/UDP and idle daemons',
  run: async ctx => {
    const rounds = ctx.runs ?? DEFAULT_ROUNDS
    const began = nowMs()
    const elapsed = (): string => `${((nowMs() - began) / 1000).toFixed(1)} s`
    const load = (): string => os.loadavg().map(l => l.toFixed(1)).join(' ')
    ctx.log(`load average ${load()} on ${os.cpus().length} cores (other work on the machine shows in every figure here)`)
    const dir = await ctx.tempDir('media-')
    const fifos: Record<PathName, string> = { edged: path.join(dir, 'edged.fifo'), base: path.join(dir, 'base.fifo') }
    for (const fifo of Object.values(fifos)) makeFifo(fifo)
    const writerStarting = FrameWriter.start(FORMAT, fifos)
    ctx.scope.defer(async () => { await (await writerStarting.catch(() => undefined))?.close() })
    const rtc = { bindAddress: LOOPBACK }
    const cam = {
      kind: 'video',
      codec: 'h264',
      pipeline: fifoSourceDescription(fifos.edged, FORMAT),
      width: FORMAT.width,
      height: FORMAT.height,
      fps: FORMAT.fps,
      bitrate: BITRATE_KBPS,
      keyframeInterval: KEYFRAME_INTERVAL
    }
    const a = await startEdged(ctx, { name: 'media-src', rtc, media: { sources: { [SOURCE]: cam } } })
    const b = await startEdged(ctx, { name: 'media-view', rtc, swarm: { bootstrap: [a.addresses[0]] }, media: { sources: {} } })
    const writer = await writerStarting
    if (!writer.pipesEnlarged) ctx.log('could not make the frame pipes hold a whole frame (perl, F_SETPIPE_SZ): frames go through in 64 KiB steps')
    const [pidA, pidB] = await Promise.all([a, b].map(async d => (await expectStatus(d.socket, 'GET', '/v1/status', 200)).pid as number))
    await waitForPeer(b, a.peerId)
    await waitFor(`${b.name} to see ${a.name}'s source ${SOURCE}`, async () => {
      const res = await unixJson(b.socket, 'GET', '/v1/peers')
      return (res.body.peers as any[]).some(p => p.peerId === a.peerId && (p.sources as any[]).some(s => s.name === SOURCE))
    })

    // both ends of both paths: relays in this process, receivers decoding to strips
    const relays: Record<PathName, RtpRelay> = { edged: new RtpRelay(await udpSocket(ctx)), base: new RtpRelay(await udpSocket(ctx)) }
    const floor = new RtpRelay(await udpSocket(ctx))
    const injector = await udpSocket(ctx)
    const relayChainOut = new RtpRelay(await udpSocket(ctx))
    const relayChain = { out: relayChainOut, port: await startUdpRelay(ctx, await startUdpRelay(ctx, relayChainOut.port)) }
    const decoded: Record<PathName, Map<number, number>> = { edged: new Map(), base: new Map() }
    const undecodable: Record<PathName, { count: number }> = { edged: { count: 0 }, base: { count: 0 } }
    const receivers = {} as Record<PathName, Child>
    for (const p of ['edged', 'base'] as const) {
      const port = await freeUdpPort()
      receivers[p] = startReceiver(ctx, port, decoded[p], undecodable[p])
      relays[p].forwardTo = port
    }

    // the viewer watches A's source into the edged relay; A's pipeline starts (and needs frames) meanwhile
    writer.feed('edged')
    const watch = await expectStatus(b.socket, 'POST', '/v1/watch', 201, { peer: a.peerId, source: SOURCE, sink: `rtp://${LOOPBACK}:${relays.edged.port}` })
    // Stopping A's source pipeline sends it EOS, which its filesrc only sees once a read returns: feed it while the watch goes.
    ctx.scope.defer(async () => {
      try {
        writer.feed('edged')
        await unixJson(b.socket, 'DELETE', `/v1/watch/${watch.id}`)
        await waitFor('the source pipeline to stop', async () => (await localSource(a)).running === false, 8_000, 100)
      } catch {} finally {
        writer.feed(undefined)
      }
    })
    let info: any = watch
    try {
      await waitFor('the watch to be active', async () => {
        info = await expectStatus(b.socket, 'GET', `/v1/watch/${watch.id}`, 200)
        return info.state === 'active' || info.state === 'failed'
      })
    } catch {}
    if (info.state !== 'active') {
      const src = await localSource(a).catch(() => undefined)
      throw new Error(`watch not active: ${JSON.stringify(info)}\nsource: ${JSON.stringify(src)}\n${a.name}:\n${a.child.output().slice(-2500)}\n${b.name}:\n${b.child.output().slice(-2500)}`)
    }
    const source = await localSource(a)
    ctx.log(`${elapsed()}: ${a.name} encodes with ${source.encoder}; watch ${watch.id} active`)

    // the baseline: the same source pipeline (same builder, encoder and settings), sending to the base relay
    const sender = ctx.spawn('gst-launch-1.0', ['-e', '-m', '-v', ...splitLaunchArgs(buildSourcePipeline({
      kind: 'video',
      codec: 'h264',
      raw: fifoSourceDescription(fifos.base, FORMAT),
      encoder: source.encoder,
      width: FORMAT.width,
      height: FORMAT.height,
      fps: FORMAT.fps,
      bitrateKbps: BITRATE_KBPS,
      keyframeInterval: KEYFRAME_INTERVAL,
      mtu: DEFAULT_MTU,
      payloadType: PAYLOAD_TYPE,
      ssrc: randomInt(1, 0xffffffff),
      rtpPort: relays.base.port
    }))])
    await waitFor('the baseline sender to play', () => { alive(sender, 'baseline sender'); return sender.output().split('\n').some(l => READY_LINE.test(l)) })

    for (const p of ['edged', 'base'] as const) {
      writer.feed(p)
      await sleep(WARMUP_MS)
      writer.feed(undefined)
      await sleep(SETTLE_MS)
      alive(receivers[p], `receiver (${p})`)
      if (decoded[p].size === 0) throw new Error(`no frame decoded on the ${p} path after ${WARMUP_MS} ms (${relays[p].packets} RTP packets reached its relay):\n${textOf(receivers[p])}`)
    }

    // (2) and (3): rounds of the three phases, rotating which goes first
    const phases: Phase[] = []
    const gstPidA = (await localSource(a)).stats?.pid as number
    const kinds: PhaseKind[] = ['edged', 'base', 'idle']
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(r + k) % kinds.length]
        for (const d of [a, b]) alive(d.child, `edged ${d.name}`)
        // the daemons' counters right next to the phase's ends (one /proc file each)
        const gstBefore = { a: await readCpuMs(gstPidA) ?? NaN, base: await cpuOf(sender.pid) }
        const before = { b: await cpuOf(pidB), a: await cpuOf(pidA) }
        const from = nowMs()
        writer.feed(kind === 'idle' ? undefined : kind)
        await sleep(PHASE_MS)
        writer.feed(undefined)
        const to = nowMs()
        const cpuA = await cpuOf(pidA) - before.a
        const cpuB = await cpuOf(pidB) - before.b
        phases.push({
          kind,
          from,
          to,
          cpuA,
          cpuB,
          gstA: (await readCpuMs(gstPidA) ?? NaN) - gstBefore.a,
          gstBase: await cpuOf(sender.pid) - gstBefore.base
        })
        await sleep(SETTLE_MS)
      }
      ctx.log(`${elapsed()}: round ${r + 1}/${rounds}: ${phases.slice(-3).map(p => `${p.kind} A ${p.cpuA} ms, B ${p.cpuB} ms CPU`).join('; ')}`)
    }

    const latencies: Record<PathName, number[]> = { edged: [], base: [] }
    const written: Record<PathName, number> = { edged: 0, base: 0 }
    for (const phase of phases) {
      if (phase.kind === 'idle') continue
      for (const [n, w] of writer.framesIn(phase.kind, phase.from, phase.to)) {
        written[phase.kind]++
        const at = decoded[phase.kind].get(n)
        if (at !== undefined) latencies[phase.kind].push(at - w.at)
      }
    }
    const share = (p: PathName): number => written[p] === 0 ? 0 : round(100 * latencies[p].length / written[p], 2)
    for (const p of ['edged', 'base'] as const) {
      const all = [...writer.written.values()].filter(w => w.target === p).length
      ctx.log(`frames ${p}: ${written[p]} written, ${latencies[p].length} decoded (${undecodable[p].count} strips unreadable), ` +
        `${(relays[p].packets / all).toFixed(1)} RTP packets a frame, ` +
        `p50 ${q(latencies[p], 50)} p99 ${q(latencies[p], 99)} max ${q(latencies[p], 100)} ms`)
    }
    const cpuShare = (kind: PhaseKind, of: (p: Phase) => number): number[] =>
      phases.filter(p => p.kind === kind).map(p => round(100 * of(p) / (p.to - p.from), 2))
    const sum = (values: number[]): number => values.reduce((x, y) => x + y, 0)
    const overall = (kind: PhaseKind, of: (p: Phase) => number): number => {
      const ps = phases.filter(p => p.kind === kind)
      return round(100 * sum(ps.map(of)) / sum(ps.map(p => p.to - p.from)), 2)
    }
    ctx.log(`gst CPU (% of a core): A's source pipeline while streaming ${overall('edged', p => p.gstA)}, ` +
      `baseline sender while streaming ${overall('base', p => p.gstBase)}; daemons during baseline phases: ` +
      `A ${overall('base', p => p.cpuA)}, B ${overall('base', p => p.cpuB)}`)

    // (5): a bit-rate change through the control API, seen at the viewer daemon's sink
    writer.feed('edged')
    const apiChange = await measureApiBitrateChange(ctx, async kbps => {
      await expectStatus(a.socket, 'POST', `/v1/sources/${SOURCE}/control`, 200, { bitrate: kbps })
    }, relays.edged.rate, rounds, BITRATE_KBPS, API_LOW_KBPS)
    writer.feed(undefined)
    await sleep(SETTLE_MS)

    // (1): A's pipeline is silent now; inject packets into its bridge socket, continuing its sequence
    await sleep(500)
    const stats = (await localSource(a)).stats
    const gstPid = stats?.pid as number | null | undefined
    if (gstPid === undefined || gstPid === null) throw new Error(`${a.name}'s source pipeline is not running`)
    const bridgePort = typeof stats.rtpPort === 'number' ? stats.rtpPort as number : await sourceRtpPort(gstPid)
    const last = relays.edged.last
    if (last === undefined) throw new Error('no RTP packet came out of the viewer')
    const packetPaths: PacketPath[] = [
      { label: 'edged', port: bridgePort, seq: i => last.seq + 1 + i, out: relays.edged, sent: new Map() },
      { label: 'direct', port: floor.port, seq: i => i, out: floor, sent: new Map() },
      { label: 'two relays', port: relayChain.port, seq: i => i, out: relayChain.out, sent: new Map() }
    ]
    const period = 1000 / FORMAT.fps
    const start = nowMs()
    for (let k = 0; k < WARMUP_BURSTS + BURSTS; k++) {
      // every path gets the frame period's burst, a third of a period apart, rotating which goes first
      for (let j = 0; j < packetPaths.length; j++) {
        const wait = start + (k + j / packetPaths.length) * period - nowMs()
        if (wait > 0) await sleep(wait)
        const target = packetPaths[(k + j) % packetPaths.length]
        const ts = last.ts + (k + 1) * (CODEC.clockRate / FORMAT.fps)
        for (let i = k * BURST_PACKETS; i < (k + 1) * BURST_PACKETS; i++) {
          const packet = injectedPacket(target.seq(i), ts, last.ssrc, i === (k + 1) * BURST_PACKETS - 1, i)
          if (k >= WARMUP_BURSTS) target.sent.set(i, nowMs())
          injector.send(packet, target.port, LOOPBACK)
        }
      }
    }
    await sleep(500)
    const packetLatency = (path: PacketPath): number[] =>
      [...path.sent].flatMap(([i, at]) => path.out.injected.has(i) ? [(path.out.injected.get(i) as number) - at] : [])
    const [viaEdged, viaFloor, viaRelays] = packetPaths.map(packetLatency)
    ctx.log(`${elapsed()}: packets: ${packetPaths.map((p, j) => {
      const l = [viaEdged, viaFloor, viaRelays][j]
      return `${p.label} ${l.length}/${p.sent.size} p50 ${q(l, 50)} p99 ${q(l, 99)} max ${q(l, 100)} ms`
    }).join('; ')}`)
    ctx.log(`load average ${load()}`)
    const sentEdged = packetPaths[0].sent
    if (viaEdged.length < sentEdged.size * 0.5) throw new Error(`only ${viaEdged.length} of ${sentEdged.size} injected packets came out of the viewer`)

    const stream = `${FORMAT.height}p${FORMAT.fps} H.264 ${BITRATE_KBPS} kbit/s`
    const rtpName = `RTP packet latency through both daemons, source's RTP port → viewer's rtp:// sink (${BURSTS * BURST_PACKETS} packets)`
    const frameName = `frame latency ${stream}, raw frame into the source pipeline → decoded at the viewer (${rounds} × ${PHASE_MS / 1000} s)`
    const cpu = (name: string, of: (p: Phase) => number): Figure => ({
      name,
      unit: '% of a core',
      value: overall('edged', of),
      samples: cpuShare('edged', of),
      baseline: IDLE,
      baselineValue: overall('idle', of),
      baselineSamples: cpuShare('idle', of)
    })
    const figures: Figure[] = [
      { name: `${rtpName}, p50`, unit: 'ms', value: q(viaEdged, 50), baseline: FLOOR, baselineValue: q(viaFloor, 50) },
      { name: `${rtpName}, p50`, unit: 'ms', value: q(viaEdged, 50), baseline: RELAYS, baselineValue: q(viaRelays, 50) },
      { name: `${rtpName}, p99`, unit: 'ms', value: q(viaEdged, 99), baseline: FLOOR, baselineValue: q(viaFloor, 99) },
      { name: `${rtpName}, p99`, unit: 'ms', value: q(viaEdged, 99), baseline: RELAYS, baselineValue: q(viaRelays, 99) },
      { name: `${frameName}, p50`, unit: 'ms', value: q(latencies.edged, 50), baseline: PLAIN_RTP, baselineValue: q(latencies.base, 50) },
      { name: `${frameName}, p99`, unit: 'ms', value: q(latencies.edged, 99), baseline: PLAIN_RTP, baselineValue: q(latencies.base, 99) },
      { name: `frames decoded at the viewer, of the frames written (${stream})`, unit: '%', value: share('edged'), baseline: PLAIN_RTP, baselineValue: share('base') },
      cpu(`CPU of the source daemon forwarding one ${stream} stream (node process, not gst-launch; ${rounds} × ${PHASE_MS / 1000} s)`, p => p.cpuA),
      cpu(`CPU of the viewer daemon forwarding it to an rtp:// sink (node process; ${rounds} × ${PHASE_MS / 1000} s)`, p => p.cpuB)
    ]

    // (4): a bit-rate change on a running source, command → new rate seen at the consumer
    const change = await measureBitrateChange(ctx, rounds)
    figures.push({
      name: `bit-rate change on a running source (${change.encoder}, 1500 ↔ 300 kbit/s), setBitrate() → new rate seen at a UDP consumer, p50 (${change.live.length} changes)`,
      unit: 'ms',
      value: q(change.live, 50),
      samples: change.live.map(v => round(v, 1)),
      baseline: 'same change by restarting the source with the new rate (what gst-launch allowed)',
      baselineValue: q(change.restart, 50),
      baselineSamples: change.restart.map(v => round(v, 1))
    }, {
      name: `longest time without a packet at that consumer, from the bit-rate command to 1 s after, max (${change.live.length} changes)`,
      unit: 'ms',
      value: round(Math.max(...change.liveGap), 1),
      samples: change.liveGap.map(v => round(v, 1)),
      baseline: 'same change by restarting the source with the new rate',
      baselineValue: round(Math.max(...change.restartGap), 1),
      baselineSamples: change.restartGap.map(v => round(v, 1))
    })
    if (apiChange.ms.length > 0) {
      figures.push({
        name: `bit-rate change through the daemons (${stream} → ${API_LOW_KBPS} kbit/s), POST /v1/sources/${SOURCE}/control on the source daemon → lower rate seen at the viewer daemon's rtp:// sink, p50 (${apiChange.ms.length} changes${apiChange.skipped > 0 ? `, ${apiChange.skipped} skipped` : ''})`,
        unit: 'ms',
        value: q(apiChange.ms, 50),
        samples: apiChange.ms.map(v => round(v, 1)),
        baseline: 'setBitrate() on the source alone → new rate at a UDP consumer in this process (row below)',
        baselineValue: q(change.live, 50),
        baselineSamples: change.live.map(v => round(v, 1))
      })
    }

    return figures
  }
}
