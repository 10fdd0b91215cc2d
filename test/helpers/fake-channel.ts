import { ChannelNotOpenError } from '../../src/util/errors.ts'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'
import type { Channel, ChannelEvents, ChannelOptions, ChannelStats } from '../../src/transport/types.ts'

/** A data channel in memory: what one end sends the other receives on a later tick, unless `dropping`. */
export class FakeChannel extends TypedEmitter<ChannelEvents> implements Channel {
  readonly label: string
  readonly options: ChannelOptions
  readonly lossy = false
  readonly maxMessageSize = 65536
  readonly bufferedAmount = 0
  isOpen = true
  isClosed = false
  /** Glare: the far end dropped this channel (see Channel.refused). */
  refused = false
  far: FakeChannel | undefined
  /** Partitioned: what is sent is lost. */
  dropping = false

  constructor (label: string, options: ChannelOptions = { ordered: true }) {
    super()
    this.label = label
    this.options = options
  }

  send (data: string | Uint8Array): boolean {
    if (this.isClosed) throw new ChannelNotOpenError(`${this.label} closed`)
    const far = this.far
    if (!this.dropping && far !== undefined) {
      const copy = typeof data === 'string' ? data : Buffer.from(data)
      setImmediate(() => { if (!far.isClosed) far.emit('message', copy) })
    }
    return true
  }

  async write (data: string | Uint8Array): Promise<void> {
    await new Promise(resolve => setImmediate(resolve))
    this.send(data)
  }

  close (): void {
    if (this.isClosed) return
    this.isClosed = true
    this.isOpen = false
    this.emit('close')
  }

  stats (): ChannelStats {
    return { label: this.label, ordered: true, open: this.isOpen, messagesSent: 0, messagesReceived: 0, bytesSent: 0, bytesReceived: 0, bufferedAmount: 0, dropped: 0, queued: 0 }
  }
}

/** Two fake channels joined end to end. */
export function pairOf (label: string): [FakeChannel, FakeChannel] {
  const a = new FakeChannel(label)
  const b = new FakeChannel(label)
  a.far = b
  b.far = a
  return [a, b]
}
