import { randomBytes } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import type { Logger } from 'pino'
import { ConfigError } from '../util/errors.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { startAll, stopAll, together, type Startable } from '../util/startable.ts'
import { createSwarm } from '../signalling/swarm.ts'
import { createSignalService } from '../signalling/signal-service.ts'
import { createTrustedChannelService } from '../signalling/trusted-channel-service.ts'
import type { StackProfile } from '../transport/types.ts'
import { createSessionManager, type SessionManager } from '../core/sessions/session-manager.ts'
import { ChannelHub, EDGE_CHANNEL } from '../core/sessions/channel-hub.ts'
import { createSessionFactory, routeTrustedStreams, type SessionBase } from '../core/sessions/session-factory.ts'
import { StandbyPaths } from '../core/sessions/standby.ts'
import { AllowPolicy } from '../signalling/allow-policy.ts'
import { iceServersFromConfig } from './ice-config.ts'
import { MediaSources } from '../media/media-sources.ts'
import { createWatchService } from '../core/watch/watch-service.ts'
import { Recordings } from '../core/record/recordings.ts'
import { MediaRouter } from '../core/media-router/media-router.ts'
import { ForwardedStreams } from '../core/watch/forwarded-streams.ts'
import { Watches } from '../core/watch/watches.ts'
import { VideoFeeds } from '../core/watch/video-feeds.ts'
import type { Swarm } from '../signalling/types.ts'
import type { DaemonEvents, PeerInfo, ReloadResponse, SessionsResponse, StatusResponse } from './api-types.ts'
import type { Config } from './config-schema.ts'
import { applyLiveKeys, diffConfig } from './config-diff.ts'
import { DEFAULTS_SOURCE, loadConfigFile, parseConfig } from './config-load.ts'
import type { Metrics } from './metrics.ts'
import { metricsRoutes } from './metrics-routes.ts'
import type { WebRoutes, WebServer } from '../web/web-server.ts'
import type { BrowserService } from '../web/browser-service.ts'
import type { FoxgloveBridge } from '../foxglove/foxglove-bridge.ts'
import { createControlServer } from './control-server.ts'
import type { DaemonApi } from './daemon-api.ts'
import { listSessions } from './routes/sessions.ts'
import { oncePerTurn } from '../util/once-per-turn.ts'
import { claimSocketPath } from './control-socket.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { componentLogger, setLogLevels } from './logger.ts'
import { VERSION } from './version.ts'

export interface Daemon extends Startable {
  readonly events: TypedEmitter<DaemonEvents>
  status: () => StatusResponse
  /** Re-read the config file and apply what can change live (SIGHUP, POST /v1/reload); a bad file throws ConfigError and changes nothing. */
  reload: () => Promise<ReloadResponse>
}

/**
 * edged: owns every component and wires them together. Start order is
 * identity → swarm → control socket (so an answering socket means the daemon
 * is fully up); stop runs in reverse.
 */
