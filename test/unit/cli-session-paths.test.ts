import { describe, expect, it } from 'vitest'
import { formatPaths } from '../../src/cli/commands/sessions.ts'
import { sessionInfo } from './cli-fake-sessions.ts'

const pair = (local: string, remote: string): any => ({
  local: { type: 'host', address: local, port: 5000, transport: 'udp' },
  remote: { type: 'host', address: remote, port: 6000, transport: 'udp' }
})

describe('edgectl sessions: the paths of a session with a standby', () => {
  it('shows the active path and the standby, with their pairs, and the failovers', () => {
    const text = formatPaths([
      sessionInfo('peerA', { session: 'main1', state: 'connected', pair: pair('10.1.0.1', '10.1.0.2'), failovers: 2, standby: { session: 'spare1', state: 'connected', pair: pair('10.2.0.1', '10.2.0.2'), bindAddress: '10.2.0.1', alive: true } }),
      sessionInfo('peerB', { session: 'main2', state: 'connected' })
    ])
    const lines = text.trim().split('\n')
    expect(lines[0]).toMatch(/PEER\s+PATH\s+SESSION\s+STATE\s+PAIR\s+FAILOVERS/)
    expect(lines[1]).toMatch(/peerA\s+active\s+main1\s+connected\s+host 10\.1\.0\.1:5000 → host 10\.1\.0\.2:6000\s+2/)
    expect(lines[2]).toMatch(/peerA\s+standby\s+spare1\s+connected, alive\s+host 10\.2\.0\.1:5000/)
    expect(text).not.toContain('peerB')
  })

  it('adds nothing when no session keeps a standby', () => {
    expect(formatPaths([sessionInfo('peerB', { state: 'connected' })])).toBe('')
  })
})
