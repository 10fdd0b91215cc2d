import type { Stream, StreamMiddleware } from '@libp2p/interface'
import { KadStreamTooLargeError } from '../util/errors.ts'

/**
 * Bytes one inbound kad-dht stream may carry. Every message edged sends or
 * needs (FIND_NODE, GET_PROVIDERS, ADD_PROVIDER of the rendezvous key with a
 * few addresses, PING) is well under 8 KiB; kad-dht itself reads messages of
 * up to 4 MiB, and waits 10 s for each, so a peer claiming 4 MiB and sending
 * all but the last byte held 4 MiB per stream (about 850 MB over 4
 * connections).
 */
export const MAX_KAD_STREAM_BYTES = 64 * 1024

/**
 * A registrar middleware for the kad-dht protocol: it counts what arrives on
 * each inbound stream and aborts the stream once it passes `maxBytes`.
 * kad-dht has no message size option; this is the knob it lacks.
 *
 * The counting listener is added after kad-dht's own (a stream hands data
 * that arrived before any 'message' listener to the first one added only).
 */
export function kadStreamGuard (maxBytes = MAX_KAD_STREAM_BYTES): StreamMiddleware {
  return (stream, connection, next) => {
    next(stream, connection)
    setImmediate(() => { limitStream(stream, maxBytes) })
  }
}

function limitStream (stream: Stream, maxBytes: number): void {
  if (stream.status !== 'open') return
  let bytes = 0
  const onMessage = (evt: Event): void => {
    bytes += (evt as Event & { data: { byteLength: number } }).data.byteLength
    if (bytes <= maxBytes) return
    stream.removeEventListener('message', onMessage)
    stream.abort(new KadStreamTooLargeError(`kad-dht stream over ${maxBytes} bytes`))
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('close', () => { stream.removeEventListener('message', onMessage) }, { once: true })
}
