import os from 'node:os'
import path from 'node:path'

export const DEFAULT_SWARM_NAME = 'default'
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/7420']
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 5_000
export const DEFAULT_PEER_EXPIRY_MS = 20_000
export const DEFAULT_MAX_SESSIONS = 32
/** Peers the presence table holds (swarm.maxPeers). */
export const DEFAULT_MAX_PEERS = 1024
/** libp2p connections a daemon opens by itself to peers it hears of (see PeerDialer). */
export const DEFAULT_OVERLAY_PEERS = 6
export const DEFAULT_STACK = 'webrtc'
export const DEFAULT_MTU = 1200
/** rtc.standby: off until the failover path has run on more networks than the test's two veth links. */
export const DEFAULT_STANDBY = 'off'
export const DEFAULT_WEB_LISTEN = '127.0.0.1:8090'
/** Foxglove's own default port for its WebSocket protocol. */
export const DEFAULT_FOXGLOVE_LISTEN = '127.0.0.1:8765'
export const DEFAULT_SOCKET_MODE = '0660'
export const DEFAULT_LOG_LEVEL = 'info'

const isRoot = (): boolean => process.getuid?.() === 0

/** The control socket: /run/edged as root, the user's runtime dir otherwise. */
export function defaultSocketPath (env: NodeJS.ProcessEnv = process.env): string {
  if (env.EDGED_SOCKET != null && env.EDGED_SOCKET !== '') return env.EDGED_SOCKET
  if (isRoot()) return '/run/edged/edged.sock'
  const runtime = env.XDG_RUNTIME_DIR ?? path.join(os.tmpdir(), `edged-${process.getuid?.() ?? 'user'}`)
  return path.join(runtime, 'edged', 'edged.sock')
}

/** Identity and other state: /var/lib/edged as root, the user's state dir otherwise. */
export function defaultStateDir (env: NodeJS.ProcessEnv = process.env): string {
  if (isRoot()) return '/var/lib/edged'
  const state = env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state')
  return path.join(state, 'edged')
}

export function defaultNodeName (): string {
  return os.hostname()
}
