import { describe, expect, it } from 'vitest'
import { AllowPolicy } from '../../src/signalling/allow-policy.ts'

describe('AllowPolicy: swarm.allow, bans and the trusted profile, in one object', () => {
  it('allows everyone while the list is empty, only the listed ones once it is not, and never a banned one', () => {
    const policy = new AllowPolicy([])
    expect(policy.allows('peer-a')).toBe(true)
    policy.ban('peer-a', 60_000)
    expect(policy.allows('peer-a')).toBe(false)
    policy.set(['peer-b'])
    expect(policy.allows('peer-b')).toBe(true)
    expect(policy.allows('peer-c')).toBe(false)
  })

  it('allows the trusted profile only with rtc.trusted and a peer listed by id (an empty list is not enough)', () => {
    expect(new AllowPolicy(['peer-a']).trustedRefusal('peer-a')).toMatch(/rtc\.trusted/)
    const policy = new AllowPolicy([], { trusted: true })
    expect(policy.trustedRefusal('peer-a')).toMatch(/not listed in swarm\.allow/)
    policy.set(['peer-a'])
    expect(policy.trustedRefusal('peer-a')).toBeUndefined()
  })

  it('a reload changes it in one place and tells its holders', () => {
    const policy = new AllowPolicy(['peer-a'])
    let told = 0
    policy.on('changed', () => { told++ })
    const gater = policy.gater()
    policy.set(['peer-b'])
    expect(told).toBe(1)
    // The gater made before the reload reads the new list.
    expect(gater.denyDialPeer?.({ toString: () => 'peer-a' } as never)).toBe(true)
    expect(gater.denyDialPeer?.({ toString: () => 'peer-b' } as never)).toBe(false)
  })
})
