import { parseBitrate } from '../../src/cli/parse-options.ts'
import { describe, expect, it } from 'vitest'
import { formatMessage } from '../../src/cli/commands/listen.ts'
import { formatSources } from '../../src/cli/commands/sources.ts'
import { formatBrowsers, formatPair, formatRtt } from '../../src/cli/commands/sessions.ts'
import { formatBytes } from '../../src/cli/format-bytes.ts'
import { formatFields } from '../../src/cli/format-fields.ts'
import { formatTable } from '../../src/cli/format-table.ts'
import { formatAgo, formatDuration } from '../../src/cli/format-time.ts'

describe('edgectl formatting', () => {
  it('aligns table columns two spaces apart without trailing spaces', () => {
    const out = formatTable(['ID', 'NAME', 'LAST'], [['12D3KooWlong', 'a', 'x'], ['b', 'robot-two', '']])
    expect(out.split('\n')).toEqual([
      'ID            NAME       LAST',
      '12D3KooWlong  a          x',
      'b             robot-two',
      ''
    ])
  })

  it('lists browser sessions under the peers\' table, and nothing when there are none', () => {
    const base = { state: 'connected', createdAt: '', connectedAt: null, rttMs: 0.4, bytesSent: 2_500_000, bytesReceived: 12_000, packetsSent: 0, tracks: [] }
    expect(formatBrowsers([])).toBe('')
    const out = formatBrowsers([
      { ...base, id: 'Jq0c2m4XbT8yPwLr', kind: 'whep', peer: null, source: 'cam', audio: 'mic' },
      { ...base, id: 'remote-player-1', kind: 'whep', peer: '12D3KooWpeer', source: 'cam', audio: null },
      { ...base, id: 'publisher-00001', kind: 'whip', peer: null, source: 'phone,phone.audio', audio: null, state: 'connecting', rttMs: null }
    ])
    const lines = out.split('\n')
    expect(lines[0]).toBe('')
    expect(lines[1]).toMatch(/^BROWSER\s+KIND\s+FROM\s+SOURCE\s+STATE\s+RTT\s+SENT\/RECV$/)
    expect(lines[2]).toMatch(/^Jq0c2m4XbT8yPwLr\s+whep\s+-\s+cam,mic\s+connected\s+0\.4 ms\s+\S+ \S+ \/ \S+ \S+$/)
    expect(lines[3]).toMatch(/^remote-player-1\s+whep\s+12D3KooWpeer\s+cam\s+connected/)
    expect(lines[4]).toMatch(/^publisher-00001\s+whip\s+-\s+phone,phone\.audio\s+connecting\s+-\s/)
  })

  it('aligns key: value lines and puts list items on lines of their own', () => {
    expect(formatFields([['peer id', 'P'], ['addresses', ['/a', '/b']], ['web', 'off'], ['none', []]])).toBe(
      'peer id:   P\n' +
      'addresses: /a\n' +
      '           /b\n' +
      'web:       off\n' +
      'none:      (none)\n'
    )
  })

  it('says how long ago and how long', () => {
    const now = Date.parse('2025-01-01T12:00:00Z')
    expect(formatAgo('2025-01-01T11:59:57Z', now)).toBe('3s ago')
    expect(formatAgo('2025-01-01T11:58:00Z', now)).toBe('2m ago')
    expect(formatAgo('2025-01-01T09:00:00Z', now)).toBe('3h ago')
    expect(formatAgo('2024-12-30T12:00:00Z', now)).toBe('2d ago')
    expect(formatAgo('2025-01-01T12:00:05Z', now)).toBe('0s ago')
    expect(formatAgo('garbage', now)).toBe('garbage')
    expect(formatDuration(42.7)).toBe('42s')
    expect(formatDuration(192)).toBe('3m 12s')
    expect(formatDuration(7500)).toBe('2h 5m')
    expect(formatDuration(90_000)).toBe('1d 1h')
  })

  it('prints byte counts in powers of 1024 with about three digits', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(1024)).toBe('1.0 KiB')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(99.9 * 1024)).toBe('99.9 KiB')
    expect(formatBytes(99.96 * 1024)).toBe('100 KiB')
    expect(formatBytes(340 * 1024 ** 3)).toBe('340 GiB')
    // Never `1024 KiB`: rounding carries into the next unit.
    expect(formatBytes(1024 * 1024 - 1)).toBe('1.0 MiB')
    expect(formatBytes(1023.4 * 1024)).toBe('1023 KiB')
    expect(formatBytes(2 * 1024 ** 5)).toBe('2.0 PiB')
    expect(formatBytes(5000 * 1024 ** 5)).toBe('5000 PiB')
    expect(formatBytes(-5)).toBe('0 B')
  })

  it('prints candidate pairs, RTT and channel messages on one line each', () => {
    const pair = {
      local: { type: 'host', address: '::1', port: 5000, transport: 'UDP' },
      remote: { type: 'srflx', address: '203.0.113.7', port: 6000, transport: 'UDP' }
    }
    expect(formatPair(pair)).toBe('host [::1]:5000 → srflx 203.0.113.7:6000')
    expect(formatPair(null)).toBe('-')
    expect(formatRtt(null)).toBe('-')
    expect(formatRtt(0.04)).toBe('0.0 ms')
    expect(formatRtt(9.94)).toBe('9.9 ms')
    expect(formatRtt(23.6)).toBe('24 ms')
    expect(formatMessage({ peer: 'P', channel: 'c', text: 'a\tb\r\nc\u0007\u007f' }, 'robot')).toBe('P robot: a\tb\\r\\nc\\u0007\\u007f\n')
    expect(formatMessage({ peer: 'P', channel: 'c', text: '' })).toBe('P: \n')
    expect(formatMessage({ peer: 'P', channel: 'c', base64: '' })).toBe('P: <0 bytes base64 >\n')
  })
})

describe('edgectl sources', () => {
  it('shows the format a running video source is fed now (a slow link steps it down), "-" for audio or a stopped one', () => {
    const base = { codec: 'h264', encoder: 'x264enc', hardware: false, alwaysOn: false, published: false, running: true, users: 1, error: null }
    const out = formatSources({
      local: [
        { ...base, name: 'cam', kind: 'video', stats: { format: { width: 480, height: 360, fps: 15 } } },
        { ...base, name: 'usb', kind: 'video', stats: { format: { width: null, height: null, fps: 30 } } },
        { ...base, name: 'mic', kind: 'audio', codec: 'opus', stats: { format: null } },
        { ...base, name: 'off', kind: 'video', running: false, users: 0, stats: null }
      ],
      encoders: [],
      remote: [],
      viewers: [],
      producers: []
    } as any)
    const rows = out.split('\n')
    expect(rows[0]).toMatch(/RUNNING +FORMAT +VIEWERS/)
    expect(rows[1]).toMatch(/^cam .* 480x360@15 +1/)
    expect(rows[2]).toMatch(/^usb .* \?x\?@30 +1/)
    expect(rows[3]).toMatch(/^mic .* - +1/)
    expect(rows[4]).toMatch(/^off .* no +- +0/)
  })
})

describe('edgectl sources set --bitrate', () => {
  it('reads 800k, 1.5M, 64000b and plain kbit/s; refuses anything else', () => {
    expect(['800k', '800', '1.5M', '2m', '64000b', ' 300K '].map(parseBitrate)).toEqual([800, 800, 1500, 2000, 64, 300])
    for (const bad of ['', 'fast', '-5k', '0', '1.5G', '800 kbit/s', '0.4b']) expect(() => parseBitrate(bad), bad).toThrow(expect.objectContaining({ code: 'commander.invalidArgument' }))
  })
})
