import { COMPRESSED_VIDEO_JSON_SCHEMA, COMPRESSED_VIDEO_SCHEMA_NAME } from '../core/watch/compressed-video.ts'
import { CHANNEL_LABEL } from '../util/names.ts'

/**
 * The topics edged's Foxglove server offers, and how their messages are
 * encoded. Video is foxglove.CompressedVideo as JSON (its JSON schema from
 * @foxglove/schemas, data in base64); a data channel's text messages that are
 * JSON objects go on the channel's topic as `json`, every other message (other
 * text, binary) on TOPIC/raw as bytes.
 */

/** Foxglove has no well-known encoding for opaque bytes; this one says what they are. */
export const RAW_ENCODING = 'application/octet-stream'
export const PRESENCE_TOPIC = '/swarm/presence'

export interface TopicSpec {
  topic: string
  encoding: string
  schemaName: string
  schema: string
  schemaEncoding?: string
}


/** A source's video: `/video/SOURCE` for this daemon's, `/peers/PEER/video/SOURCE` for a peer's. */
export function videoTopic (peer: string | undefined, source: string): TopicSpec {
  return { topic: `${peer === undefined ? '' : `/peers/${peer}`}/video/${source}`, encoding: 'json', schemaName: COMPRESSED_VIDEO_SCHEMA_NAME, schema: COMPRESSED_VIDEO_JSON_SCHEMA, schemaEncoding: 'jsonschema' }
}

/** A data channel with a peer: `/peers/PEER/channels/LABEL` (JSON objects) and `…/raw` (anything else, as bytes). */
export function channelTopics (peer: string, label: string): { json: TopicSpec, raw: TopicSpec } {
  const topic = `/peers/${peer}/channels/${label}`
  const schemaName = `edge.channel.${label}`
  return {
    json: { topic, encoding: 'json', schemaName, schemaEncoding: 'jsonschema', schema: JSON.stringify({ title: schemaName, description: `Messages of the data channel ${label} with ${peer}`, type: 'object' }) },
    raw: { topic: `${topic}/raw`, encoding: RAW_ENCODING, schemaName: '', schema: '' }
  }
}

/** The peer and label of a channel topic a client publishes on, and whether it is the raw one; undefined for any other topic. */
export function parseChannelTopic (topic: string): { peer: string, label: string, raw: boolean } | undefined {
  const m = /^\/peers\/([1-9A-HJ-NP-Za-km-z]{40,64})\/channels\/([^/]+)(\/raw)?$/.exec(topic)
  if (m === null || !CHANNEL_LABEL.test(m[2])) return undefined
  return { peer: m[1], label: m[2], raw: m[3] !== undefined }
}

export const PRESENCE_SCHEMA_NAME = 'edge.Presence'
const source = { type: 'object', properties: { name: { type: 'string' }, kind: { type: 'string' }, codec: { type: 'string' }, topic: { type: ['string', 'null'] } } }
const PRESENCE_SCHEMA = JSON.stringify({
  title: PRESENCE_SCHEMA_NAME,
  description: 'This daemon, the peers of its swarm with their sources, and its sessions with them',
  type: 'object',
  properties: {
    timestamp: { type: 'object', properties: { sec: { type: 'integer' }, nsec: { type: 'integer' } } },
    self: { type: 'object', properties: { peerId: { type: 'string' }, name: { type: 'string' }, sources: { type: 'array', items: source } } },
    peers: { type: 'array', items: { type: 'object', properties: { peerId: { type: 'string' }, name: { type: 'string' }, connected: { type: 'boolean' }, lastSeen: { type: 'string' }, sources: { type: 'array', items: source } } } },
    sessions: { type: 'array', items: { type: 'object', properties: { peer: { type: 'string' }, state: { type: 'string' }, profile: { type: 'string' }, rttMs: { type: ['number', 'null'] }, channels: { type: 'array', items: { type: 'string' } } } } }
  }
})

export function presenceTopic (): TopicSpec {
  return { topic: PRESENCE_TOPIC, encoding: 'json', schemaName: PRESENCE_SCHEMA_NAME, schema: PRESENCE_SCHEMA, schemaEncoding: 'jsonschema' }
}


