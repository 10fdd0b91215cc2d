import type { McapChannelSpec } from './mcap-file.ts'

/** MCAP has no well-known encoding for opaque bytes; this one says what they are. */
export const RAW_MESSAGE_ENCODING = 'application/octet-stream'

/** Any JSON object: the channel's messages are the robot's own, their shape is not ours to know. */
const OBJECT_SCHEMA = (label: string): Uint8Array => Buffer.from(JSON.stringify({
  title: `edge.channel.${label}`,
  description: `Messages of the data channel ${label}`,
  type: 'object'
}))

export type ChannelDirection = 'received' | 'sent'

/**
 * Topics of a recorded data channel: `/channels/LABEL` for what the peer
 * sent us, `/channels/LABEL/sent` for what we sent it. A text message that is
 * a JSON object goes on the topic itself as `json` with a JSON schema (Foxglove
 * shows its fields); any other message, text or binary, on `TOPIC/raw` as
 * bytes (text as its UTF-8).
 */
export function channelTopic (label: string, direction: ChannelDirection, json: boolean): McapChannelSpec {
  const topic = `/channels/${label}${direction === 'sent' ? '/sent' : ''}`
  const metadata = { label, direction }
  if (json) return { topic, messageEncoding: 'json', schema: { name: `edge.channel.${label}`, encoding: 'jsonschema', data: OBJECT_SCHEMA(label) }, metadata }
  return { topic: `${topic}/raw`, messageEncoding: RAW_MESSAGE_ENCODING, metadata }
}

