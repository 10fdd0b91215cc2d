import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EDGED, startEdged, type EdgedProcess } from '../helpers/edged-process.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'
import { unixRequest } from '../helpers/unix-http.ts'

const running: EdgedProcess[] = []
const temps: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(async d => { await d.cleanup() }))
  await Promise.all(temps.splice(0).map(async c => { await c() }))
})

async function start (name: string, opts: Parameters<typeof startEdged>[0] extends infer O ? Partial<O> : never = {}): Promise<EdgedProcess> {
  const d = await startEdged({ name, ...opts })
  running.push(d)
  return d
}

describe('edged process', () => {
  it('exits 2 on a bad config, naming the file and the key, and starts nothing', async () => {
    const { dir, cleanup } = await makeTempDir()
    temps.push(cleanup)
    const file = path.join(dir, 'bad.yaml')
    fs.writeFileSync(file, `control:\n  socket: ${dir}/s.sock\nswarm:\n  mdns: maybe\n`)
    const res = spawnSync(EDGED, ['--config', file], { encoding: 'utf8', timeout: 20_000 })
    expect(res.status).toBe(2)
    expect(res.stderr).toContain(file)
    expect(res.stderr).toContain('swarm.mdns')
    expect(fs.existsSync(path.join(dir, 's.sock'))).toBe(false)

    const viaEnv = spawnSync(EDGED, [], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, EDGED_CONFIG: file } })
    expect(viaEnv.status).toBe(2)
    expect(viaEnv.stderr).toContain('swarm.mdns')
  })

  it('prints the effective config as YAML', () => {
    const res = spawnSync(EDGED, ['--print-config'], { encoding: 'utf8', timeout: 20_000 })
    expect(res.status).toBe(0)
    expect(res.stdout).toMatch(/^swarm:$/m)
    expect(res.stdout).toContain('videotestsrc')
    expect(res.stdout).toMatch(/stack: webrtc/)
  })

  it('keeps its identity across a restart, with the key file at mode 0600', async () => {
    const { dir, cleanup } = await makeTempDir()
    temps.push(cleanup)
    const first = await startEdged({ name: 'a', dir })
    const id = first.peerId
    expect(id).toMatch(/^12D3Koo/)
    expect(await first.stop()).toBe(0)
    const mode = fs.statSync(path.join(dir, 'state', 'identity.key')).mode & 0o777
    expect(mode).toBe(0o600)
    const second = await start('a', { dir })
    expect(second.peerId).toBe(id)
  })

  it('answers status with the contract fields and a 0660 socket', async () => {
    const d = await start('status')
    const res = await unixRequest(d.socket, 'GET', '/v1/status')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ peerId: d.peerId, swarm: 'test', stack: 'webrtc', name: 'status' })
    expect(typeof res.body.version).toBe('string')
    expect(res.body.addresses[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3Koo/)
    expect(fs.statSync(d.socket).mode & 0o777).toBe(0o660)
  })

  it('stops on SIGTERM and SIGINT with exit 0 and removes its socket', async () => {
    const signals = ['SIGTERM', 'SIGINT'] as const
    const started = await Promise.all(signals.map(async signal => await start(`sig-${signal}`)))
    for (const [i, signal] of signals.entries()) {
      const d = started[i]
      const t0 = Date.now()
      expect(await d.stop(signal)).toBe(0)
      expect(Date.now() - t0).toBeLessThan(5000)
      expect(fs.existsSync(d.socket)).toBe(false)
    }
  })

  it('refuses a second daemon on a socket where one answers, and replaces a stale one', async () => {
    const first = await start('one')
    const { dir, cleanup } = await makeTempDir()
    temps.push(cleanup)
    const file = path.join(dir, 'second.yaml')
    fs.writeFileSync(file, `stateDir: ${dir}/state\ncontrol:\n  socket: ${first.socket}\nswarm:\n  listen: [/ip4/127.0.0.1/tcp/0]\n  mdns: false\nweb:\n  enabled: false\n`)
    const res = spawnSync(EDGED, ['--config', file], { encoding: 'utf8', timeout: 20_000 })
    expect(res.status).toBe(1)
    expect(res.stderr).toMatch(/already answering on/)
    expect(res.stderr).not.toMatch(/\n\s+at /) // no stack trace
    expect((await unixRequest(first.socket, 'GET', '/v1/status')).status).toBe(200)

    // A socket file nobody listens on (a crashed daemon's) is replaced.
    const stale = path.join(dir, 'stale.sock')
    const holder = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`])
    await new Promise(resolve => holder.stdout.once('data', resolve))
    holder.kill('SIGKILL')
    await new Promise(resolve => holder.once('exit', resolve))
    expect(fs.existsSync(stale)).toBe(true)
    const d = await start('stale', { config: { control: { socket: stale } } })
    expect((await unixRequest(d.socket, 'GET', '/v1/status')).status).toBe(200)
  })
})
