import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readSwarmKey } from '../../src/signalling/swarm-key.ts'
import { EDGECTL, startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'
import { unixRequest } from '../helpers/unix-http.ts'

const run = promisify(execFile)

async function edgectl (args: string[], cwd: string): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run(EDGECTL, args, { cwd })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

async function peerIds (d: EdgedProcess): Promise<string[]> {
  return (await unixRequest(d.socket, 'GET', '/v1/peers')).body.peers.map((p: { peerId: string }) => p.peerId)
}

describe('edgectl keygen', () => {
  let temp: { dir: string, cleanup: () => Promise<void> }
  beforeAll(async () => { temp = await makeTempDir('keygen-') })
  afterAll(async () => { await temp?.cleanup() })

  it('writes a swarm key (mode 0600) that edged reads, default swarm.key in the working directory', async () => {
    const out = await edgectl(['keygen'], temp.dir)
    const file = path.join(temp.dir, 'swarm.key')
    expect(out).toMatchObject({ code: 0, stderr: '' })
    expect(out.stdout).toContain(file)
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600)
    expect((await readSwarmKey(file)).byteLength).toBeGreaterThan(64)
  })

  it('refuses to overwrite without --force (exit 1, FileExistsError), replaces with it', async () => {
    const file = path.join(temp.dir, 'k2.key')
    expect((await edgectl(['keygen', file, '--json'], temp.dir)).stdout).toBe(JSON.stringify({ file, mode: '0600' }, null, 2) + '\n')
    const before = await fs.readFile(file, 'utf8')
    const refused = await edgectl(['keygen', file], temp.dir)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^error: FileExistsError: /)
    expect(await fs.readFile(file, 'utf8')).toBe(before)
    await fs.chmod(file, 0o644)
    expect((await edgectl(['keygen', file, '--force'], temp.dir)).code).toBe(0)
    const after = await fs.readFile(file, 'utf8')
    expect(after).not.toBe(before)
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600)
    expect((await fs.readdir(temp.dir)).filter(f => f.endsWith('.tmp'))).toEqual([])
  })

  it('keys differ from run to run', async () => {
    await edgectl(['keygen', 'a.key'], temp.dir)
    await edgectl(['keygen', 'b.key'], temp.dir)
    expect(await fs.readFile(path.join(temp.dir, 'a.key'), 'utf8')).not.toBe(await fs.readFile(path.join(temp.dir, 'b.key'), 'utf8'))
  })
})

describe('private swarm (swarm.key): only daemons with the same key connect', () => {
  let temp: { dir: string, cleanup: () => Promise<void> }
  const daemons: EdgedProcess[] = []
  let keyed: EdgedProcess
  let bootstrap: string[]

  beforeAll(async () => {
    temp = await makeTempDir('pnet-')
    await edgectl(['keygen', 'swarm.key'], temp.dir)
    await edgectl(['keygen', 'other.key'], temp.dir)
    keyed = await startEdged({ name: 'keyed', config: { swarm: { key: path.join(temp.dir, 'swarm.key') } } })
    daemons.push(keyed)
    bootstrap = [(await unixRequest(keyed.socket, 'GET', '/v1/status')).body.addresses[0]]
  })
  afterAll(async () => {
    await Promise.all(daemons.map(async d => { await d.cleanup() }))
    await temp?.cleanup()
  })

  it('one with the same key joins; one without a key and one with another key never do', async () => {
    const [same, none, other] = await Promise.all([
      startEdged({ name: 'same-key', config: { swarm: { bootstrap, key: path.join(temp.dir, 'swarm.key') } } }),
      startEdged({ name: 'no-key', config: { swarm: { bootstrap } } }),
      startEdged({ name: 'other-key', config: { swarm: { bootstrap, key: path.join(temp.dir, 'other.key') } } })
    ])
    daemons.push(same, none, other)
    await waitFor('the same-key daemon in the keyed one\'s peers', async () => (await peerIds(keyed)).includes(same.peerId), 15_000)
    await waitFor('and the other way', async () => (await peerIds(same)).includes(keyed.peerId), 15_000)
    // Give the others ample time (dozens of announce intervals and bootstrap re-dials).
    await new Promise(resolve => setTimeout(resolve, 6_000))
    expect(await peerIds(keyed)).toEqual([same.peerId])
    expect(await peerIds(none)).toEqual([])
    expect(await peerIds(other)).toEqual([])
    const sessions = (await unixRequest(keyed.socket, 'GET', '/v1/sessions')).body.sessions.map((s: { peer: string }) => s.peer)
    expect(sessions).not.toContain(none.peerId)
    expect(sessions).not.toContain(other.peerId)
  }, 60_000)
})
