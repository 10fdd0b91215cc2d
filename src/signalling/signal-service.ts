import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from 'pino'
import { TypedEmitter } from '../util/typed-emitter.ts'
import type { Startable } from '../util/startable.ts'
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
  /** Whether a peer may signal us at all. */
  isAllowed: (peerId: string) => boolean
}

export interface SignalService extends Startable, TypedEmitter<SignalServiceEvents> {
  /** Open a signal stream to a peer (dials it if needed). */
  open: (peerId: string, signal?: AbortSignal) => Promise<SignalStream>
}

/**
 * The offer/answer protocol's endpoint. Streams arrive Noise-authenticated:
 * `connection.remotePeer` is proven, so an SDP read from a stream is the
 * description of exactly that peer.
 */
export function createSignalService (init: SignalServiceInit): SignalService {
  const log = init.logger
  const service = new TypedEmitter<SignalServiceEvents>() as SignalService
  service.onListenerError = (event, err) => { log.error({ err, event }, 'signal listener failed') }
  let handling = false
  const perPeer = new Map<string, number>()
  let total = 0

  service.start = async () => {
    await init.host.libp2p.handle(SIGNAL_PROTOCOL, (stream, connection) => {
      const peer = connection.remotePeer.toString()
      const signalStream = new SignalStream(stream, peer, log)
      if (!init.isAllowed(peer)) {
        log.warn({ peer }, 'signalling from a peer not on the allow list refused')
        void signalStream.reject('not-allowed', 'this peer is not on the allow list')
        return
      }
      const open = perPeer.get(peer) ?? 0
      if (open >= MAX_SIGNAL_STREAMS_PER_PEER || total >= MAX_SIGNAL_STREAMS) {
        log.warn({ peer, open, total }, 'signal stream over the per-peer or total limit refused')
        stream.abort(new Error('too many signal streams'))
        return
      }
      perPeer.set(peer, open + 1)
      total++
      signalStream.on('close', () => {
        total--
        const left = (perPeer.get(peer) ?? 1) - 1
        if (left <= 0) perPeer.delete(peer)
        else perPeer.set(peer, left)
      })
      service.emit('stream', signalStream)
      signalStream.start()
    }, { maxInboundStreams: MAX_INBOUND_SIGNAL_STREAMS, runOnLimitedConnection: true })
    handling = true
  }

  service.stop = async () => {
    if (!handling) return
    handling = false
    await init.host.libp2p.unhandle(SIGNAL_PROTOCOL).catch(() => {})
    service.removeAllListeners()
  }

  service.open = async (peerId, signal) => {
    const timeout = AbortSignal.timeout(SIGNAL_DIAL_TIMEOUT_MS)
    const stream = await init.host.libp2p.dialProtocol(peerIdFromString(peerId), SIGNAL_PROTOCOL, {
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      runOnLimitedConnection: true
    })
    const signalStream = new SignalStream(stream, peerId, log)
    signalStream.start()
    return signalStream
  }

  return service
}
