import { UnsupportedProfileError } from '../util/errors.ts'
import type { StackProfile } from './types.ts'

/** What a stack profile asks of the PeerConnection. */
export interface ProfileSettings {
  /** An SCTP association for data channels. */
  dataChannels: boolean
  /** DTLS-SRTP keys exported so tracks can be added (libdatachannel forceMediaTransport). */
  mediaTransport: boolean
}

const PROFILES: Partial<Record<StackProfile, ProfileSettings>> = {
  webrtc: { dataChannels: true, mediaTransport: true },
  data: { dataChannels: true, mediaTransport: false }
  // media (SRTP only) arrives with tracks; trusted (plain RTP/UDP) needs no PeerConnection.
}

export function profileSettings (profile: StackProfile): ProfileSettings {
  const settings = PROFILES[profile]
  if (settings === undefined) throw new UnsupportedProfileError(`stack profile ${profile} is not supported by the transport layer yet`)
  return settings
}
