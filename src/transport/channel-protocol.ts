import { MAX_CHANNEL_RELIABILITY } from '../util/channel-reliability.ts'
import type { ChannelOptions } from './types.ts'

// A data channel's reliability is not readable from a received libdatachannel
// channel, so the opener writes it into the channel's protocol string (which
// the DCEP open message carries to the other side).
const PREFIX = 'edge-stack/1'
const PROTOCOL = /^edge-stack\/1;ordered=([01])(?:;maxRetransmits=(\d{1,5}))?(?:;maxPacketLifeTime=(\d{1,5}))?$/

export function encodeChannelProtocol (options: ChannelOptions): string {
  let protocol = `${PREFIX};ordered=${options.ordered ? 1 : 0}`
  if (options.maxRetransmits !== undefined) protocol += `;maxRetransmits=${options.maxRetransmits}`
  if (options.maxPacketLifeTime !== undefined) protocol += `;maxPacketLifeTime=${options.maxPacketLifeTime}`
  return protocol
}

/**
 * Options from a protocol string written by encodeChannelProtocol, or
 * undefined for anything else (a value beyond MAX_CHANNEL_RELIABILITY, a zero
 * lifetime, or both limits: no channel we open has them).
 */
export function decodeChannelProtocol (protocol: string): ChannelOptions | undefined {
  const match = PROTOCOL.exec(protocol)
  if (match === null) return undefined
  if (match[2] !== undefined && match[3] !== undefined) return undefined
  const options: ChannelOptions = { ordered: match[1] === '1' }
  if (match[2] !== undefined) options.maxRetransmits = Number(match[2])
  if (match[3] !== undefined) options.maxPacketLifeTime = Number(match[3])
  if ((options.maxRetransmits ?? 0) > MAX_CHANNEL_RELIABILITY) return undefined
  if (options.maxPacketLifeTime !== undefined && (options.maxPacketLifeTime < 1 || options.maxPacketLifeTime > MAX_CHANNEL_RELIABILITY)) return undefined
  return options
}

export function isLossy (options: ChannelOptions): boolean {
  return options.maxRetransmits !== undefined || options.maxPacketLifeTime !== undefined
}
