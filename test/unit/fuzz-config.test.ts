import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/daemon/config-load.ts'

const RUNS = 2_000

/** A config, or a ConfigError naming the file and at least one key problem. */
function parsed (value: unknown): boolean {
  try {
    parseConfig(value, '/etc/fuzz.yaml')
    return true
  } catch (err) {
    const e = err as { name: string, file: string, problems: Array<{ key: string, message: string }> }
    expect(e.name).toBe('ConfigError')
    expect(e.file).toBe('/etc/fuzz.yaml')
    expect(e.problems.length).toBeGreaterThan(0)
    for (const p of e.problems) {
      expect(typeof p.key).toBe('string')
      expect(p.message.length).toBeGreaterThan(0)
    }
    return false
  }
}

const SECTIONS = {
  stateDir: fc.string(),
  control: fc.record({ socket: fc.string(), mode: fc.string(), group: fc.string() }, { requiredKeys: [] }),
  swarm: fc.record({
    name: fc.string(), listen: fc.array(fc.string()), bootstrap: fc.array(fc.string()), mdns: fc.boolean(), allow: fc.array(fc.string()),
    maxSessions: fc.integer(), key: fc.string(), announceIntervalMs: fc.integer(), peerExpiryMs: fc.integer()
  }, { requiredKeys: [] }),
  rtc: fc.record({
    stack: fc.constantFrom('webrtc', 'media', 'data', 'trusted', 'bogus'),
    iceServers: fc.array(fc.oneof(fc.string(), fc.record({ urls: fc.string(), secret: fc.string(), ttlSeconds: fc.integer(), username: fc.string() }, { requiredKeys: [] }))),
    portRange: fc.record({ min: fc.integer(), max: fc.integer() }),
    mtu: fc.integer(),
    channels: fc.dictionary(fc.string(), fc.record({ ordered: fc.boolean(), maxRetransmits: fc.integer(), maxPacketLifeTime: fc.integer() }, { requiredKeys: [] }))
  }, { requiredKeys: [] }),
  media: fc.record({ sources: fc.dictionary(fc.string(), fc.jsonValue()), encoders: fc.dictionary(fc.string(), fc.jsonValue()) }, { requiredKeys: [] }),
  web: fc.record({ enabled: fc.boolean(), listen: fc.string(), token: fc.string() }, { requiredKeys: [] }),
  log: fc.record({ level: fc.string(), levels: fc.dictionary(fc.string(), fc.string()) }, { requiredKeys: [] })
}

describe('parseConfig on hostile input (property-based)', () => {
  it('any JSON value: a config or a ConfigError', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), v => { parsed(v) }), { numRuns: RUNS })
  })

  it('config-shaped values with random leaves: a config or a ConfigError; accepted ones are complete', () => {
    fc.assert(fc.property(fc.record(SECTIONS, { requiredKeys: [] }), v => {
      if (parsed(v)) {
        const c = parseConfig(v, '/etc/fuzz.yaml')
        expect(c.swarm.listen.length).toBeGreaterThan(0)
        expect(typeof c.control.socket).toBe('string')
        expect(['webrtc', 'media', 'data', 'trusted']).toContain(c.rtc.stack)
      }
    }), { numRuns: RUNS })
  })

  it('an unknown key anywhere is named as such', () => {
    fc.assert(fc.property(fc.constantFrom('', 'control', 'swarm', 'rtc', 'media', 'web', 'metrics', 'log'), fc.stringMatching(/^zz[a-z]{1,8}$/), (section, key) => {
      const value = section === '' ? { [key]: 1 } : { [section]: { [key]: 1 } }
      try {
        parseConfig(value, 'f.yaml')
        expect.unreachable()
      } catch (err) {
        expect((err as { problems: Array<{ key: string }> }).problems.map(p => p.key)).toContain(section === '' ? key : `${section}.${key}`)
      }
    }), { numRuns: 200 })
  })

  it('prototype keys do not pollute', () => {
    parsed(JSON.parse('{"__proto__": {"polluted": true}, "swarm": {"__proto__": {"polluted": true}}}'))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
