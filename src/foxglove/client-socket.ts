import type { IWebSocket } from '@foxglove/ws-protocol'
import type { Logger } from 'pino'
import type { RawData, WebSocket } from 'ws'

/** A client this far behind loses video frames (until the next key frame once it has caught up). */
export const VIDEO_DROP_BYTES = 1024 * 1024
/** …and takes video again, from a key frame, once under this. */
export const VIDEO_RESUME_BYTES = 256 * 1024
/** A client this far behind loses other messages (channel messages, presence), counted. */
export const DATA_DROP_BYTES = 4 * 1024 * 1024
/** A client this far behind even on control messages is cut off. */
export const MAX_CLIENT_BUFFER_BYTES = 16 * 1024 * 1024
/** Subscriptions whose key-frame state a client keeps (a client subscribing again and again gets new ids). */
const MAX_TRACKED_SUBSCRIPTIONS = 1024
const MESSAGE_DATA_OPCODE = 1

/** What the bridge is sending right now (set around FoxgloveServer.sendMessage, which calls send() synchronously). */
export interface Outgoing {
  video: boolean
  keyFrame: boolean
  /** Ask the source for a key frame: a subscriber joined or fell behind. */
  requestKeyFrame: () => void
}

export interface ClientStats {
  sent: number
  /** Video frames and other messages dropped because the client was too slow (or waiting for a key frame). */
  droppedFrames: number
  droppedMessages: number
}

/**
 * One client's WebSocket as FoxgloveServer sees it, with a bound on what
 * waits to be sent: a slow client loses video (and then waits for a key
 * frame, which it asks for once it has caught up), then other messages, and
 * beyond MAX_CLIENT_BUFFER_BYTES is closed. A subscription's first video
 * frame is a key frame: FoxgloveServer reports only a channel's first
 * subscriber, so this is where a later one is seen (its subscription id).
 */
export class ClientSocket implements IWebSocket {
  readonly #ws: WebSocket
  readonly #current: () => Outgoing | undefined
  readonly #log: Logger
  /** Video subscriptions by id: true while waiting for a key frame. */
  readonly #waiting = new Map<number, boolean>()
  /** Key frames asked for while waiting (one per wait). */
  readonly #asked = new Set<number>()
  readonly stats: ClientStats = { sent: 0, droppedFrames: 0, droppedMessages: 0 }
  onerror: ((event: any) => void) | null | undefined
  onopen: ((event: any) => void) | null | undefined
  onclose: ((event: any) => void) | null | undefined
  onmessage: ((event: any) => void) | null | undefined

  constructor (ws: WebSocket, current: () => Outgoing | undefined, logger: Logger) {
    this.#ws = ws
    this.#current = current
    this.#log = logger
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const payload = isBinary ? toArrayBuffer(data) : data.toString()
      this.onmessage?.({ data: payload })
    })
    ws.on('close', (code: number, reason: Buffer) => { this.onclose?.({ code, reason: reason.toString(), wasClean: true }) })
    ws.on('error', err => { this.onerror?.({ error: err }) })
  }

  get binaryType (): string { return this.#ws.binaryType }
  set binaryType (type: string) { this.#ws.binaryType = type as WebSocket['binaryType'] }
  get protocol (): string { return this.#ws.protocol }
  get bufferedAmount (): number { return this.#ws.bufferedAmount }

  close (code = 1000, reason = ''): void {
    this.#ws.close(code, reason)
  }

  /** One argument: FoxgloveServer then sends a message's header and payload in one frame, which the checks here need. */
  send (data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return
    const buffered = this.#ws.bufferedAmount
    if (buffered > MAX_CLIENT_BUFFER_BYTES) {
      this.#log.warn({ buffered }, 'Foxglove client too slow: closing it')
      this.#ws.close(1008, 'client too slow')
      return
    }
    const out = this.#current()
    if (out !== undefined && !this.#admit(out, data, buffered)) return
    this.stats.sent++
    this.#ws.send(data)
  }

  #admit (out: Outgoing, data: string | ArrayBuffer | ArrayBufferView, buffered: number): boolean {
    if (!out.video) {
      if (buffered <= DATA_DROP_BYTES) return true
      this.stats.droppedMessages++
      return false
    }
    const sub = subscriptionId(data)
    if (sub === undefined) return true
    let waiting = this.#waiting.get(sub)
    if (waiting === undefined) {
      // A subscription not seen before: it starts at a key frame.
      waiting = true
      this.#waiting.set(sub, true)
      if (this.#waiting.size > MAX_TRACKED_SUBSCRIPTIONS) this.#forget(this.#waiting.keys().next().value as number)
    }
    if (!waiting && buffered > VIDEO_DROP_BYTES) {
      waiting = true
      this.#waiting.set(sub, true)
      this.#asked.delete(sub)
    }
    if (!waiting) return true
    if (buffered < VIDEO_RESUME_BYTES) {
      if (out.keyFrame) {
        this.#waiting.set(sub, false)
        this.#asked.delete(sub)
        return true
      }
      if (!this.#asked.has(sub)) {
        this.#asked.add(sub)
        out.requestKeyFrame()
      }
    }
    this.stats.droppedFrames++
    return false
  }

  #forget (sub: number): void {
    this.#waiting.delete(sub)
    this.#asked.delete(sub)
  }
}

/** The subscription id of a MESSAGE_DATA frame (opcode 1, then the id as uint32 LE). */
function subscriptionId (data: string | ArrayBuffer | ArrayBufferView): number | undefined {
  if (typeof data === 'string') return undefined
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (bytes.length < 5 || bytes[0] !== MESSAGE_DATA_OPCODE) return undefined
  return new DataView(bytes.buffer, bytes.byteOffset, 5).getUint32(1, true)
}

function toArrayBuffer (data: RawData): ArrayBuffer {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer
}
