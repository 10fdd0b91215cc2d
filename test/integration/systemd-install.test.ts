import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { stringify } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, testConfig, waitFor } from '../helpers/edged-process.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'
import { unixRequest } from '../helpers/unix-http.ts'

// systemd/install.sh into a temporary DESTDIR, then what systemd itself can
// check of the result without running it (no systemd is PID 1 here):
// systemd-analyze verify and security. --copy-deps takes the checkout's
// node_modules (pruned to production) instead of `npm ci`: the same packages
// at the lock file's versions, in seconds and without the registry.
const INSTALL = path.join(ROOT, 'systemd', 'install.sh')
const UNIT = 'etc/systemd/system/edged.service'
const CONF = 'etc/edge-stack/edged.yaml'
const MAX_EXPOSURE = 3.0
const ANALYZE = spawnSync('systemd-analyze', ['--version']).status === 0
const SYSUSERS = spawnSync('systemd-sysusers', ['--version']).status === 0

let destdir = ''
let cleanup = async (): Promise<void> => {}
const at = (rel: string): string => path.join(destdir, rel)

function run (cmd: string, args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 50_000, env: { ...process.env, ...env } })
}
const install = (...args: string[]): SpawnSyncReturns<string> => run(INSTALL, args, { DESTDIR: destdir })

