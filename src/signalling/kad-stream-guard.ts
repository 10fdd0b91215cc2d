import type { Libp2p, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import { KadStreamTooLargeError } from '../util/errors.ts'

/**
 * Bytes one inbound kad-dht stream may carry. Every message edged sends or
 * needs (FIND_NODE, GET_PROVIDERS, ADD_PROVIDER of the rendezvous key with a
 * few addresses, PING) is well under 8 KiB; kad-dht itself reads messages of
 * up to 4 MiB, and waits for each, so a peer claiming 4 MiB and sending all
 * but the last byte held 4 MiB per stream (about 850 MB over 4 connections).
 */
export const MAX_KAD_STREAM_BYTES = 64 * 1024

/** The part of libp2p's registrar this needs (the node's `components`, not in the Libp2p interface). */
interface HandlerRegistry {
  getHandler: (protocol: string) => { handler: StreamHandler, options: StreamHandlerOptions }
  handle: (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions) => Promise<void>
}

/**
 * kad-dht has no message size option: this is the knob it lacks. Once the
 * node has started (kad-dht registers its handler then, in server mode, which
 * edged sets for good), its handler is wrapped so that each inbound stream is
 * counted and aborted once it passes `maxBytes`. (libp2p's stream middleware
 * would be the place, but in libp2p 3.3 it adds the handler to the middleware
 * list on every inbound stream.)
 */
export async function guardKadStreams (node: Libp2p, protocol: string, maxBytes = MAX_KAD_STREAM_BYTES): Promise<void> {
  const registrar = (node as unknown as { components: { registrar: HandlerRegistry } }).components.registrar
  const { handler, options } = registrar.getHandler(protocol)
  await registrar.handle(protocol, (stream, connection) => {
    // kad-dht's handler attaches its reader before its first await; the counter goes
    // second, as a stream hands data that arrived before any reader to the first one only.
    const result = handler(stream, connection)
    limitStream(stream, maxBytes)
    return result
  }, { ...options, force: true })
}

/** Abort `stream` once more than `maxBytes` arrived on it. */
export function limitStream (stream: Stream, maxBytes: number): void {
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
