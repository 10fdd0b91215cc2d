import { MessageTooLargeError } from '../util/errors.ts'

/** A channel message: text (sent as UTF-8) or binary. */
export type Payload = string | Uint8Array

/** A message's size on the wire. */
export function byteLength (data: Payload): number {
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength
}

/** Throws MessageTooLargeError for a message over the channel's limit. */
export function checkMessageSize (label: string, data: Payload, limit: number): void {
  const size = byteLength(data)
  if (size > limit) throw new MessageTooLargeError(label, size, limit)
}
