import { z } from 'zod'
import {
  DEFAULT_ANNOUNCE_INTERVAL_MS, DEFAULT_LISTEN, DEFAULT_LOG_LEVEL, DEFAULT_MAX_PEERS, DEFAULT_MAX_SESSIONS, DEFAULT_OVERLAY_PEERS, DEFAULT_MTU,
  DEFAULT_PEER_EXPIRY_MS, DEFAULT_SOCKET_MODE, DEFAULT_STACK, DEFAULT_STANDBY, DEFAULT_SWARM_NAME, DEFAULT_WEB_LISTEN, DEFAULT_FOXGLOVE_LISTEN
} from './config-defaults.ts'
import { isLoopbackHost, parseHostPort } from '../util/listen-address.ts'
import { MAX_CHANNEL_RELIABILITY } from '../util/channel-reliability.ts'
import { CHANNEL_LABEL, SOURCE_NAME } from '../util/names.ts'

/**
 * The single source of truth for edged's configuration: validation, defaults,
 * the generated JSON schema (config/edged.schema.json) and the documented
 * example (config/edged.example.yaml) all follow from this file.
 */

const multiaddr = z.string().regex(/^\/(ip4|ip6|dns|dns4|dns6|dnsaddr|unix|p2p)\//, 'must be a multiaddr such as /ip4/127.0.0.1/tcp/7420')
const peerId = z.string().regex(/^(12D3Koo|Qm)[1-9A-HJ-NP-Za-km-z]{40,60}$/, 'must be a libp2p peer id (12D3Koo…)')
const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, for example 127.0.0.1:8090')
  .refine(v => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be 0..65535')
const port = z.number().int().min(1).max(65535)

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
export const stackProfile = z.enum(['webrtc', 'media', 'data', 'trusted'])

const iceServer = z.union([
  z.string().regex(/^(stun|stuns|turn|turns):/, 'must be a stun: or turn: URL'),
  z.strictObject({
    urls: z.string().regex(/^(stun|stuns|turn|turns):/, 'must be a stun: or turn: URL').describe('stun:host:port or turn:host:port?transport=udp'),
    username: z.string().optional().describe('TURN username (static credentials)'),
    credential: z.string().optional().describe('TURN password (static credentials)'),
    secret: z.string().optional().describe('TURN REST shared secret: ephemeral credentials are derived from it'),
    ttlSeconds: z.number().int().positive().optional().describe('lifetime of ephemeral TURN credentials')
  })
])

const channel = z.strictObject({
  ordered: z.boolean().default(true).describe('deliver in order'),
  maxRetransmits: z.number().int().min(0).max(MAX_CHANNEL_RELIABILITY).optional().describe('lossy: give up after this many retransmissions'),
  maxPacketLifeTime: z.number().int().min(1).max(MAX_CHANNEL_RELIABILITY).optional().describe('lossy: give up after this many milliseconds')
}).refine(c => c.maxRetransmits === undefined || c.maxPacketLifeTime === undefined,
  'set maxRetransmits or maxPacketLifeTime, not both')

const source = z.strictObject({
  kind: z.enum(['video', 'audio']).describe('what the source produces'),
  pipeline: z.string().min(1).describe('the raw GStreamer source part, e.g. "v4l2src device=/dev/video0"'),
  codec: z.enum(['h264', 'vp8', 'vp9', 'av1', 'opus']).optional().describe('default h264 for video, opus for audio'),
  encoder: z.string().optional().describe('force a GStreamer encoder element instead of the probed best one'),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  fps: z.number().int().positive().optional(),
  bitrate: z.number().int().positive().optional().describe('kbit/s: the target, and the most the encoder sends'),
  minBitrate: z.number().int().positive().optional().describe('kbit/s: the least the encoder goes down to at the configured size and frame rate when a viewer\'s link is slow; below it the picture, then the frame rate, step down (video; default 150, at most bitrate)'),
  adaptive: z.boolean().optional().describe('the encoder follows the slowest viewer\'s estimated link rate (video; default true); false pins it at bitrate'),
  keyframeInterval: z.number().int().positive().optional().describe('frames between key frames'),
  alwaysOn: z.boolean().optional().describe('run the pipeline even with no viewer')
})

export const DEFAULT_SOURCES = {
  video: { kind: 'video', pipeline: 'videotestsrc is-live=true pattern=ball', codec: 'h264', width: 640, height: 480, fps: 30, bitrate: 1500 },
  audio: { kind: 'audio', pipeline: 'audiotestsrc is-live=true wave=sine freq=440', codec: 'opus', bitrate: 64 }
} as const

export const configSchema = z.strictObject({
  stateDir: z.string().min(1).optional().describe('identity and state; default /var/lib/edged as root, ~/.local/state/edged otherwise'),
  control: z.strictObject({
    socket: z.string().min(1).optional().describe('control socket; default /run/edged/edged.sock as root, $XDG_RUNTIME_DIR/edged/edged.sock otherwise'),
    mode: z.string().regex(/^0?[0-7]{3}$/, 'must be an octal file mode such as 0660').default(DEFAULT_SOCKET_MODE).describe('file mode of the socket'),
    group: z.string().min(1).optional().describe('group that owns the socket (its members may use edgectl)')
  }).prefault({}),
  swarm: z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, . _ -').default(DEFAULT_SWARM_NAME).describe('scopes gossip topics, mDNS and DHT keys: two swarms never mix'),
    nodeName: z.string().min(1).max(64).optional().describe('human name shown to peers; default the host name'),
    listen: z.array(multiaddr).min(1).default([...DEFAULT_LISTEN]).describe('libp2p listen multiaddrs'),
    announce: z.array(multiaddr).default([]).describe('addresses to announce instead of the listening ones (behind NAT/port forward)'),
    bootstrap: z.array(multiaddr).default([]).describe('multiaddrs with /p2p/<peer id> to dial at start'),
    mdns: z.boolean().default(true).describe('find peers on the LAN by mDNS'),
    dht: z.boolean().default(true).describe('find peers beyond the LAN through the kad-dht rendezvous'),
    relay: z.boolean().default(true).describe('relay signalling for swarm peers and reserve a slot on one: peers with no direct connection still reach each other'),
    allow: z.array(peerId).default([]).describe('peer ids allowed to connect; empty = everyone in the swarm'),
    autoconnect: z.boolean().default(true).describe('open a session to every allowed peer of the swarm'),
    maxSessions: z.number().int().min(0).default(DEFAULT_MAX_SESSIONS).describe('upper bound of simultaneous sessions'),
    overlayPeers: z.number().int().min(1).max(1000).default(DEFAULT_OVERLAY_PEERS)
      .describe('libp2p connections to open by ourselves to peers found by mDNS, the DHT or presence; presence reaches the others through them, and a session dials its own peer'),
    maxPeers: z.number().int().min(1).max(100_000).default(DEFAULT_MAX_PEERS)
      .describe('peers the presence table holds at most; past it, peers we were never connected to give way first, and peers with a live connection never do'),
    key: z.string().min(1).optional().describe('private-swarm pre-shared key file (edgectl keygen)'),
    announceIntervalMs: z.number().int().min(100).default(DEFAULT_ANNOUNCE_INTERVAL_MS).describe('how often presence is published'),
    peerExpiryMs: z.number().int().min(300).default(DEFAULT_PEER_EXPIRY_MS).describe('a silent, unreachable peer is dropped after this')
  }).prefault({}),
  rtc: z.strictObject({
    stack: stackProfile.default(DEFAULT_STACK).describe('webrtc (all layers) | media (SRTP only) | data (SCTP only) | trusted (plain RTP/UDP, allowed peers only)'),
    trusted: z.boolean().default(false).describe('explicit opt-in for the trusted profile (no encryption)'),
    peers: z.record(peerId, z.strictObject({ stack: stackProfile })).default({}).describe('per-peer stack override'),
    iceServers: z.array(iceServer).default([]).describe('STUN/TURN servers'),
    portRange: z.strictObject({ min: port, max: port }).refine(r => r.min <= r.max, 'min must be <= max').optional().describe('UDP ports for ICE'),
    bindAddress: z.string().optional().describe('bind ICE to this local address'),
    standby: z.enum(['auto', 'off']).default(DEFAULT_STANDBY)
      .describe('auto: keep a second PeerConnection to each connected peer, bound to another interface, and move media and data onto it when the active path stops answering (failover in well under a second); on where this machine has a second interface (not with a specific rtc.bindAddress, nor over loopback). off: one PeerConnection per peer'),
    mtu: z.number().int().min(576).max(9000).default(DEFAULT_MTU).describe('RTP/SCTP MTU'),
    channels: z.record(z.string().regex(CHANNEL_LABEL, 'channel names are 1-64 letters, digits, . _ - (not starting with . _ -: reserved)'), channel)
      .default({ control: { ordered: true } }).describe('data channels opened on every session')
  }).prefault({}),
  media: z.strictObject({
    sources: z.record(z.string().regex(SOURCE_NAME, 'source names are 1-64 letters, digits, . _ -'), source)
      .default(structuredClone(DEFAULT_SOURCES) as any).describe('local sources; default a test pattern "video" and a test tone "audio"'),
    encoders: z.partialRecord(z.enum(['h264', 'vp8', 'vp9', 'av1', 'opus']), z.string()).default({}).describe('override the probed encoder per codec')
  }).prefault({}),
  web: z.strictObject({
    enabled: z.boolean().default(true).describe('serve the viewer, WHEP/WHIP and /metrics'),
    listen: hostPort.default(DEFAULT_WEB_LISTEN).describe('host:port; port 0 picks a free port'),
    token: z.string().min(16).optional().describe('bearer token (Authorization: Bearer …) for the web listener; required when web.listen is not 127.0.0.1, ::1 or localhost, and enforced on every address once set')
  }).refine(w => !w.enabled || w.token !== undefined || isLoopbackHost(parseHostPort(w.listen).host),
    { message: 'required when web.listen is not a loopback address (127.0.0.1, ::1, localhost)', path: ['token'] }).prefault({}),
  metrics: z.strictObject({
    enabled: z.boolean().default(true).describe('Prometheus metrics at /metrics on the web listener (live on reload)')
  }).prefault({}),
  foxglove: z.strictObject({
    enabled: z.boolean().default(false).describe('serve the Foxglove WebSocket protocol (video sources, data channels and presence as topics)'),
    listen: hostPort.default(DEFAULT_FOXGLOVE_LISTEN).describe('host:port; port 0 picks a free port. Off loopback it needs web.token (Authorization: Bearer … or ?token=…), which is enforced on every address once set')
  }).prefault({}),
  log: z.strictObject({
    level: logLevel.default(DEFAULT_LOG_LEVEL).describe('default level'),
    levels: z.record(z.string(), logLevel).default({}).describe('per-component levels, e.g. { signalling: debug }'),
    pretty: z.boolean().default(false).describe('human-readable lines instead of JSON')
  }).prefault({})
}).refine(c => !c.foxglove.enabled || c.web.token !== undefined || isLoopbackHost(parseHostPort(c.foxglove.listen).host),
  { message: 'a foxglove.listen that is not a loopback address (127.0.0.1, ::1, localhost) needs web.token', path: ['foxglove', 'listen'] })

export type ConfigInput = z.input<typeof configSchema>
export type ParsedConfig = z.output<typeof configSchema>

/** The config after runtime defaults (paths, node name) are filled in. */
export type Config = ParsedConfig & {
  stateDir: string
  control: ParsedConfig['control'] & { socket: string }
  swarm: ParsedConfig['swarm'] & { nodeName: string }
  /** Where the config came from ("(defaults)" when none). */
  source: string
}
