import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import { loadConfigFile, parseConfig } from '../../src/daemon/config-load.ts'
import { configJsonSchema } from '../../src/daemon/config-json-schema.ts'
import { ConfigError } from '../../src/util/errors.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const EXAMPLE = path.join(ROOT, 'config', 'edged.example.yaml')

function problemsOf (fn: () => unknown): Array<{ key: string, message: string }> {
  try {
    fn()
  } catch (err) {
    expect((err as Error).name).toBe('ConfigError')
    return (err as ConfigError).problems
  }
  throw new Error('expected a ConfigError')
}

describe('config', () => {
  it('runs on built-in defaults', () => {
    expect(parseConfig({ foxglove: { enabled: true, listen: '0.0.0.0:8765' }, web: { token: 'a-token-of-sixteen-chars' } }).foxglove.listen).toBe('0.0.0.0:8765')
    const c = parseConfig({})
    expect(c.swarm.name).toBe('default')
    expect(c.swarm.mdns).toBe(true)
    expect(c.swarm.autoconnect).toBe(true)
    expect(c.rtc.stack).toBe('webrtc')
    expect(c.rtc.mtu).toBe(1200)
    expect(c.web.listen).toBe('127.0.0.1:8090')
    expect(c.foxglove).toEqual({ enabled: false, listen: '127.0.0.1:8765' })
    expect(Object.keys(c.media.sources).sort()).toEqual(['audio', 'video'])
    expect(c.media.sources.video.pipeline).toContain('videotestsrc')
    expect(c.control.socket).toMatch(/edged\.sock$/)
    expect(c.stateDir.length).toBeGreaterThan(0)
    expect(c.swarm.nodeName.length).toBeGreaterThan(0)
    expect(c.source).toBe('(defaults)')
  })

  it('accepts the full example file', () => {
    const c = loadConfigFile(EXAMPLE)
    expect(c.swarm.bootstrap).toHaveLength(1)
    expect(c.rtc.channels.telemetry).toEqual({ ordered: false, maxRetransmits: 0 })
    expect(c.media.sources.camera.pipeline).toBe('v4l2src device=/dev/video0')
    expect(c.rtc.iceServers).toHaveLength(3)
    expect(c.source).toBe(EXAMPLE)
  })

  it('documents every key of the schema in the example file', () => {
    const example = parseDocument(fs.readFileSync(EXAMPLE, 'utf8')).toJS() as Record<string, any>
    const missing: string[] = []
    const walk = (schema: any, value: any, at: string): void => {
      if (schema?.type !== 'object' || schema.properties === undefined) return
      for (const [key, sub] of Object.entries<any>(schema.properties)) {
        const where = at === '' ? key : `${at}.${key}`
        if (value === undefined || !(key in value)) { missing.push(where); continue }
        walk(sub, value[key], where)
      }
    }
    walk(configJsonSchema(), example, '')
    expect(missing).toEqual([])
  })

  it('keeps config/edged.schema.json generated from the schema', () => {
    const committed = JSON.parse(fs.readFileSync(path.join(ROOT, 'config', 'edged.schema.json'), 'utf8'))
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())))
  })

  it.each([
    ['an unknown key', { swarm: { bogus: 1 } }, 'swarm.bogus', /unknown key/],
    ['an unknown top-level key', { wat: true }, 'wat', /unknown key/],
    ['a wrong type', { swarm: { mdns: 'yes' } }, 'swarm.mdns', /boolean/],
    ['a bad stack profile', { rtc: { stack: 'quic' } }, 'rtc.stack', /webrtc/],
    ['a bad multiaddr', { swarm: { listen: ['127.0.0.1:4001'] } }, 'swarm.listen.0', /multiaddr/],
    ['a bad peer id in allow', { swarm: { allow: ['alice'] } }, 'swarm.allow.0', /peer id/],
    ['a port out of range', { web: { listen: '127.0.0.1:70000' } }, 'web.listen', /port/],
    ['a bad log level', { log: { level: 'loud' } }, 'log.level', /info/],
    ['both lossy options on a channel', { rtc: { channels: { t: { maxRetransmits: 0, maxPacketLifeTime: 10 } } } }, 'rtc.channels.t', /not both/],
    ['more retransmissions than a peer takes', { rtc: { channels: { t: { ordered: false, maxRetransmits: 65_536 } } } }, 'rtc.channels.t.maxRetransmits', /65535/],
    ['a packet lifetime longer than a peer takes', { rtc: { channels: { t: { ordered: false, maxPacketLifeTime: 70_000 } } } }, 'rtc.channels.t.maxPacketLifeTime', /65535/],
    ['a source without a pipeline', { media: { sources: { cam: { kind: 'video' } } } }, 'media.sources.cam.pipeline', /string/],
    ['a non-octal socket mode', { control: { mode: '999' } }, 'control.mode', /octal/],
    ['a Foxglove listener off loopback without web.token', { foxglove: { enabled: true, listen: '0.0.0.0:8765' } }, 'foxglove.listen', /web\.token/]
  ])('rejects %s, naming the key', (_what, value, key, message) => {
    const problems = problemsOf(() => parseConfig(value, 'bad.yaml'))
    const problem = problems.find(p => p.key === key)
    expect(problem, JSON.stringify(problems)).toBeDefined()
    expect(problem?.message).toMatch(message)
  })

  it('names the file in the error, and rejects YAML syntax errors and non-mappings', async () => {
    const { dir, cleanup } = await makeTempDir()
    try {
      const broken = path.join(dir, 'broken.yaml')
      fs.writeFileSync(broken, 'swarm:\n  name: [unclosed\n')
      expect(() => loadConfigFile(broken)).toThrow(/broken\.yaml/)
      const list = path.join(dir, 'list.yaml')
      fs.writeFileSync(list, '- a\n- b\n')
      expect(problemsOf(() => loadConfigFile(list))[0].message).toMatch(/mapping/)
      const dup = path.join(dir, 'dup.yaml')
      fs.writeFileSync(dup, 'swarm:\n  name: a\n  name: b\n')
      expect(problemsOf(() => loadConfigFile(dup))[0].message).toMatch(/YAML/)
      expect(problemsOf(() => loadConfigFile(path.join(dir, 'missing.yaml')))[0].message).toMatch(/ENOENT/)
      const bad = path.join(dir, 'bad.yaml')
      fs.writeFileSync(bad, 'rtc:\n  stack: nope\n')
      expect(() => loadConfigFile(bad)).toThrow(new RegExp(`${bad}[\\s\\S]*rtc\\.stack`))
    } finally {
      await cleanup()
    }
  })
})
