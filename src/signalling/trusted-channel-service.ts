import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import type { Startable } from '../util/startable.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { decodeTrustedHeader, MAX_TRUSTED_HEADER_BYTES, TRUSTED_CHANNEL_PROTOCOL, type TrustedHeader } from './trusted-channel-header.ts'

export const TRUSTED_DIAL_TIMEOUT_MS = 10_000
const HEADER_TIMEOUT_MS = 5_000
/** Frames on a trusted channel stream (a message plus its kind byte). */
export const MAX_TRUSTED_FRAME_BYTES = 256 * 1024 + 1
/** Channels one connection may have open at once: within yamux's per-connection stream limit (libp2p-node.ts), beside the other protocols. */
const MAX_INBOUND_STREAMS = 96

export interface IncomingTrustedStream {
  peer: string
  header: TrustedHeader
  stream: Stream
  lp: LengthPrefixedStream<Stream>
}

export interface TrustedChannelServiceEvents {
  stream: [IncomingTrustedStream]
}

export interface TrustedChannelServiceInit {
  host: { readonly libp2p: Libp2p }
  /** Only these peers may open trusted channels (rtc.trusted and swarm.allow). */
  isAllowed: (peer: string) => boolean
  logger: Logger
}

export interface TrustedChannelService extends Startable, TypedEmitter<TrustedChannelServiceEvents> {
  /** Dial a channel stream to the peer and send its header; the caller reads the accept/refuse frame. */
  open: (peer: string, header: TrustedHeader) => Promise<{ stream: Stream, lp: LengthPrefixedStream<Stream> }>
}

/**
 * The trusted profile's reliable transport: one libp2p stream per channel
 * (length-prefixed frames; the first is a JSON header naming the session and
 * channel, answered by {"ok":true} or {"error":…}).
 */
export function createTrustedChannelService (init: TrustedChannelServiceInit): TrustedChannelService {
  const log = init.logger
  const service = new TypedEmitter<TrustedChannelServiceEvents>() as TrustedChannelService
  service.onListenerError = (event, err) => { log.error({ err, event }, 'trusted channel listener failed') }
  let handling = false

  const refuse = async (lp: LengthPrefixedStream<Stream>, stream: Stream, why: string): Promise<void> => {
    await lp.write(new TextEncoder().encode(JSON.stringify({ error: why.slice(0, 512) }))).catch(() => {})
    await stream.close().catch(() => { stream.abort(new Error(why)) })
  }

  service.start = async () => {
    await init.host.libp2p.handle(TRUSTED_CHANNEL_PROTOCOL, async (stream, connection) => {
      const peer = connection.remotePeer.toString()
      const lp = lpStream(stream, { maxDataLength: MAX_TRUSTED_FRAME_BYTES })
      if (!init.isAllowed(peer)) {
        log.warn({ peer }, 'trusted channel from a peer not allowed the trusted profile refused')
        await refuse(lp, stream, 'the trusted profile is not allowed for you here (rtc.trusted and swarm.allow)')
        return
      }
      let header: TrustedHeader
      try {
        const first = await lp.read({ signal: AbortSignal.timeout(HEADER_TIMEOUT_MS) })
        if (first.byteLength > MAX_TRUSTED_HEADER_BYTES) throw new Error(`trusted channel header over ${MAX_TRUSTED_HEADER_BYTES} bytes`)
        header = decodeTrustedHeader(first.subarray())
      } catch (err) {
        log.warn({ peer, err: (err as Error).message }, 'refusing a trusted channel stream')
        await refuse(lp, stream, (err as Error).message)
        return
      }
      service.emit('stream', { peer, header, stream, lp })
    }, { maxInboundStreams: MAX_INBOUND_STREAMS })
    handling = true
  }

  service.stop = async () => {
    if (!handling) return
    handling = false
    await init.host.libp2p.unhandle(TRUSTED_CHANNEL_PROTOCOL).catch(() => {})
    service.removeAllListeners()
  }

  service.open = async (peer, header) => {
    const stream = await init.host.libp2p.dialProtocol(peerIdFromString(peer), TRUSTED_CHANNEL_PROTOCOL, {
      signal: AbortSignal.timeout(TRUSTED_DIAL_TIMEOUT_MS)
    })
    const lp = lpStream(stream, { maxDataLength: MAX_TRUSTED_FRAME_BYTES })
    await lp.write(new TextEncoder().encode(JSON.stringify(header)))
    return { stream, lp }
  }

  return service
}
