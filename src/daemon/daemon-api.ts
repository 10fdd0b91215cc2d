import type { BrowserInfo, DaemonEvents, PeerInfo, ReloadResponse, StatusResponse } from './api-types.ts'
import type { TypedEmitter } from '../util/typed-emitter.ts'
import type { SessionManager } from '../core/sessions/session-manager.ts'
import type { ChannelHub } from '../core/sessions/channel-hub.ts'
import type { MediaSources } from '../media/media-sources.ts'
import type { WatchService } from '../core/watch/watch-service.ts'
import type { Recordings } from '../core/record/recordings.ts'
import type { MediaRouter } from '../core/media-router/media-router.ts'

/** What the control API's routes need from the daemon (and nothing more). */
export interface DaemonApi {
  status: () => StatusResponse
  peers: () => PeerInfo[]
  events: TypedEmitter<DaemonEvents>
  sessions: Pick<SessionManager, 'list' | 'get' | 'connect' | 'disconnect' | 'session'>
  channels: ChannelHub
  media: Pick<MediaSources, 'list' | 'encoders' | 'control'>
  /** Watches of peers' sources, and peers watching ours. */
  watch: Pick<WatchService, 'sinks' | 'viewers'>
  /** Every stream this daemon sends and its consumers (read-only here). */
  router: Pick<MediaRouter, 'list'>
  /** MCAP recordings (a kind of watch: listed and ended with them too). */
  recordings: Pick<Recordings, 'list' | 'get' | 'has' | 'create' | 'delete'>
  /** The web listener's browser sessions with their tracks (none while it is off). */
  browsers: () => BrowserInfo[]
  /** Re-read the config file (POST /v1/reload). */
  reload: () => Promise<ReloadResponse>
}
