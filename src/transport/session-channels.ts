import type { Channel } from './types.ts'

/**
 * Enters a new channel in its session's table: announced once it opens (the
 * session's 'channel' event), dropped once it closes, unless another channel
 * has taken its label by then (glare: see the sessions' remote channels).
 */
export function keepChannel<C extends Channel> (channels: Map<string, C>, channel: C, announce: (channel: C) => void): C {
  const { label } = channel
  channels.set(label, channel)
  channel.once('open', () => { announce(channel) })
  channel.once('close', () => {
    if (channels.get(label) === channel) channels.delete(label)
  })
  return channel
}
