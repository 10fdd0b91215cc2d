import { describe, expect, it } from 'vitest'
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
})
