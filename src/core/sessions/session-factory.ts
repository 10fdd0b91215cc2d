import type { Logger } from 'pino'
import type { TrustedChannelService } from '../../signalling/trusted-channel-service.ts'
import { createPeerSession } from '../../transport/peer-session.ts'
import { createTrustedSession, isTrustedSession } from '../../transport/trusted-session.ts'
import type { PeerSession, PeerSessionInit } from '../../transport/types.ts'
import type { SessionManager } from './session-manager.ts'

export type SessionBase = Omit<PeerSessionInit, 'remotePeer' | 'role' | 'profile' | 'sendSignal'>
export type SessionRequest = Pick<PeerSessionInit, 'remotePeer' | 'role' | 'profile' | 'sendSignal'> & { id: string }

/**
 * Builds a session for a profile: a PeerConnection (webrtc, media, data) or,
 * for trusted, plain RTP/UDP with channels on libp2p streams.
 */
export function createSessionFactory (trusted: TrustedChannelService) {
  return (request: SessionRequest, base: SessionBase): PeerSession => {
    const { id, ...init } = request
    if (init.profile !== 'trusted') return createPeerSession({ ...base, ...init })
    return createTrustedSession({
      ...base,
      ...init,
      openStream: async header => await trusted.open(init.remotePeer, { session: id, ...header })
    })
  }
}

/** Hand the trusted channel streams peers open to the session they name. */
export function routeTrustedStreams (trusted: TrustedChannelService, sessions: Pick<SessionManager, 'sessionById'>, log: Logger): void {
  trusted.on('stream', ({ peer, header, stream, lp }) => {
    const session = sessions.sessionById(peer, header.session)
    if (session === undefined || !isTrustedSession(session)) {
      log.warn({ peer, session: header.session }, 'trusted channel stream for no trusted session of that peer: refused')
      void lp.write(new TextEncoder().encode(JSON.stringify({ error: `no trusted session ${header.session} with you` })))
        .catch(() => {}).finally(() => { stream.close().catch(() => {}) })
      return
    }
    session.acceptStream(header, { stream, lp })
  })
}
