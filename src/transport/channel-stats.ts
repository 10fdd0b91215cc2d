import { byteLength, type Payload } from './payload.ts'
import type { ChannelOptions, ChannelStats } from './types.ts'

/** What the channel itself knows at the moment stats are taken. */
export interface ChannelSnapshot {
  label: string
  options: ChannelOptions
  open: boolean
  bufferedAmount: number
  dropped: number
  queued: number
}

/** A channel's message and byte counts, each way, and the stats made from them. */
export class ChannelCounters {
  #messagesSent = 0
  #messagesReceived = 0
  #bytesSent = 0
  #bytesReceived = 0

  sent (data: Payload): void {
    this.#messagesSent++
    this.#bytesSent += byteLength(data)
  }

  received (data: Payload): void {
    this.#messagesReceived++
    this.#bytesReceived += byteLength(data)
  }

  stats (channel: ChannelSnapshot): ChannelStats {
    const { options } = channel
    return {
      label: channel.label,
      ordered: options.ordered,
      ...(options.maxRetransmits !== undefined ? { maxRetransmits: options.maxRetransmits } : {}),
      ...(options.maxPacketLifeTime !== undefined ? { maxPacketLifeTime: options.maxPacketLifeTime } : {}),
      open: channel.open,
      messagesSent: this.#messagesSent,
      messagesReceived: this.#messagesReceived,
      bytesSent: this.#bytesSent,
      bytesReceived: this.#bytesReceived,
      bufferedAmount: channel.bufferedAmount,
      dropped: channel.dropped,
      queued: channel.queued
    }
  }
}
