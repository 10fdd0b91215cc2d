import { UnsupportedProfileError } from '../util/errors.ts'
import type { StackProfile } from './types.ts'

/** What a stack profile asks of the PeerConnection. */
export interface ProfileSettings {
  /** An SCTP association for data channels. */
  dataChannels: boolean
  /** DTLS-SRTP keys exported so tracks can be added (libdatachannel forceMediaTransport). */
  mediaTransport: boolean
}

/**
 * The PeerConnection profiles. `trusted` has no PeerConnection at all (plain
 * RTP/UDP and libp2p streams, see trusted-session.ts).
 */
const PROFILES: Partial<Record<StackProfile, ProfileSettings>> = {
  webrtc: { dataChannels: true, mediaTransport: true },
  media: { dataChannels: false, mediaTransport: true },
  data: { dataChannels: true, mediaTransport: false }
}

export function profileSettings (profile: StackProfile): ProfileSettings {
  const settings = PROFILES[profile]
  if (settings === undefined) throw new UnsupportedProfileError(`stack profile ${profile} has no PeerConnection (see createTrustedSession)`)
  return settings
}
