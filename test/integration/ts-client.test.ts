import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
// By the package's own name, as a program that depends on edge-stack imports it (package.json "exports").
import { clientSocketPath, DaemonError, DaemonNotRunningError, EdgeClient } from 'edge-stack/client'
import { startEdgedPair } from '../helpers/edged-pair.ts'
import { ROOT, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { openChannelSocket } from '../helpers/channel-client.ts'

const run = promisify(execFile)
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node')
const TSC = path.join(ROOT, 'node_modules', '.bin', 'tsc')
const video = { kind: 'video', codec: 'h264', pipeline: 'videotestsrc is-live=true pattern=ball', width: 320, height: 240, fps: 30, bitrate: 500 }
const config = { rtc: { bindAddress: '127.0.0.1' }, media: { sources: { video } } }
const NOBODY = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'

/** The one ```language block of the README's "From your robot code" section. */
async function readmeExample (language: string): Promise<string> {
  const readme = await fs.readFile(path.join(ROOT, 'README.md'), 'utf8')
  const section = readme.split('\n## From your robot code\n')[1].split('\n## ')[0]
  const blocks = [...section.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map(m => m[1])
  expect(blocks).toHaveLength(1)
  return blocks[0]
}

describe('edge-stack/client against real daemons', () => {
  let a: EdgedProcess, b: EdgedProcess

  beforeAll(async () => {
    ;[a, b] = await startEdgedPair({ name: 'ts-alpha', config }, { name: 'ts-bravo', config })
    const onA = new EdgeClient({ socket: a.socket })
    await waitFor('A connected to B', async () =>
      (await onA.sessions()).sessions.some(s => s.peer === b.peerId && s.state === 'connected'), 30_000)
  })
  afterAll(async () => { await Promise.all([a, b].map(async d => { await d?.cleanup() })) })

  it('answers status, peers and sessions, and names the API errors', async () => {
    const edge = new EdgeClient({ socket: a.socket })
    expect((await edge.status()).peerId).toBe(a.peerId)
    expect((await edge.peers()).peers.map(p => p.peerId)).toContain(b.peerId)
    expect((await edge.session(b.peerId)).state).toBe('connected')
    const unknown = await edge.session(NOBODY).catch((err: unknown) => err)
    expect(unknown).toBeInstanceOf(DaemonError)
    expect((unknown as DaemonError).remoteName).toBe('NotFoundError')
    const gone = await new EdgeClient({ socket: path.join(a.dir, 'nothing.sock') }).status().catch((err: unknown) => err)
    expect((gone as Error).name).toBe('DaemonNotRunningError')
    expect(gone).toBeInstanceOf(DaemonNotRunningError)
    expect(clientSocketPath({ EDGED_SOCKET: a.socket })).toBe(a.socket)
    expect(new EdgeClient().socket).toBe(clientSocketPath())
  })

  it('carries channel messages both ways, text and binary, and names a refused channel', async () => {
    const onA = new EdgeClient({ socket: a.socket })
    const onB = new EdgeClient({ socket: b.socket })
    const atA = await onA.channel(b.peerId, 'ts-chat')
    const atB = await onB.channel(a.peerId, 'ts-chat')
    try {
      const N = 300
      const sends: Array<Promise<void>> = []
      for (let i = 0; i < N; i++) {
        sends.push(atA.send(`a→b ${i}`))
        sends.push(atB.send(`b→a ${i}`))
      }
      sends.push(atA.send(Uint8Array.from([0, 1, 255])))
      await Promise.all(sends)
      const gotAtB: unknown[] = []
      for (let i = 0; i <= N; i++) gotAtB.push(await atB.receive(20_000))
      const gotAtA: unknown[] = []
      for (let i = 0; i < N; i++) gotAtA.push(await atA.receive(20_000))
      expect(gotAtB.slice(0, N)).toEqual(Array.from({ length: N }, (_, i) => `a→b ${i}`))
      expect(gotAtB[N]).toEqual(Buffer.from([0, 1, 255]))
      expect(gotAtA).toEqual(Array.from({ length: N }, (_, i) => `b→a ${i}`))
    } finally {
      await atA.close()
      await atB.close()
    }
    // Iterating a closed channel just ends.
    const rest: unknown[] = []
    for await (const m of atA) rest.push(m)
    expect(rest).toEqual([])

    const refused = await onA.channel(NOBODY, 'ts-chat')
    const err = await refused.receive(10_000).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DaemonError)
    expect((err as DaemonError).remoteName).toBe('NotFoundError')
    expect((err as DaemonError).status).toBe(404)
    const bad = await (await onA.channel(b.peerId, '_reserved')).receive(10_000).catch((e: unknown) => e)
    expect((bad as DaemonError).remoteName).toBe('BadRequestError')
  })

  it('stalls a sender while the receiving program does not read, and loses nothing', async () => {
    const atB = await new EdgeClient({ socket: b.socket }).channel(a.peerId, 'ts-bulk')
    const atA = await new EdgeClient({ socket: a.socket }).channel(b.peerId, 'ts-bulk')
    const size = 16 * 1024
    const total = 2048 // 32 MiB: far more than the buffers on the way hold
    const message = (i: number): Buffer => Buffer.alloc(size, i % 251)
    let sent = 0
    const sender = (async () => { for (let i = 0; i < total; i++) { await atA.send(message(i)); sent++ } })()
    try {
      // B reads nothing: the sender must stall (no progress for 2 s) well before the end.
      let last = -1
      let still = Date.now()
      while (Date.now() - still < 2000) {
        await new Promise(resolve => setTimeout(resolve, 100))
        if (sent !== last) { last = sent; still = Date.now() }
        expect(sent, 'every message went out with nobody reading').toBeLessThan(total)
      }
      expect(sent * size).toBeLessThan(24 * 1024 * 1024)
      for (let i = 0; i < total; i++) {
        const got = await atB.receive(30_000)
        if (!message(i).equals(got as Buffer)) throw new Error(`message ${i} differs`)
      }
      await sender
    } finally {
      await atA.close()
      await atB.close()
      await sender.catch(() => {})
    }
  })

  it('runs the README\'s TypeScript example as it stands (and it type-checks)', async () => {
    // Inside the package, so 'edge-stack/client' resolves to this checkout (test-artifacts/ is not committed).
    await fs.mkdir(path.join(ROOT, 'test-artifacts'), { recursive: true })
    const dir = await fs.mkdtemp(path.join(ROOT, 'test-artifacts', 'readme-'))
    const file = path.join(dir, 'example.ts')
    let echo: WebSocket | undefined
    try {
      await fs.writeFile(file, await readmeExample('ts'))
      await run(TSC, ['--noEmit', '--strict', '--target', 'es2023', '--module', 'nodenext', '--moduleResolution', 'nodenext',
        '--allowImportingTsExtensions', '--skipLibCheck', '--types', 'node', file], { cwd: ROOT, timeout: 60_000 })
        .catch((err: { stdout?: string }) => { throw new Error(`the README example does not type-check:\n${err.stdout ?? String(err)}`) })
      // The peer's program: answers what it gets on chat.
      echo = await openChannelSocket(b.socket, a.peerId, 'chat')
      const got: string[] = []
      echo.on('message', (data: Buffer) => { got.push(data.toString()); echo?.send(`hello back to ${data.toString()}`) })
      const { stdout } = await run(NODE, [file], { cwd: ROOT, env: { ...process.env, EDGED_SOCKET: a.socket }, timeout: 45_000 })
      expect(got).toEqual(['hello from typescript'])
      expect(stdout).toContain('reply: hello back to hello from typescript\n')
      const frames = Number(/^frames: (\d+)$/m.exec(stdout)?.[1])
      expect(frames).toBeGreaterThan(0)
      // The example's watch ended with it.
      expect((await new EdgeClient({ socket: a.socket }).watches()).watches).toEqual([])
    } finally {
      echo?.close()
      await fs.rm(dir, { recursive: true, force: true })
    }
  })
})