beforeAll(async () => {
  ({ dir: destdir, cleanup } = await makeTempDir('edge-destdir-'))
  const res = install('--copy-deps')
  if (res.status !== 0) throw new Error(`install.sh failed (${res.status}):\n${res.stdout}\n${res.stderr}`)
  // The base units a Debian system has, so verify can resolve edged's dependencies inside DESTDIR.
  fs.cpSync('/usr/lib/systemd/system', at('usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true })
}, 120_000) // copying 300 MB of node_modules on a busy two-core machine
afterAll(async () => { await cleanup() })

describe('systemd/install.sh into DESTDIR', () => {
  it('installs the app with production dependencies, the commands, the unit, the account and a config', () => {
    for (const f of ['bin/edged', 'bin/edgectl', 'src/daemon/main.ts', 'config/edged.example.yaml', 'systemd/install.sh', 'package-lock.json']) {
      expect(fs.existsSync(at(`opt/edge-stack/${f}`)), f).toBe(true)
    }
    expect(fs.existsSync(at('opt/edge-stack/node_modules/.bin/node'))).toBe(true)
    expect(fs.existsSync(at('opt/edge-stack/node_modules/libp2p'))).toBe(true)
    expect(fs.existsSync(at('opt/edge-stack/node_modules/vitest')), 'dev dependencies pruned').toBe(false)
    expect(fs.existsSync(at('opt/edge-stack/test'))).toBe(false)

    for (const cmd of ['edged', 'edgectl']) {
      const link = at(`usr/local/bin/${cmd}`)
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true)
      expect(fs.realpathSync(link)).toBe(fs.realpathSync(at(`opt/edge-stack/bin/${cmd}`)))
    }
    expect(fs.readFileSync(at(UNIT), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'systemd/edged.service'), 'utf8'))
    expect(fs.existsSync(at('etc/sysusers.d/edged.conf'))).toBe(true)

    const conf = fs.readFileSync(at(CONF), 'utf8')
    expect(conf).toMatch(/^\s+group: edged$/m)
    expect(conf).toMatch(/^\s+socket: \/run\/edged\/edged\.sock$/m)
    expect(fs.statSync(at(CONF)).mode & 0o777).toBe(0o640)
    const printed = run(at('usr/local/bin/edged'), ['--print-config', '--config', at(CONF)])
    expect(printed.status, printed.stderr).toBe(0)
    expect(printed.stdout).toContain('group: edged')
  })

  it('runs from /opt/edge-stack: installed edged answers installed edgectl', async () => {
    const { dir, cleanup: rm } = await makeTempDir('edge-installed-')
    const file = path.join(dir, 'edged.yaml')
    const config = testConfig(dir, 'installed')
    fs.writeFileSync(file, stringify(config))
    const proc = spawn(at('usr/local/bin/edged'), ['--config', file], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    proc.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    const exited = new Promise(resolve => proc.once('exit', resolve))
    try {
      await waitFor(`installed edged on ${config.control.socket} (${stderr})`, async () => (await unixRequest(config.control.socket, 'GET', '/v1/status')).status === 200, 20_000)
      const status = run(at('usr/local/bin/edgectl'), ['--socket', config.control.socket, 'status', '--json'])
      expect(status.status, status.stderr).toBe(0)
      expect(JSON.parse(status.stdout).peerId).toMatch(/^12D3Koo/)
    } finally {
      proc.kill('SIGTERM')
      await exited
      await rm()
    }
  })

  it.skipIf(!ANALYZE)(`passes systemd-analyze verify${ANALYZE ? '' : ' (skipped: no systemd-analyze)'}, which does catch a missing ExecStart`, () => {
    const ok = run('systemd-analyze', ['verify', `--root=${destdir}`, 'edged.service'])
    expect(ok.status, ok.stderr).toBe(0)
    expect(ok.stderr.trim()).toBe('')

    const broken = fs.readFileSync(at(UNIT), 'utf8').replace(/^ExecStart=\S+/m, 'ExecStart=/opt/edge-stack/bin/missing')
    fs.writeFileSync(at('etc/systemd/system/edged-broken.service'), broken)
    try {
      const bad = run('systemd-analyze', ['verify', `--root=${destdir}`, 'edged-broken.service'])
      expect(bad.status).not.toBe(0)
      expect(bad.stderr).toContain('/opt/edge-stack/bin/missing')
    } finally {
      fs.rmSync(at('etc/systemd/system/edged-broken.service'))
    }
  })

  it.skipIf(!ANALYZE)(`has an exposure of at most ${MAX_EXPOSURE} in systemd-analyze security${ANALYZE ? '' : ' (skipped: no systemd-analyze)'}`, () => {
    const res = run('systemd-analyze', ['security', '--offline=yes', `--root=${destdir}`, '--no-pager', 'edged.service'])
    expect(res.status, res.stderr).toBe(0)
    const level = /Overall exposure level for edged\.service: (\d+(?:\.\d+)?)/.exec(res.stdout)
    expect(level, res.stdout.slice(-500)).not.toBeNull()
    expect(Number(level![1])).toBeLessThanOrEqual(MAX_EXPOSURE)
    // V8's JIT needs writable+executable memory.
    expect(res.stdout).toMatch(/✗ MemoryDenyWriteExecute=/)
  })

  it.skipIf(!SYSUSERS)(`declares the edged account for systemd-sysusers${SYSUSERS ? '' : ' (skipped: no systemd-sysusers)'}`, () => {
    const res = run('systemd-sysusers', ['--dry-run', `--root=${destdir}`, at('etc/sysusers.d/edged.conf')])
    expect(res.status, res.stderr).toBe(0)
    expect(res.stdout + res.stderr).toMatch(/Creating user '?edged'?/)
  })

  it('keeps an edited config on reinstall, and config and state on uninstall', () => {
    const edited = fs.readFileSync(at(CONF), 'utf8').replace('name: default', 'name: warehouse')
    fs.writeFileSync(at(CONF), edited)
    fs.mkdirSync(at('var/lib/edged'), { recursive: true })
    fs.writeFileSync(at('var/lib/edged/identity.key'), 'key')

    const again = install('--copy-deps')
    expect(again.status, again.stderr).toBe(0)
    expect(again.stdout).toContain('kept the existing')
    expect(again.stdout).toContain('reusing the installed node_modules')
    expect(fs.readFileSync(at(CONF), 'utf8')).toBe(edited)
    expect(fs.readdirSync(at('opt')).sort()).toEqual(['edge-stack']) // no stage or old copy left

    const gone = install('--uninstall')
    expect(gone.status, gone.stderr).toBe(0)
    for (const f of ['opt/edge-stack', 'usr/local/bin/edged', 'usr/local/bin/edgectl', UNIT, 'etc/sysusers.d/edged.conf']) {
      expect(fs.existsSync(at(f)) || isLink(at(f)), `${f} removed`).toBe(false)
    }
    expect(fs.readFileSync(at(CONF), 'utf8')).toBe(edited)
    expect(fs.readFileSync(at('var/lib/edged/identity.key'), 'utf8')).toBe('key')
  })
})

function isLink (file: string): boolean {
  try { return fs.lstatSync(file).isSymbolicLink() } catch { return false }
}
