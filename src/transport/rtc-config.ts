import type { RtcConfig } from 'node-datachannel'
import { toRtcIceServer } from './ice-servers.ts'
import type { ProfileSettings } from './profiles.ts'
import type { PeerSessionInit } from './types.ts'

/** Matches rtc.mtu's default: libdatachannel silently drops RTP packets above the MTU. */
export const DEFAULT_MTU = 1200

/** The PeerConnection configuration for a session. */
export function rtcConfig (init: PeerSessionInit, profile: ProfileSettings): RtcConfig {
  const config: RtcConfig = {
    iceServers: (init.iceServers ?? []).map(toRtcIceServer),
    mtu: init.mtu ?? DEFAULT_MTU,
    // One UDP socket per session; a shared mux would tie sessions' lifetimes together.
    enableIceUdpMux: false,
    enableIceTcp: false,
    forceMediaTransport: profile.mediaTransport
  }
  if (init.bindAddress !== undefined) config.bindAddress = init.bindAddress
  if (init.portRange !== undefined) {
    config.portRangeBegin = init.portRange.min
    config.portRangeEnd = init.portRange.max
  }
  if (init.maxMessageSize !== undefined) config.maxMessageSize = init.maxMessageSize
  return config
}
