import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import type { Startable } from '../util/startable.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import type { AllowPolicy } from './allow-policy.ts'
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
  /** Only peers the trusted profile is allowed with may open trusted channels (rtc.trusted and swarm.allow, read live). */
  allow: Pick<AllowPolicy, 'trustedRefusal'>
  logger: Logger
}

export interface TrustedChannelService extends Startable, TypedEmitter<TrustedChannelServiceEvents> {
  /** Dial a channel stream to the peer and send its header; the caller reads the accept/refuse frame. */
  open: (peer: string, header: TrustedHeader) => Promise<{ stream: Stream, lp: LengthPrefixedStream<Stream> }>
}

export function createTrustedChannelService (init: TrustedChannelServiceInit): TrustedChannelService {
  return new Libp2pTrustedChannelService(init)
}

async function refuse (lp: LengthPrefixedStream<Stream>, stream: Stream, why: string): Promise<void> {
  await lp.write(new TextEncoder().encode(JSON.stringify({ error: why.slice(0, 512) }))).catch(() => {})
  await stream.close().catch(() => { stream.abort(new Error(why)) })
}

/**
 * The trusted profile's reliable transport: one libp2p stream per channel
 * (length-prefixed frames; the first is a JSON header naming the session and
 * channel, answered by {"ok":true} or {"error":…}).
 */
class Libp2pTrustedChannelService extends TypedEmitter<TrustedChannelServiceEvents> implements TrustedChannelService {
  readonly #init: TrustedChannelServiceInit
  readonly #log: Logger
  #handling = false

  constructor (init: TrustedChannelServiceInit) {
    super()
    this.#init = init
    this.#log = init.logger
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'trusted channel listener failed') }
  }

  async start (): Promise<void> {
    if (this.#handling) return
    await this.#init.host.libp2p.handle(TRUSTED_CHANNEL_PROTOCOL, async (stream, connection) => {
      await this.#onStream(stream, connection.remotePeer.toString())
    }, { maxInboundStreams: MAX_INBOUND_STREAMS })
    this.#handling = true
  }

  async stop (): Promise<void> {
    if (!this.#handling) return
    this.#handling = false
    await this.#init.host.libp2p.unhandle(TRUSTED_CHANNEL_PROTOCOL).catch(() => {})
    this.removeAllListeners()
  }

  async open (peer: string, header: TrustedHeader): Promise<{ stream: Stream, lp: LengthPrefixedStream<Stream> }> {
    const stream = await this.#init.host.libp2p.dialProtocol(peerIdFromString(peer), TRUSTED_CHANNEL_PROTOCOL, {
      signal: AbortSignal.timeout(TRUSTED_DIAL_TIMEOUT_MS)
    })
    const lp = lpStream(stream, { maxDataLength: MAX_TRUSTED_FRAME_BYTES })
    await lp.write(new TextEncoder().encode(JSON.stringify(header)))
    return { stream, lp }
  }

  async #onStream (stream: Stream, peer: string): Promise<void> {
    const log = this.#log
    const lp = lpStream(stream, { maxDataLength: MAX_TRUSTED_FRAME_BYTES })
    if (this.#init.allow.trustedRefusal(peer) !== undefined) {
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
    this.emit('stream', { peer, header, stream, lp })
  }
}
