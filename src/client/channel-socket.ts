import { WebSocket } from 'ws'
import { DaemonError, DaemonNotRunningError, EdgeError, ProtocolError, StreamClosedError, TimeoutError } from '../util/errors.ts'

/** A channel message: text stays a string, binary stays a Buffer. */
export type ChannelPayload = string | Buffer

/** Largest message edged takes on a channel's WebSocket (CONTROL_WS_MAX_PAYLOAD); data channels cap lower. */
export const CHANNEL_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
/** Received messages held for `receive()` before we stop reading the socket (and edged slows the sender). */
export const CHANNEL_RECEIVE_QUEUE = 64

/** Closes that end a channel in order (normal closure, edged stopping): iteration just ends. */
const ORDERLY_CLOSES = new Set([1000, 1001])
/** `Name: message`, as edged puts an error in a close reason. */
const NAMED_REASON = /^([A-Z][A-Za-z0-9]*): ([\s\S]*)$/
const NOT_RUNNING_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTDIR', 'ENOTSOCK', 'EACCES', 'EPERM'])

/**
 * A peer's data channel as a local program has it (WebSocket /v1/channels/:peer/:label).
 *
 * `send` resolves once the message is written to the socket: it waits while edged
 * does not read, which it does not while a reliable channel's buffers are full or
 * the receiving program is slow. Messages not yet `receive`d wait here (up to
 * CHANNEL_RECEIVE_QUEUE), then in the socket, and edged slows the sender down.
 */
export interface ChannelSocket extends AsyncIterable<ChannelPayload> {
  readonly peer: string
  readonly label: string
  /** Send one message: a string as a text frame, bytes as a binary one. */
  send: (message: string | Uint8Array) => Promise<void>
  /**
   * The next message; rejects with the daemon's error when edged refused or closed the
   * channel (a DaemonError whose remoteName is NotFoundError, BadRequestError,
   * TooManyChannelsError, ...), StreamClosedError for other closes, TimeoutError after `timeoutMs`.
   */
  receive: (timeoutMs?: number) => Promise<ChannelPayload>
  /** Close the WebSocket (idempotent); the data channel stays open for other programs. */
  close: () => Promise<void>
}

/** Why the WebSocket closed, as the error edged named in the reason (4000 + HTTP status for a refusal). */
export function channelCloseError (code: number, reason: string): EdgeError {
  const named = NAMED_REASON.exec(reason)
  if (named === null) return new StreamClosedError(`channel closed (${code}${reason === '' ? '' : `: ${reason}`})`)
  return new DaemonError(code >= 4000 && code < 5000 ? code - 4000 : 500, named[1], named[2])
}

/** Open a channel's WebSocket on the control socket; resolves once it is open. */
export async function openChannelSocket (socket: string, peer: string, label: string, query: string, timeoutMs: number): Promise<ChannelSocket> {
  const path = `/v1/channels/${encodeURIComponent(peer)}/${encodeURIComponent(label)}${query}`
  const ws = new WebSocket(`ws+unix://${socket}:${path}`, { maxPayload: CHANNEL_MAX_MESSAGE_BYTES, handshakeTimeout: timeoutMs })
  const queue: ChannelPayload[] = []
  const waiting: Array<{ resolve: (m: ChannelPayload) => void, reject: (err: Error) => void }> = []
  let ended: EdgeError | undefined
  let closedByUs = false
  let closeCode = 0
  let paused = false

  const end = (err: EdgeError): void => {
    ended ??= err
    for (const w of waiting.splice(0)) w.reject(ended)
  }

  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => { resolve() })
    ws.once('error', (err: NodeJS.ErrnoException) => {
      if (NOT_RUNNING_CODES.has(err.code ?? '')) reject(new DaemonNotRunningError(socket, err.code ?? '', { cause: err }))
      else reject(new ProtocolError(`WebSocket ${path} on ${socket} failed: ${err.message}`, 'control'))
    })
  })
  ws.on('error', (err: Error) => { end(new ProtocolError(`channel ${label} of ${peer}: ${err.message}`, 'control')) })
  ws.on('close', (code: number, reason: Buffer) => {
    closeCode = code
    end(closedByUs ? new StreamClosedError('channel closed by this program') : channelCloseError(code, reason.toString()))
  })
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const message: ChannelPayload = isBinary ? data : data.toString('utf8')
    const w = waiting.shift()
    if (w !== undefined) { w.resolve(message); return }
    queue.push(message)
    if (queue.length >= CHANNEL_RECEIVE_QUEUE && !paused) { paused = true; ws.pause() }
  })

  const receive = async (timeoutMs?: number): Promise<ChannelPayload> => {
    const next = queue.shift()
    if (next !== undefined) {
      if (paused && queue.length < CHANNEL_RECEIVE_QUEUE / 2) { paused = false; ws.resume() }
      return next
    }
    if (ended !== undefined) throw ended
    return await new Promise<ChannelPayload>((resolve, reject) => {
      const waiter = { resolve, reject }
      waiting.push(waiter)
      if (timeoutMs === undefined) return
      const timer = setTimeout(() => {
        const i = waiting.indexOf(waiter)
        if (i !== -1) waiting.splice(i, 1)
        reject(new TimeoutError(`no message on channel ${label} of ${peer} within ${timeoutMs} ms`))
      }, timeoutMs)
      waiter.resolve = m => { clearTimeout(timer); resolve(m) }
      waiter.reject = err => { clearTimeout(timer); reject(err) }
    })
  }

  return {
    peer,
    label,
    send: async message => {
      if (ended !== undefined) throw ended
      await new Promise<void>((resolve, reject) => {
        // ws calls back once the frame is written to the socket: that wait is the backpressure.
        ws.send(message, { binary: typeof message !== 'string' }, err => {
          if (err === undefined || err === null) resolve()
          else reject(ended ?? new StreamClosedError(`channel ${label} of ${peer} closed: ${err.message}`))
        })
      })
    },
    receive,
    close: async () => {
      closedByUs = true
      if (ws.readyState === WebSocket.CLOSED) return
      await new Promise<void>(resolve => {
        ws.once('close', () => { resolve() })
        ws.close(1000)
      })
    },
    async * [Symbol.asyncIterator] () {
      for (;;) {
        try {
          yield await receive()
        } catch (err) {
          if (closedByUs || (err instanceof StreamClosedError && ORDERLY_CLOSES.has(closeCode))) return
          throw err
        }
      }
    }
  }
}
