/**
 * Moved to src/rtp/rtp-header.ts (the RTP layer). Kept only so branches
 * written against the old path merge; import from src/rtp instead.
 */
export { isRtcp, parseRtpHeader, type RtpHeader } from '../rtp/rtp-header.ts'
