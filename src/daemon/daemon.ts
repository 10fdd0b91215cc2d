import { randomBytes } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import type { Logger } from 'pino'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { startAll, stopAll, type Startable } from '../util/startable.ts'
import { createSwarm } from '../signalling/swarm.ts'
import { createSignalService } from '../signalling/signal-service.ts'
import { createPeerSession } from '../transport/peer-session.ts'
import type { StackProfile } from '../transport/types.ts'
import { createSessionManager, type SessionManager } from './sessions/session-manager.ts'
import { ChannelHub, EDGE_CHANNEL } from './sessions/channel-hub.ts'
import { iceServersFromConfig } from './ice-config.ts'
import { MediaSources } from '../media/media-sources.ts'
import type { Swarm } from '../signalling/types.ts'
import type { DaemonEvents, PeerInfo, StatusResponse } from './api-types.ts'
import type { Config } from './config-schema.ts'
import { createControlServer } from './control-server.ts'
import { claimSocketPath } from './control-socket.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { componentLogger } from './logger.ts'
import { VERSION } from './version.ts'

export interface Daemon extends Startable {
  readonly events: TypedEmitter<DaemonEvents>
  status: () => StatusResponse
}

/**
 * edged: owns every component and wires them together. Start order is
 * identity → swarm → control socket (so an answering socket means the daemon
 * is fully up); stop runs in reverse.
 */
export function createDaemon (config: Config, root: Logger): Daemon {
  const log = componentLogger(root, 'daemon', config.log.levels)
  const events = new TypedEmitter<DaemonEvents>()
  events.onListenerError = (event, err) => { log.error({ err, event }, 'event listener failed') }
  const startedAt = Date.now()

  let privateKey: PrivateKey | undefined
  let swarm: Swarm | undefined
  let sessions: SessionManager | undefined
  const channels = new ChannelHub(componentLogger(root, 'channels', config.log.levels))
  const media = new MediaSources({
    sources: config.media.sources,
    encoders: config.media.encoders,
    mtu: config.rtc.mtu,
    logger: componentLogger(root, 'media', config.log.levels)
  })
  let started: Startable[] = []
  let stopping: Promise<void> | undefined

  const peers = (): PeerInfo[] => swarm?.peers() ?? []

  const status = (): StatusResponse => ({
    peerId: swarm?.peerId ?? '',
    name: config.swarm.nodeName,
    version: VERSION,
    swarm: config.swarm.name,
    stack: config.rtc.stack,
    addresses: swarm?.addresses() ?? [],
    web: null,
    pid: process.pid,
    uptimeS: Math.round((Date.now() - startedAt) / 1000),
    peers: peers().length,
    sessions: sessions?.count() ?? 0,
    config: config.source
  })

  const instance = randomBytes(8).toString('hex')
  const presence = () => ({
    instance,
    name: config.swarm.nodeName,
    version: VERSION,
    stack: config.rtc.stack,
    sources: Object.entries(config.media.sources).map(([name, s]) => ({
      name, kind: s.kind, codec: s.codec ?? (s.kind === 'video' ? 'h264' : 'opus')
    }))
  })

  return {
    events,
    status,
    async start () {
      // Refuse early, before binding any port, if another edged owns the socket.
      await claimSocketPath(config.control.socket)
      privateKey = await loadOrCreateIdentity(config.stateDir)
      const swarmService = swarm = createSwarm({
        swarm: config.swarm,
        privateKey,
        presence,
        logger: componentLogger(root, 'signalling', config.log.levels)
      })
      for (const type of ['peer:discovered', 'peer:updated', 'peer:lost'] as const) {
        swarmService.on(type, (peer) => {
          log.info({ peer: peer.peerId, name: peer.name }, type)
          events.emit(type, peer)
        })
      }
      const allow = config.swarm.allow
      const signal = createSignalService({
        host: swarmService,
        logger: componentLogger(root, 'signalling', config.log.levels),
        isAllowed: peer => allow.length === 0 || allow.includes(peer)
      })
      const transportLog = componentLogger(root, 'transport', config.log.levels)
      const localPeer = swarmService.peerId
      const sessionManager = sessions = createSessionManager({
        localPeer,
        swarm: swarmService,
        signal,
        autoconnect: config.swarm.autoconnect,
        maxSessions: config.swarm.maxSessions,
        allow,
        profileFor: (peer): StackProfile => config.rtc.peers[peer]?.stack ?? config.rtc.stack,
        createSession: (s) => createPeerSession({
          ...s,
          iceServers: iceServersFromConfig(config.rtc.iceServers, localPeer),
          portRange: config.rtc.portRange,
          bindAddress: config.rtc.bindAddress,
          mtu: config.rtc.mtu,
          channels: { ...config.rtc.channels, [EDGE_CHANNEL]: { ordered: true } },
          logger: transportLog
        }),
        logger: componentLogger(root, 'sessions', config.log.levels)
      })
      sessionManager.on('session', info => { events.emit('session:state', info) })
      sessionManager.on('channel', (peer, channel) => { channels.attach(peer, channel) })
      swarmService.on('peer:lost', peer => { channels.dropPeer(peer.peerId) })

      const controlServer = createControlServer({
        socket: config.control.socket,
        mode: config.control.mode,
        group: config.control.group,
        logger: componentLogger(root, 'control', config.log.levels)
      }, { status, peers, events, sessions: sessionManager, channels, media })

      const services = [media, swarmService, signal, sessionManager, controlServer]
      await startAll(services)
      started = services
      log.info({ peerId: swarmService.peerId, swarm: config.swarm.name, addresses: swarmService.addresses() }, 'edged started')
    },
    async stop () {
      stopping ??= (async () => {
        await stopAll(started, err => { log.error({ err }, 'stop failed') })
        started = []
        channels.close()
        events.removeAllListeners()
        log.info('edged stopped')
      })()
      await stopping
    }
  }
}
