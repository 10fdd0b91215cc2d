import { describe, expect, it } from 'vitest'
import { decodeChannelProtocol, encodeChannelProtocol, isLossy } from '../../src/transport/channel-protocol.ts'
import { DropOldestQueue } from '../../src/transport/drop-oldest-queue.ts'
import { toRtcIceServer } from '../../src/transport/ice-servers.ts'
import { profileSettings } from '../../src/transport/profiles.ts'

describe('toRtcIceServer', () => {
  it('converts STUN and TURN URLs to node-datachannel objects', () => {
    expect(toRtcIceServer({ urls: 'stun:stun.example.org' })).toEqual({ hostname: 'stun.example.org', port: 3478 })
    expect(toRtcIceServer({ urls: 'stun:[2001:db8::1]:19302' })).toEqual({ hostname: '2001:db8::1', port: 19302 })
    expect(toRtcIceServer({ urls: 'turn:turn.example.org:3479?transport=tcp', username: 'u:1', credential: 'p@ss' }))
      .toEqual({ hostname: 'turn.example.org', port: 3479, username: 'u:1', password: 'p@ss', relayType: 'TurnTcp' })
    expect(toRtcIceServer({ urls: 'turns:turn.example.org', username: 'u', credential: 'p' }))
      .toMatchObject({ port: 5349, relayType: 'TurnTls' })
    expect(toRtcIceServer({ urls: 'turn:10.0.0.1', username: 'u', credential: 'p' })).toMatchObject({ relayType: 'TurnUdp' })
  })

  it('refuses what libdatachannel cannot do', () => {
    expect(() => toRtcIceServer({ urls: 'stuns:stun.example.org' })).toThrow(/stuns/)
    expect(() => toRtcIceServer({ urls: 'turn:turn.example.org' })).toThrow(/username/)
    expect(() => toRtcIceServer({ urls: 'http://example.org' })).toThrow(/stun/)
  })
})

describe('channel protocol', () => {
  it('round-trips reliability options', () => {
    for (const options of [{ ordered: true }, { ordered: false, maxRetransmits: 0 }, { ordered: true, maxPacketLifeTime: 150 }]) {
      expect(decodeChannelProtocol(encodeChannelProtocol(options))).toEqual(options)
    }
    expect(decodeChannelProtocol('')).toBeUndefined()
    expect(decodeChannelProtocol('chat')).toBeUndefined()
  })

  it('calls a channel lossy when it may give up on a message', () => {
    expect(isLossy({ ordered: false })).toBe(false)
    expect(isLossy({ ordered: true, maxRetransmits: 0 })).toBe(true)
    expect(isLossy({ ordered: false, maxPacketLifeTime: 100 })).toBe(true)
  })
})

describe('DropOldestQueue', () => {
  it('drops the oldest item when full and counts it', () => {
    const q = new DropOldestQueue<number>(3)
    for (let i = 1; i <= 5; i++) q.push(i)
    expect(q.dropped).toBe(2)
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([3, 4, 5, undefined])
  })
})

describe('profiles', () => {
  it('runs webrtc and data, and says media and trusted are not there yet', () => {
    expect(profileSettings('data')).toEqual({ dataChannels: true, mediaTransport: false })
    expect(profileSettings('webrtc').dataChannels).toBe(true)
    expect(profileSettings('media')).toEqual({ dataChannels: false, mediaTransport: true })
    expect(() => profileSettings('trusted')).toThrow(expect.objectContaining({ name: 'UnsupportedProfileError' }))
  })
})
