import type { DataChannel } from 'node-datachannel'
import type { Logger } from 'pino'
import type { ChannelClient, ChannelHub } from '../core/sessions/channel-hub.ts'
import type { SessionManager } from '../core/sessions/session-manager.ts'

/** A browser data channel with this label gets its own messages back (round trips, RTT). */
export const ECHO_LABEL = 'echo'
/** Messages queued for the swarm while the peer's channel is not writable. */
const MAX_PENDING_WRITES = 256

export interface BrowserChannelsInit {
  channels: Pick<ChannelHub, 'endpoint' | 'endpointIfRoom'>
  /** The browser session: the labels it may create are bounded (MAX_LABELS_PER_CLIENT). */
  client: ChannelClient
  sessions: Pick<SessionManager, 'session'>
  logger: Logger
}

type Message = string | Buffer

function toPayload (msg: string | Buffer | ArrayBuffer): Message {
  return typeof msg === 'string' ? msg : Buffer.isBuffer(msg) ? msg : Buffer.from(msg)
}

/**
 * A browser's data channels: `echo` answers every message with itself; on a
 * session for a peer's source, any other label is that peer's channel of the
 * same name, the browser being one more local program on it (like a WebSocket
 * on /v1/channels/:peer/:label). Must run synchronously in onDataChannel.
 */
export function attachBrowserChannel (init: BrowserChannelsInit, dc: DataChannel, peer: string | undefined): void {
  const label = dc.getLabel()
  const log = init.logger.child({ channel: label, peer })
  const send = (data: Message): boolean => {
    try {
      if (!dc.isOpen()) return false
      return typeof data === 'string' ? dc.sendMessage(data) : dc.sendMessageBinary(data)
    } catch (err) {
      log.debug({ err }, 'sending to a browser channel failed')
      return false
    }
  }
  if (label === ECHO_LABEL) {
    dc.onMessage(msg => { send(toPayload(msg)) })
    return
  }
  if (peer === undefined || label.startsWith('_')) {
    log.info('closing a browser channel with nowhere to go')
    dc.onMessage(() => {})
    dc.close()
    return
  }
  const endpoint = init.channels.endpointIfRoom(peer, label, 'closing a browser channel', init.client)
  if (endpoint === undefined) {
    dc.onMessage(() => {})
    dc.close()
    return
  }
  let pending = 0
  let chain = Promise.resolve()
  dc.onMessage(msg => {
    if (pending >= MAX_PENDING_WRITES) { log.warn('browser channel writes dropped: the peer is not taking them'); return }
    pending++
    chain = chain.then(async () => {
      const session = init.sessions.session(peer)
      if (session !== undefined && session.channel(label) === undefined) session.openChannel(label)
      await init.channels.endpoint(peer, label).write(toPayload(msg))
    }).catch((err: unknown) => { log.info({ err: (err as Error).message }, 'browser message not delivered to the peer') })
      .finally(() => { pending-- })
  })
  // A channel the browser opened is open when it reaches us.
  const detach = endpoint.addConsumer({
    deliver: data => send(data),
    backlog: () => { try { return dc.bufferedAmount() } catch { return 0 } },
    overflow: () => { try { dc.close() } catch {} }
  })
  dc.onClosed(() => { detach() })
}
