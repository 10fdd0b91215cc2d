/**
 * Throughput/RTT baseline: one end of a bare node-datachannel connection
 * between two Node processes, signalled over a local unix socket (JSON lines).
 *
 *   ndc-peer.ts answer SOCKET   listens on SOCKET, answers the offer; counts binary
 *                               messages, echoes text ones back
 *   ndc-peer.ts offer SOCKET    connects to SOCKET and offers one reliable, ordered
 *                               channel "control"
 *
 * NDC_SCTP_SETTINGS (JSON, node-datachannel's SctpSettings) is applied before the connection.
 *
 * Both print {"ready":true} once the channel is open. Commands (bench/lib/json-lines.ts):
 *   answer: {"cmd":"expect","bytes":N}  → prints {"done":true,…} once N binary bytes arrived
 *   offer:  {"cmd":"send","bytes":N,"size":S}  sends N bytes in S-byte binary messages with
 *           bufferedAmountLow backpressure (edged's water marks: 1 MiB high, 256 KiB low)
 *   offer:  {"cmd":"rtt","count":C,"size":S}   C sequential S-byte text pings; answers the RTTs
 */
import fs from 'node:fs'
import net from 'node:net'
import readline from 'node:readline'
import { PeerConnection, cleanup, setSctpSettings, type DataChannel } from 'node-datachannel'
import { say, serveCommands } from '../lib/stdio-commands.ts'

const HIGH_WATER_MARK = 1024 * 1024
const LOW_WATER_MARK = 256 * 1024
const CONFIG = { iceServers: [], bindAddress: '127.0.0.1', enableIceUdpMux: false, enableIceTcp: false }

const [role, socketPath] = process.argv.slice(2)
if ((role !== 'answer' && role !== 'offer') || socketPath === undefined) {
  process.stderr.write('usage: ndc-peer.ts answer|offer SOCKET\n')
  process.exit(2)
}

/** The signalling peer: the first (answer) or only (offer) connection on the unix socket. */
async function signallingSocket (): Promise<net.Socket> {
  if (role === 'offer') {
    return await new Promise((resolve, reject) => {
      const socket = net.connect(socketPath, () => { resolve(socket) })
      socket.once('error', reject)
    })
  }
  fs.rmSync(socketPath, { force: true })
  return await new Promise(resolve => {
    const server = net.createServer(socket => { server.close(); resolve(socket) })
    server.listen(socketPath, () => { say({ listening: true }) })
  })
}

// An experiment: NDC_SCTP_SETTINGS='{"sendBufferSize":…}' (node-datachannel's SctpSettings) before the connection.
if (process.env.NDC_SCTP_SETTINGS !== undefined) setSctpSettings(JSON.parse(process.env.NDC_SCTP_SETTINGS))
const pc = new PeerConnection(role, CONFIG)
let channel: DataChannel | undefined
const signal = await signallingSocket()
const sendSignal = (message: Record<string, unknown>): void => { signal.write(`${JSON.stringify(message)}\n`) }
pc.onLocalDescription((sdp, type) => { sendSignal({ sdp, type }) })
pc.onLocalCandidate((candidate, mid) => { sendSignal({ candidate, mid }) })
// A candidate can leave before its description (they come through different native queues): hold it.
let described = false
const early: Array<{ candidate: string, mid: string }> = []
readline.createInterface({ input: signal }).on('line', line => {
  const m = JSON.parse(line)
  if (m.sdp !== undefined) {
    pc.setRemoteDescription(m.sdp, m.type)
    described = true
    for (const c of early.splice(0)) pc.addRemoteCandidate(c.candidate, c.mid)
  } else if (described) {
    pc.addRemoteCandidate(m.candidate, m.mid)
  } else {
    early.push(m)
  }
})

let expected = 0
let received = 0
let startedAt = 0
let onText: ((text: string) => void) | undefined
let wake: (() => void) | undefined

function adopt (dc: DataChannel): void {
  channel = dc
  dc.setBufferedAmountLowThreshold(LOW_WATER_MARK)
  dc.onBufferedAmountLow(() => { wake?.() })
  dc.onMessage(msg => {
    if (typeof msg === 'string') {
      if (role === 'answer') dc.sendMessage(msg)
      else onText?.(msg)
      return
    }
    if (received === 0) startedAt = performance.now()
    received += msg.byteLength
    if (expected > 0 && received >= expected) {
      say({ done: true, bytes: received, receiveMs: performance.now() - startedAt })
      expected = 0
    }
  })
}

const open = new Promise<void>(resolve => {
  if (role === 'offer') {
    const dc = pc.createDataChannel('control', { unordered: false })
    adopt(dc)
    dc.onOpen(resolve)
  } else {
    pc.onDataChannel(dc => { adopt(dc); resolve() })
  }
})
await open

async function sendAll (bytes: number, size: number): Promise<Record<string, unknown>> {
  const dc = channel as DataChannel
  const chunk = Buffer.alloc(size, 7)
  const started = performance.now()
  for (let sent = 0; sent < bytes; sent += size) {
    while (dc.bufferedAmount() >= HIGH_WATER_MARK) await new Promise<void>(resolve => { wake = resolve })
    dc.sendMessageBinary(chunk)
  }
  return { sendMs: performance.now() - started }
}

async function pings (count: number, size: number): Promise<Record<string, unknown>> {
  const dc = channel as DataChannel
  const rtts: number[] = []
  for (let i = 0; i < count; i++) {
    const text = String(i).padStart(size, '.')
    const started = performance.now()
    await new Promise<void>(resolve => {
      onText = got => { if (got === text) resolve() }
      dc.sendMessage(text)
    })
    rtts.push(performance.now() - started)
  }
  return { rtts }
}

serveCommands(async command => {
  switch (command.cmd) {
    case 'expect': expected = Number(command.bytes); received = 0; return {}
    case 'send': return await sendAll(Number(command.bytes), Number(command.size))
    case 'rtt': return await pings(Number(command.count), Number(command.size))
    default: throw new Error(`unknown command ${command.cmd}`)
  }
}, () => {
  channel?.close()
  pc.close()
  signal.destroy()
  cleanup()
})
say({ ready: true })
