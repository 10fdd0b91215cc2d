import { describe, expect, it } from 'vitest'
import { holdsBackFromFull } from '../../src/core/sessions/full-peer.ts'

describe('offers to a peer whose presence says it is full', () => {
  const fresh = { explicit: false, lastError: null }

  it('auto-connect holds back from a full peer it never had a session with', () => {
    expect(holdsBackFromFull(fresh, true)).toBe(true)
    expect(holdsBackFromFull(fresh, false)).toBe(false)
  })

  it('the user asking for the peer (edgectl connect) always offers', () => {
    expect(holdsBackFromFull({ ...fresh, explicit: true }, true)).toBe(false)
  })

  it('a session that just ended is re-made: the full peer may still count it', () => {
    const ended = { explicit: false, connectedBefore: true, lastError: { code: 'connection-failed' } }
    expect(holdsBackFromFull(ended, true)).toBe(false)
    expect(holdsBackFromFull({ ...ended, lastError: null }, true)).toBe(false)
  })

  it('once that peer refused us as full, we wait for its presence to free a slot', () => {
    expect(holdsBackFromFull({ explicit: false, connectedBefore: true, lastError: { code: 'full' } }, true)).toBe(true)
  })
})
