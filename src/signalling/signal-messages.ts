import { z } from 'zod'
import { ProtocolError } from '../util/errors.ts'

/** libp2p protocol of the offer/answer exchange (Noise-authenticated to the peer id). */
export const SIGNAL_PROTOCOL = '/edge-stack/signal/1.0.0'

export const MAX_SIGNAL_MESSAGE_BYTES = 128 * 1024
export const MAX_SDP_BYTES = 64 * 1024
export const MAX_CANDIDATE_BYTES = 1024

const sessionId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'session must be 8-64 url-safe characters')
const profile = z.enum(['webrtc', 'media', 'data', 'trusted'])

const params = z.record(z.string().max(64), z.union([z.string().max(256), z.number()]))
  .refine(p => Object.keys(p).length <= 16, 'params has more than 16 entries')

/** The paths of a session: the one carrying traffic, and a standby PeerConnection beside it. */
export const SESSION_PATHS = ['main', 'standby'] as const
export type SessionPath = typeof SESSION_PATHS[number]

/**
 * An offer or answer: an SDP for the PeerConnection profiles; for `trusted`
 * (no PeerConnection) no SDP, only `params` (its UDP address and port).
 */
function description<T extends 'offer' | 'answer'> (type: T) {
  return z.strictObject({
    type: z.literal(type),
    session: sessionId,
    profile,
    sdp: z.string().min(1).max(MAX_SDP_BYTES, `sdp over ${MAX_SDP_BYTES} bytes`).optional(),
    /** Extra, profile-specific parameters (the trusted profile's UDP address and port). */
    params: params.optional(),
    /**
     * Which path of the peer's session this PeerConnection is: `main` (absent:
     * main) or `standby`, a second PeerConnection kept beside the connected
     * session `of` for failover (see core/sessions/standby.ts).
     */
    path: z.enum(SESSION_PATHS).optional(),
    of: sessionId.optional()
  }).refine(m => m.profile === 'trusted' ? m.sdp === undefined && m.params !== undefined : m.sdp !== undefined, {
    message: `an ${type} carries an sdp (profiles webrtc, media, data) or params and no sdp (profile trusted)`
  }).refine(m => m.path === 'standby' ? m.of !== undefined && m.profile !== 'trusted' : m.of === undefined, {
    message: `a standby ${type} names the session it stands by for (of), and is not for profile trusted; a main one names none`
  })
}

/** Error codes a peer may answer with; each names why nothing was connected. */
export const SIGNAL_ERROR_CODES = [
  'malformed', 'too-large', 'out-of-order', 'timeout', 'not-allowed', 'busy', 'full',
  'profile-mismatch', 'fingerprint-mismatch', 'unknown-session', 'internal'
] as const
export type SignalErrorCode = typeof SIGNAL_ERROR_CODES[number]

const watchId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'id must be 8-64 url-safe characters')

/** Why a source side ends (or refuses) a watch. */
export const UNWATCH_CODES = ['unknown-source', 'source-failed', 'source-removed', 'no-room', 'not-supported', 'ended'] as const
export type UnwatchCode = typeof UNWATCH_CODES[number]

/**
 * Media requests on a session's signal stream (the stream lives as long as the
 * session): the viewer asks with `watch`, the source side answers `watching`
 * with the track's parameters (both sides then add their half of the track and
 * the session's offerer renegotiates), either side ends it with `unwatch`.
 */
export const mediaMessageSchemas = [
  z.strictObject({
    type: z.literal('watch'),
    session: sessionId,
    id: watchId,
    source: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'source must be 1-64 letters, digits, . _ -')
  }),
  z.strictObject({
    type: z.literal('watching'),
    session: sessionId,
    id: watchId,
    kind: z.enum(['video', 'audio']),
    codec: z.enum(['h264', 'vp8', 'vp9', 'av1', 'opus']),
    payloadType: z.number().int().min(35).max(127),
    ssrc: z.number().int().min(1).max(0xffffffff),
    clockRate: z.number().int().min(1000).max(200_000)
  }),
  z.strictObject({
    type: z.literal('unwatch'),
    session: sessionId,
    id: watchId,
    code: z.enum(UNWATCH_CODES).optional(),
    reason: z.string().max(256).optional()
  })
] as const

export const signalMessageSchema = z.discriminatedUnion('type', [
  ...mediaMessageSchemas,
  description('offer'),
  description('answer'),
  z.strictObject({
    type: z.literal('candidate'),
    session: sessionId,
    candidate: z.string().max(MAX_CANDIDATE_BYTES, `candidate over ${MAX_CANDIDATE_BYTES} bytes`),
    mid: z.string().max(64)
  }),
  z.strictObject({
    type: z.literal('bye'),
    session: sessionId,
    reason: z.string().max(256).optional()
  }),
  z.strictObject({
    type: z.literal('error'),
    session: sessionId.optional(),
    code: z.enum(SIGNAL_ERROR_CODES),
    message: z.string().max(1024)
  })
])

export type SignalMessage = z.infer<typeof signalMessageSchema>
export type MediaSignalMessage = Extract<SignalMessage, { type: 'watch' | 'watching' | 'unwatch' }>
export const MEDIA_MESSAGE_TYPES: ReadonlySet<string> = new Set(['watch', 'watching', 'unwatch'])

/** A peer's signalling message could not be accepted; `code` is what we answer with. */
export class SignalRejectedError extends ProtocolError {
  declare readonly code: SignalErrorCode
  constructor (message: string, code: SignalErrorCode) {
    super(message, code)
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeSignal (message: SignalMessage): Uint8Array {
  const bytes = encoder.encode(JSON.stringify(message))
  if (bytes.byteLength > MAX_SIGNAL_MESSAGE_BYTES) throw new SignalRejectedError(`signal message of ${bytes.byteLength} bytes is over ${MAX_SIGNAL_MESSAGE_BYTES}`, 'too-large')
  return bytes
}

/** Parse and validate one framed message; anything wrong is a SignalRejectedError naming it. */
export function decodeSignal (bytes: Uint8Array): SignalMessage {
  if (bytes.byteLength > MAX_SIGNAL_MESSAGE_BYTES) throw new SignalRejectedError(`signal message of ${bytes.byteLength} bytes is over ${MAX_SIGNAL_MESSAGE_BYTES}`, 'too-large')
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch {
    throw new SignalRejectedError('signal message is not UTF-8 JSON', 'malformed')
  }
  const result = signalMessageSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    const at = issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''
    throw new SignalRejectedError(`invalid signal message: ${at}${issue.message}`, 'malformed')
  }
  return result.data
}
