import { z } from 'zod'
import { MAX_CHANNEL_RELIABILITY } from '../util/channel-reliability.ts'
import { ProtocolError } from '../util/errors.ts'

/** libp2p protocol of the trusted profile's channels (Noise-authenticated to the peer id). */
export const TRUSTED_CHANNEL_PROTOCOL = '/edge-stack/trusted-channel/1.0.0'
export const MAX_TRUSTED_HEADER_BYTES = 1024

/** The first frame on a trusted channel stream: which session and channel it is. */
export const trustedHeaderSchema = z.strictObject({
  session: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'session must be 8-64 url-safe characters'),
  label: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/, 'label must be 1-64 letters, digits, . _ -'),
  ordered: z.boolean(),
  maxRetransmits: z.number().int().min(0).max(MAX_CHANNEL_RELIABILITY).optional(),
  maxPacketLifeTime: z.number().int().min(1).max(MAX_CHANNEL_RELIABILITY).optional()
})

export type TrustedHeader = z.infer<typeof trustedHeaderSchema>

/** The peer's header could not be accepted. */
export class TrustedHeaderError extends ProtocolError {
  constructor (message: string) {
    super(message, 'malformed')
  }
}

export function decodeTrustedHeader (bytes: Uint8Array): TrustedHeader {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw new TrustedHeaderError('trusted channel header is not UTF-8 JSON')
  }
  const result = trustedHeaderSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new TrustedHeaderError(`invalid trusted channel header: ${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`)
  }
  return result.data
}
