/**
 * Connect baseline: @libp2p/webrtc (WebRTC Direct, node-datachannel under the
 * hood) between two libp2p nodes in two processes on 127.0.0.1.
 *
 *   libp2p-webrtc.ts listen   prints {"addr": "/ip4/127.0.0.1/udp/…/webrtc-direct/certhash/…/p2p/…"}
 *   libp2p-webrtc.ts dial     commands (bench/lib/json-lines.ts):
 *     {"cmd":"try","addr":A}   dial start → protocol stream open (multistream-select done),
 *                              then hang up and wait for the connection to close here
 *   listen also answers {"cmd":"count"} with its open connections, so the bench can
 *   wait for the far end to notice the hang-up too.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { webRTCDirect } from '@libp2p/webrtc'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { say, serveCommands } from '../lib/stdio-commands.ts'

const PROTOCOL = '/edge-stack-bench/connect/1.0.0'
const TRY_TIMEOUT_MS = 15_000

const role = process.argv[2]
if (role !== 'listen' && role !== 'dial') {
  process.stderr.write('usage: libp2p-webrtc.ts listen|dial\n')
  process.exit(2)
}

const node = await createLibp2p({
  addresses: { listen: role === 'listen' ? ['/ip4/127.0.0.1/udp/0/webrtc-direct'] : [] },
  transports: [webRTCDirect({ rtcConfiguration: { iceServers: [] } })],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  // loopback addresses are private: allow dialling them
  connectionGater: { denyDialMultiaddr: () => false },
  // the default (5 a second per host) refuses a benchmark's back-to-back dials
  connectionManager: { inboundConnectionThreshold: 1_000_000 }
})
await node.handle(PROTOCOL, () => { /* the open stream is what is measured */ })

async function connectOnce (addr: string): Promise<Record<string, unknown>> {
  const target = multiaddr(addr)
  const started = performance.now()
  const stream = await node.dialProtocol(target, PROTOCOL, { signal: AbortSignal.timeout(TRY_TIMEOUT_MS), negotiateFully: true })
  const ms = performance.now() - started
  await stream.close().catch(() => {})
  await node.hangUp(target)
  return { ms }
}

serveCommands(async command => {
  if (command.cmd === 'try') return await connectOnce(String(command.addr))
  if (command.cmd === 'count') return { connections: node.getConnections().length }
  throw new Error(`unknown command ${command.cmd}`)
}, async () => { await node.stop() })
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => { void Promise.resolve(node.stop()).finally(() => process.exit(0)) })
}
say(role === 'listen' ? { ready: true, addr: node.getMultiaddrs()[0]?.toString() } : { ready: true })
