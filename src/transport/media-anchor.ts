import { Audio } from 'node-datachannel'

/** The mid of the `media` profile's anchor section. */
export const MEDIA_ANCHOR_MID = 'edge-media'
const ANCHOR_PAYLOAD_TYPE = 111

/**
 * The `media` profile has no SCTP association, and libdatachannel cannot
 * negotiate a description with no section at all (it aborts the process:
 * "No DataChannel or Track to negotiate"). Both ends add this inactive audio
 * section before the first offer: it carries no RTP, only the bundled
 * ICE/DTLS-SRTP transport the real tracks join later.
 */
export function mediaAnchor (): Audio {
  const audio = new Audio(MEDIA_ANCHOR_MID, 'Inactive')
  audio.addOpusCodec(ANCHOR_PAYLOAD_TYPE)
  return audio
}
