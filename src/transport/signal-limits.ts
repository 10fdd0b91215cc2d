import net from 'node:net'
import { InvalidSignalError } from '../util/errors.ts'
import { fingerprintFromSdp } from './fingerprint.ts'

// libdatachannel parses whatever it is given (50 MB lines, thousands of
// m-lines) and some of its parse errors abort the process, so remote input is
// checked here first. The sizes match src/signalling/signal-messages.ts.
export const MAX_SDP_BYTES = 64 * 1024
export const MAX_SDP_LINE_CHARS = 4096
export const MAX_MEDIA_SECTIONS = 16
export const MAX_CANDIDATE_BYTES = 1024
export const MAX_MID_CHARS = 64

const CONTROL_CHARS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/
const SDP_LINE = /^[a-z]=/
const CANDIDATE = /^candidate:\S{1,32} \d{1,3} (?:udp|tcp) \d{1,10} (\S{1,255}) (\d{1,5}) typ (?:host|srflx|prflx|relay)(?: [ -~]*)?$/i
const MID = /^[!-~]{1,64}$/

function reject (message: string): never {
  throw new InvalidSignalError(message)
}

export interface SdpRequirements {
  /** The description must carry an SCTP application section (data channels). */
  dataChannels: boolean
  /** Audio/video sections are allowed (false: the `data` profile refuses them; true without dataChannels: the `media` profile refuses m=application). */
  media?: boolean
}

/** Throws InvalidSignalError unless `sdp` is a sane, bounded WebRTC description. */
export function checkSdp (sdp: unknown, what: string, needs: SdpRequirements): string {
  if (typeof sdp !== 'string' || sdp.length === 0) reject(`${what}: sdp must be a non-empty string`)
  const bytes = Buffer.byteLength(sdp, 'utf8')
  if (bytes > MAX_SDP_BYTES) reject(`${what}: sdp of ${bytes} bytes is over ${MAX_SDP_BYTES}`)
  if (CONTROL_CHARS.test(sdp)) reject(`${what}: sdp contains control characters`)
  const lines = sdp.split(/\r?\n/)
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  if (lines[0] !== 'v=0') reject(`${what}: sdp must start with v=0`)
  let media = 0
  let application = false
  let audioVideo = false
  let ufrag = false
  let pwd = false
  for (const line of lines) {
    if (line.length > MAX_SDP_LINE_CHARS) reject(`${what}: sdp line of ${line.length} characters is over ${MAX_SDP_LINE_CHARS}`)
    if (!SDP_LINE.test(line)) reject(`${what}: not an sdp line: ${JSON.stringify(line.slice(0, 40))}`)
    if (line.startsWith('m=')) {
      media++
      if (media > MAX_MEDIA_SECTIONS) reject(`${what}: sdp has more than ${MAX_MEDIA_SECTIONS} media sections`)
      if (/^m=application \d+ (?:UDP\/)?DTLS\/SCTP webrtc-datachannel$/.test(line)) application = true
      if (/^m=(?:audio|video) /.test(line)) audioVideo = true
      if (needs.media === true && !needs.dataChannels && line.startsWith('m=application')) reject(`${what}: sdp has an m=application section, but this profile has no data channels (stack profile media)`)
    }
    if (line.startsWith('a=ice-ufrag:')) ufrag = true
    if (line.startsWith('a=ice-pwd:')) pwd = true
    if (line.startsWith('a=fingerprint:') && fingerprintFromSdp(line) === null) reject(`${what}: malformed a=fingerprint`)
    if (line.startsWith('a=candidate:')) checkCandidate(line, '0')
  }
  if (media === 0) reject(`${what}: sdp has no media section`)
  if (!ufrag || !pwd) reject(`${what}: sdp lacks ICE credentials (a=ice-ufrag, a=ice-pwd)`)
  if (fingerprintFromSdp(sdp) === null) reject(`${what}: sdp lacks a DTLS fingerprint`)
  if (needs.media === false && audioVideo) reject(`${what}: sdp has audio/video sections, but this profile has no media (stack profile data)`)
  if (needs.dataChannels && !application) reject(`${what}: sdp has no data channel (m=application ... webrtc-datachannel) section`)
  return sdp
}

export type CheckedCandidate =
  | { usable: true, candidate: string, mid: string }
  | { usable: false, reason: string }

/**
 * Throws InvalidSignalError for a malformed candidate. An empty candidate
 * (end of candidates) or an mDNS one (*.local, which libdatachannel cannot
 * resolve) is valid but not usable. Host names are refused: resolving them
 * would send DNS queries on a remote peer's say-so.
 */
export function checkCandidate (candidate: unknown, mid: unknown): CheckedCandidate {
  if (typeof candidate !== 'string') reject('candidate must be a string')
  if (typeof mid !== 'string' || !MID.test(mid)) reject(`candidate mid must be 1-${MAX_MID_CHARS} printable characters`)
  const bytes = Buffer.byteLength(candidate, 'utf8')
  if (bytes > MAX_CANDIDATE_BYTES) reject(`candidate of ${bytes} bytes is over ${MAX_CANDIDATE_BYTES}`)
  const text = candidate.startsWith('a=') ? candidate.slice(2) : candidate
  if (text === '' || text === 'end-of-candidates') return { usable: false, reason: 'end of candidates' }
  const match = CANDIDATE.exec(text)
  if (match === null) reject(`malformed candidate: ${JSON.stringify(text.slice(0, 60))}`)
  const [, address, port] = match
  if (Number(port) > 65535) reject(`candidate port ${port} is out of range`)
  if (net.isIP(address) === 0) {
    if (address.toLowerCase().endsWith('.local')) return { usable: false, reason: 'mDNS candidate' }
    reject(`candidate address must be an IP literal, not ${JSON.stringify(address.slice(0, 60))}`)
  }
  return { usable: true, candidate: text, mid }
}
