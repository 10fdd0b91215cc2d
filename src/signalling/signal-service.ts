import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from 'pino'
import { TypedEmitter } from '../util/typed-emitter.ts'
import type { Startable } from '../util/startable.ts'
import type { AllowPolicy } from './allow-policy.ts'
import { SIGNAL_PROTOCOL } from './signal-messages.ts'
import { SignalStream } from './signal-stream.ts'

export const SIGNAL_DIAL_TIMEOUT_MS = 10_000
/** Concurrent signal streams one connection may open to us. */
export const MAX_INBOUND_SIGNAL_STREAMS = 8
/**
 * Concurrent signal streams one peer may have open to us over all its
 * connections (a session uses one; a remake a second for a while), and all
 * peers together. The per-connection limit alone let one peer id hold 8 per
 * connection over 125 connections.
 */
export const MAX_SIGNAL_STREAMS_PER_PEER = 8
export const MAX_SIGNAL_STREAMS = 256

export interface SignalServiceEvents {
  /** A peer opened a signal stream to us (already checked against the allow list). */
  stream: [SignalStream]
}

export interface SignalServiceInit {
  /** Whatever holds the libp2p node; read at start (the swarm starts first). */
  host: { readonly libp2p: Libp2p }
  logger: Logger
  /** Whether a peer may signal us at all (the daemon's AllowPolicy, read live). */
  allow: Pick<AllowPolicy, 'allows'>
}

export interface SignalService extends Startable, TypedEmitter<SignalServiceEvents> {
  /** Open a signal stream to a peer (dials it if needed). */
  open: (peerId: string, signal?: AbortSignal) => Promise<SignalStream>
}

export function createSignalService (init: SignalServiceInit): SignalService {
  return new Libp2pSignalService(init)
}

/**
 * The offer/answer protocol's endpoint. Streams arrive Noise-authenticated:
 * `connection.remotePeer` is proven, so an SDP read from a stream is the
 * description of exactly that peer.
 */
class Libp2pSignalService extends TypedEmitter<SignalServiceEvents> implements SignalService {
  readonly #init: SignalServiceInit
  readonly #log: Logger
  #handling = false
  readonly #perPeer = new Map<string, number>()
  #total = 0

  constructor (init: SignalServiceInit) {
    super()
    this.#init = init
    this.#log = init.logger
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'signal listener failed') }
  }

  async start (): Promise<void> {
    if (this.#handling) return
    await this.#init.host.libp2p.handle(SIGNAL_PROTOCOL, (stream, connection) => {
      this.#onStream(stream, connection.remotePeer.toString())
    }, { maxInboundStreams: MAX_INBOUND_SIGNAL_STREAMS, runOnLimitedConnection: true })
    this.#handling = true
  }

  async stop (): Promise<void> {
    if (!this.#handling) return
    this.#handling = false
    await this.#init.host.libp2p.unhandle(SIGNAL_PROTOCOL).catch(() => {})
    this.removeAllListeners()
  }

  async open (peerId: string, signal?: AbortSignal): Promise<SignalStream> {
    const timeout = AbortSignal.timeout(SIGNAL_DIAL_TIMEOUT_MS)
    const stream = await this.#init.host.libp2p.dialProtocol(peerIdFromString(peerId), SIGNAL_PROTOCOL, {
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      runOnLimitedConnection: true
    })
    const signalStream = new SignalStream(stream, peerId, this.#log)
    signalStream.start()
    return signalStream
  }

  #onStream (stream: Stream, peer: string): void {
    const log = this.#log
    const signalStream = new SignalStream(stream, peer, log)
    if (!this.#init.allow.allows(peer)) {
      log.warn({ peer }, 'signalling from a peer not on the allow list refused')
      void signalStream.reject('not-allowed', 'this peer is not on the allow list')
      return
    }
    const open = this.#perPeer.get(peer) ?? 0
    if (open >= MAX_SIGNAL_STREAMS_PER_PEER || this.#total >= MAX_SIGNAL_STREAMS) {
      log.warn({ peer, open, total: this.#total }, 'signal stream over the per-peer or total limit refused')
      stream.abort(new Error('too many signal streams'))
      return
    }
    this.#perPeer.set(peer, open + 1)
    this.#total++
    signalStream.on('close', () => {
      this.#total--
      const left = (this.#perPeer.get(peer) ?? 1) - 1
      if (left <= 0) this.#perPeer.delete(peer)
      else this.#perPeer.set(peer, left)
    })
    this.emit('stream', signalStream)
    signalStream.start()
  }
}