export function createDaemon (initialConfig: Config, root: Logger): Daemon {
  // The running config: a reload replaces its live keys (config-diff.ts); closures read it at call time.
  let config = initialConfig
  const log = componentLogger(root, 'daemon', config.log.levels)
  const events = new TypedEmitter<DaemonEvents>()
  events.onListenerError = (event, err) => { log.error({ err, event }, 'event listener failed') }
  const startedAt = Date.now()

  let privateKey: PrivateKey | undefined
  let swarm: Swarm | undefined
  let sessions: SessionManager | undefined
  let web: WebServer | undefined
  /** Browser sessions (viewer, WHEP, WHIP) while the web listener is on. */
  let browsers: BrowserService | undefined
  /** Peers' and browsers' sessions as GET /v1/sessions lists them (send tracks joined with their sources): /metrics reads the same. */
  let listed: () => Required<SessionsResponse> = () => ({ sessions: sessions?.list() ?? [], browsers: [] })
  let foxglove: FoxgloveBridge | undefined
  /** Prometheus metrics while web and metrics are on; prom-client is imported only then (start or reload). */
  let metrics: Metrics | undefined
  let reloading: Promise<unknown> = Promise.resolve()
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
  /** swarm.allow (and bans, and whom the trusted profile is allowed with): one object, changed by a reload only here. */
  const allow = new AllowPolicy(config.swarm.allow, { trusted: config.rtc.trusted })

  const status = (): StatusResponse => ({
    peerId: swarm?.peerId ?? '',
    name: config.swarm.nodeName,
    version: VERSION,
    swarm: config.swarm.name,
    stack: config.rtc.stack,
    addresses: swarm?.addresses() ?? [],
    web: web?.address() ?? null,
    foxglove: foxglove?.address() ?? null,
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
    // The config's sources and those WHIP clients publish now.
    sources: media.list().map(({ name, kind, codec }) => ({ name, kind, codec })),
    ...(sessions?.full() === true ? { full: true } : {})
  })
  // A publisher came or went: say so now, not at the next announce interval.
  media.on('changed', () => { void swarm?.announce() })

  const syncMetrics = async (): Promise<void> => {
    const wanted = config.web.enabled && config.metrics.enabled
    if (!wanted) {
      metrics?.registry.clear()
      metrics = undefined
      return
    }
    if (metrics !== undefined) return
    const { createMetrics } = await import('./metrics.ts')
    metrics = createMetrics({
      peers,
      sessions: () => listed().sessions,
      browsers: () => listed().browsers,
      sources: () => media.list(),
      info: () => ({ version: VERSION, peerId: swarm?.peerId ?? '', swarm: config.swarm.name, stack: config.rtc.stack })
    })
  }

  const applyReload = async (): Promise<ReloadResponse> => {
    const next = config.source === DEFAULTS_SOURCE ? parseConfig({}) : loadConfigFile(config.source)
    const { applied, restartNeeded } = diffConfig(config, next)
    config = applyLiveKeys(config, next, applied)
    for (const key of applied) {
      if (key === 'swarm.allow') {
        // One owner: the swarm (gater, presence), the signal services and the sessions read it live and hear `changed`.
        allow.set(config.swarm.allow)
      } else if (key === 'media.sources') {
        // Restarts run on in the background; list() shows the new sources at once.
        void media.reconfigure(config.media.sources)
        void swarm?.announce()
      } else if (key === 'log.level' || key === 'log.levels') {
        setLogLevels(root, config.log.level, config.log.levels)
      } else if (key === 'metrics.enabled') {
        await syncMetrics()
      }
      // rtc.channels: read by every new session.
    }
    log.info({ config: config.source, applied, restartNeeded }, 'config reloaded')
    return { config: config.source, applied, restartNeeded }
  }
  const reload = async (): Promise<ReloadResponse> => {
    const result = reloading.then(applyReload, applyReload)
    reloading = result.catch((err: unknown) => {
      if (err instanceof ConfigError) log.error({ config: err.file, problems: err.problems }, 'reload refused: the running config stays')
      else log.error({ err }, 'reload failed')
    })
    return await result
  }

  return {
    events,
    status,
    reload,
    async start () {
      // Refuse early, before binding any port, if another edged owns the socket.
      await claimSocketPath(config.control.socket)
      privateKey = await loadOrCreateIdentity(config.stateDir)
      const swarmService = swarm = createSwarm({
        swarm: config.swarm,
        allow,
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
      const signal = createSignalService({
        host: swarmService,
        logger: componentLogger(root, 'signalling', config.log.levels),
        allow
      })
      const transportLog = componentLogger(root, 'transport', config.log.levels)
      const localPeer = swarmService.peerId
      const trusted = createTrustedChannelService({
        host: swarmService,
        allow,
        logger: componentLogger(root, 'signalling', config.log.levels)
      })
      const createSession = createSessionFactory(trusted)
      const sessionBase = (): SessionBase => ({
        iceServers: iceServersFromConfig(config.rtc.iceServers, localPeer),
        portRange: config.rtc.portRange,
        bindAddress: config.rtc.bindAddress,
        mtu: config.rtc.mtu,
        channels: { ...config.rtc.channels, [EDGE_CHANNEL]: { ordered: true } },
        logger: transportLog
      })
      // A specific rtc.bindAddress pins ICE to one interface: no standby beside it.
      const pinned = config.rtc.bindAddress !== undefined && config.rtc.bindAddress !== '0.0.0.0' && config.rtc.bindAddress !== '::'
      const standby = config.rtc.standby === 'auto' && !pinned
        ? new StandbyPaths({
          localPeer,
          signal,
          peer: peer => swarmService.peer(peer),
          checkConnection: async peer => { await swarmService.checkConnection(peer) },
          createSession: ({ bindAddress, connectTimeoutMs, ...s }) => createSession(s, { ...sessionBase(), ...(bindAddress !== undefined ? { bindAddress } : {}), connectTimeoutMs }),
          logger: componentLogger(root, 'sessions', config.log.levels)
        })
        : undefined
      const sessionManager = sessions = createSessionManager({
        localPeer,
        swarm: swarmService,
        signal,
        autoconnect: config.swarm.autoconnect,
        maxSessions: config.swarm.maxSessions,
        allow,
        profileFor: (peer): StackProfile => config.rtc.peers[peer]?.stack ?? config.rtc.stack,
        createSession: (s) => createSession(s, sessionBase()),
        ...(standby !== undefined ? { standby } : {}),
        logger: componentLogger(root, 'sessions', config.log.levels)
      })
      standby?.bind(sessionManager)
      // A standby's _edge channel goes to the hub as it opens: resumes the peer sends on it at its failover wait there for ours.
      standby?.on('edge', (peer, channel, session) => { channels.attach(peer, channel, session) })
      routeTrustedStreams(trusted, sessionManager, transportLog)
      sessionManager.on('session', info => { events.emit('session:state', info) })
      // The last slot taken or one freed: peers auto-connecting should know now (presence `full`).
      let full = false
      sessionManager.on('session', () => {
        if (sessionManager.full() !== full) { full = !full; void swarmService.announce() }
      })
      // Every stream this daemon sends (its sources, WHIP publications, peers' sources it forwards) and everywhere it goes:
      // one producer (one encoder or forwarded watch, one key-frame policy) however many peers, browsers, Foxglove clients and recordings play it.
      const watchLog = componentLogger(root, 'watch', config.log.levels)
      // One Watches: every track received from a peer's source, each the origin of a forwarded producer (POST /v1/watch sinks, browsers and feeds consume it).
      const watches = new Watches({ localPeer, sessions: sessionManager, peers, logger: watchLog })
      const forwarded = new ForwardedStreams({ watches, logger: watchLog })
      const router = new MediaRouter({
        localPeer,
        media,
        forward: forwarded,
        peers,
        logger: watchLog
      })
      const watch = createWatchService({ localPeer, watches, streams: forwarded, sessions: sessionManager, peers, router, logger: watchLog })
      sessionManager.on('channel', (peer, channel, session) => { channels.attach(peer, channel, session) })
      // A peer lost from presence may keep its session through a partition (see
      // session-manager onLost): its programs' channels go only with the session.
      const inPresence = (peer: string): boolean => swarmService.peers().some(p => p.peerId === peer)
      // Not at once: a partition that outlived presence and the session comes back to them.
      const gone = (peer: string): boolean => sessionManager.session(peer) === undefined && !inPresence(peer)
      swarmService.on('peer:lost', peer => {
        if (sessionManager.session(peer.peerId) === undefined) channels.dropPeerLater(peer.peerId, () => gone(peer.peerId))
      })
      sessionManager.on('session', info => {
        if ((info.state === 'idle' || info.state === 'closed') && !inPresence(info.peer)) channels.dropPeerLater(info.peer, () => gone(info.peer))
      })

      // H.264 access units for Foxglove clients and recordings: consumers of the router.
      const video = new VideoFeeds({ router, logger: watchLog })
      // MCAP recordings: closed before the watches feeding them and the sessions (services stop in reverse).
      const recordings = new Recordings({
        localPeer,
        peers,
        sessions: sessionManager,
        hub: channels,
        video,
        logger: componentLogger(root, 'record', config.log.levels)
      })

      const api: DaemonApi = { status, peers, events, sessions: sessionManager, channels, media, watch, router, recordings, reload, browsers: () => browsers?.listWithTracks() ?? [] }
      // A /metrics render reads the listing for each of its series: one listing serves the whole render.
      listed = oncePerTurn(() => listSessions(api))
      const controlServer = createControlServer({
        socket: config.control.socket,
        mode: config.control.mode,
        group: config.control.group,
        logger: componentLogger(root, 'control', config.log.levels)
      }, api)

      // The web stack (and prom-client) is imported only when the web listener is on: start time and memory.
      const webStack = config.web.enabled ? await importWebStack() : undefined
      await syncMetrics()
      const webRoutes: WebRoutes[] = [metricsRoutes(() => metrics)]
      // Browsers (viewer, WHEP, WHIP): sessions of their own, closed before the web listener and the peers' sessions.
      browsers = webStack !== undefined
        ? new webStack.BrowserService({
          localPeer,
          media,
          sessions: sessionManager,
          channels,
          peers,
          router,
          rtc: () => ({ iceServers: iceServersFromConfig(config.rtc.iceServers, localPeer), bindAddress: config.rtc.bindAddress, portRange: config.rtc.portRange, mtu: config.rtc.mtu }),
          logger: componentLogger(root, 'web', config.log.levels)
        })
        : undefined
      if (webStack !== undefined && browsers !== undefined) {
        webRoutes.push(webStack.viewerRoutes({ self: () => ({ peerId: localPeer, name: config.swarm.nodeName }), sources: () => media.list(), peers, browsers, forwards: () => forwarded.list() }), webStack.whepRoutes(browsers))
      }
      web = webStack !== undefined
        ? webStack.createWebServer({ listen: config.web.listen, token: config.web.token, routes: webRoutes, logger: componentLogger(root, 'web', config.log.levels) })
        : undefined

      // Foxglove clients: topics for the sources, peers' sources, data channels and presence; closed before the feeds and sessions.
      // Its modules (ws, @foxglove/ws-protocol) are imported only when it is on, like the web stack.
      foxglove = config.foxglove.enabled
        ? (await import('../foxglove/foxglove-bridge.ts')).createFoxgloveBridge({
          listen: config.foxglove.listen,
          token: config.web.token,
          localPeer,
          name: config.swarm.nodeName,
          video,
          media,
          swarm: swarmService,
          sessions: sessionManager,
          channels,
          logger: componentLogger(root, 'foxglove', config.log.levels)
        })
        : undefined

      // The web listener before the control socket: a socket that answers means everything is up (status shows `web`).
      // The encoder probe (a gst-inspect listing) and libp2p's start do not wait for each other.
      const services = [together(media, swarmService), signal, trusted, ...(standby !== undefined ? [standby] : []), sessionManager, router, watch, recordings, ...(browsers === undefined ? [] : [browsers]), ...(web === undefined ? [] : [web]), ...(foxglove === undefined ? [] : [foxglove]), controlServer]
      await startAll(services)
      started = services
      log.info({ peerId: swarmService.peerId, swarm: config.swarm.name, addresses: swarmService.addresses() }, 'edged started')
    },
    async stop () {
      stopping ??= (async () => {
        await stopAll(started, err => { log.error({ err }, 'stop failed') })
        started = []
        metrics?.registry.clear()
        metrics = undefined
        channels.close()
        events.removeAllListeners()
        log.info('edged stopped')
      })()
      await stopping
    }
  }
}

/** The web listener's modules (fastify routes, browser sessions, WHEP/WHIP), loaded when web.enabled. */
async function importWebStack (): Promise<typeof import('../web/web-server.ts') & typeof import('../web/browser-service.ts') & typeof import('../web/viewer-routes.ts') & typeof import('../web/whep-routes.ts')> {
  const [server, browsers, viewer, whep] = await Promise.all([
    import('../web/web-server.ts'), import('../web/browser-service.ts'), import('../web/viewer-routes.ts'), import('../web/whep-routes.ts')
  ])
  return { ...server, ...browsers, ...viewer, ...whep }
}
