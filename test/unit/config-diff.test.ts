import { describe, expect, it } from 'vitest'
import { applyLiveKeys, changedKeys, diffConfig } from '../../src/daemon/config-diff.ts'
import { parseConfig } from '../../src/daemon/config-load.ts'

const PEER = '12D3KooWGYXF4GDABqyARYmFsah7wbVyn94feWFnqKQtYsa2thrS'

describe('config diff (reload)', () => {
  const base = parseConfig({ swarm: { name: 'one' } }, 'a.yaml')

  it('finds no change in the same config read from another file', () => {
    expect(changedKeys(base, parseConfig({ swarm: { name: 'one' } }, 'b.yaml'))).toEqual([])
  })

  it('splits changed keys into live ones and those that need a restart', () => {
    const next = parseConfig({
      swarm: { name: 'two', allow: [PEER] },
      log: { level: 'debug', levels: { media: 'trace' } },
      media: { sources: {} },
      rtc: { channels: { cmd: { ordered: false, maxRetransmits: 0 } } },
      web: { listen: '127.0.0.1:0' },
      stateDir: '/elsewhere'
    })
    expect(diffConfig(base, next)).toEqual({
      applied: ['log.level', 'log.levels', 'media.sources', 'rtc.channels', 'swarm.allow'],
      restartNeeded: ['stateDir', 'swarm.name', 'web.listen']
    })
  })

  it('takes only the live keys into the running config', () => {
    const next = parseConfig({ swarm: { name: 'two', allow: [PEER] } })
    const running = applyLiveKeys(base, next, diffConfig(base, next).applied)
    expect(running.swarm.allow).toEqual([PEER])
    expect(running.swarm.name).toBe('one')
    expect(running.source).toBe('a.yaml')
    expect(base.swarm.allow).toEqual([]) // the old config object is left alone
    expect(diffConfig(running, next)).toEqual({ applied: [], restartNeeded: ['swarm.name'] })
  })
})
