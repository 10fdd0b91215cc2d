import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import { promisify } from 'node:util'
import { parse, stringify } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EDGECTL, startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { unixRequest } from '../helpers/unix-http.ts'

const run = promisify(execFile)
const rtc = { bindAddress: '127.0.0.1' }

async function sessionState (d: EdgedProcess, peer: string): Promise<string> {
  const s = (await unixRequest(d.socket, 'GET', '/v1/sessions')).body.sessions.find((x: any) => x.peer === peer)
  return s?.state ?? 'none'
}

async function editConfig (d: EdgedProcess, edit: (config: Record<string, any>) => void): Promise<void> {
  const config = parse(await fs.readFile(d.configFile, 'utf8'))
  edit(config)
  await fs.writeFile(d.configFile, stringify(config))
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

describe('config reload', () => {
  let a: EdgedProcess, b: EdgedProcess, c: EdgedProcess

  beforeAll(async () => {
    ;[b, c] = await Promise.all([startEdged({ name: 'bravo', config: { rtc } }), startEdged({ name: 'charlie', config: { rtc } })])
    const addr = async (d: EdgedProcess): Promise<string> => (await unixRequest(d.socket, 'GET', '/v1/status')).body.addresses[0]
    a = await startEdged({
      name: 'alpha',
      config: { rtc, swarm: { allow: [b.peerId], bootstrap: [await addr(b), await addr(c)] } }
    })
  }, 60_000)
  afterAll(async () => { await Promise.all([a, b, c].map(async d => { await d?.cleanup() })) })

  it('SIGHUP applies swarm.allow live: an added peer connects, a removed one is cut off', async () => {
    await waitFor('alpha–bravo connected', async () => await sessionState(a, b.peerId) === 'connected', 20_000)
    // Charlie is refused while it is not on alpha's list (it keeps trying: alpha is its bootstrap peer).
    await sleep(2_000)
    expect(await sessionState(a, c.peerId)).toBe('none')
    expect(await sessionState(c, a.peerId)).not.toBe('connected')
    expect((await unixRequest(a.socket, 'GET', '/v1/peers')).body.peers.map((p: any) => p.peerId)).toEqual([b.peerId])

    await editConfig(a, config => { config.swarm.allow = [b.peerId, c.peerId] })
    a.proc.kill('SIGHUP')
    await waitFor('alpha–charlie connected', async () =>
      await sessionState(a, c.peerId) === 'connected' && await sessionState(c, a.peerId) === 'connected', 20_000)
    expect(await sessionState(a, b.peerId)).toBe('connected')

    await editConfig(a, config => { config.swarm.allow = [c.peerId] })
    a.proc.kill('SIGHUP')
    await waitFor('alpha–bravo closed on both ends', async () =>
      await sessionState(a, b.peerId) === 'none' && await sessionState(b, a.peerId) !== 'connected', 20_000)
    expect((await unixRequest(a.socket, 'GET', '/v1/peers')).body.peers.map((p: any) => p.peerId)).toEqual([c.peerId])
    // Bravo keeps trying (alpha is still in its swarm), and stays refused.
    await sleep(2_000)
    expect(await sessionState(a, b.peerId)).toBe('none')
    expect(await sessionState(a, c.peerId)).toBe('connected')
    expect(a.output()).toContain('"applied":["swarm.allow"]')
  }, 90_000)

  it('a bad config is refused (SIGHUP: logged; POST /v1/reload: 400 ConfigError) and the running one stays', async () => {
    const good = await fs.readFile(a.configFile, 'utf8')
    await editConfig(a, config => { config.swarm.allow = ['not-a-peer-id'] })
    a.proc.kill('SIGHUP')
    await waitFor('the refusal in the log', () => a.output().includes('reload refused: the running config stays'))
    expect(a.output()).toContain('swarm.allow.0')

    const res = await unixRequest(a.socket, 'POST', '/v1/reload')
    expect(res.status).toBe(400)
    expect(res.body.error.name).toBe('ConfigError')
    expect(res.body.error.message).toContain('swarm.allow.0')
    const cli = await run(EDGECTL, ['--socket', a.socket, 'reload']).then(() => undefined, (e: { code: number, stderr: string }) => e)
    expect(cli?.code).toBe(1)
    expect(cli?.stderr).toMatch(/^error: ConfigError: invalid config .*edged\.yaml/)

    // Still running on the old list: charlie connected, bravo refused.
    expect(a.proc.exitCode).toBeNull()
    expect(await sessionState(a, c.peerId)).toBe('connected')
    expect(await sessionState(a, b.peerId)).toBe('none')
    await fs.writeFile(a.configFile, good)
  })

  it('edgectl reload applies live keys and names those that need a restart', async () => {
    await editConfig(a, config => {
      config.swarm.listen = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0']
      config.log.level = 'debug'
      config.rtc.channels = { control: { ordered: true }, telemetry: { ordered: false, maxRetransmits: 0 } }
      config.media = { sources: { extra: { kind: 'audio', pipeline: 'audiotestsrc is-live=true' } } }
    })
    const json = JSON.parse((await run(EDGECTL, ['--socket', a.socket, 'reload', '--json'])).stdout)
    expect(json).toEqual({
      config: a.configFile,
      applied: ['log.level', 'media.sources', 'rtc.channels'],
      restartNeeded: ['swarm.listen']
    })
    // Applied: the new source list, and debug lines.
    const sources = (await unixRequest(a.socket, 'GET', '/v1/sources')).body.local.map((s: any) => s.name)
    expect(sources).toEqual(['extra'])
    await waitFor('a debug line', () => a.output().split('\n').some(l => l.includes('"level":"debug"')))
    // Not applied: still one listen address.
    const addresses: string[] = (await unixRequest(a.socket, 'GET', '/v1/status')).body.addresses
    expect(addresses.filter(x => !x.includes('/p2p-circuit'))).toHaveLength(1)

    // Reloading again reports the pending restart again, and nothing new applied.
    const text = (await run(EDGECTL, ['--socket', a.socket, 'reload'])).stdout
    expect(text).toBe(`reloaded ${a.configFile}\napplied: nothing changed that applies live\nrestart needed for: swarm.listen\n`)
  })
})
