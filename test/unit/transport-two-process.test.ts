import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { fingerprintFromSdp } from '../../src/transport/fingerprint.ts'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node')
const CHILD = path.join(import.meta.dirname, 'transport-peer-child.ts')

interface Peer {
  child: ChildProcess
  messages: Array<Record<string, any>>
  send: (message: object) => void
  next: (match: (m: Record<string, any>) => boolean, timeoutMs?: number) => Promise<Record<string, any>>
  exited: Promise<number | null>
}

const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
})

/** `onSignal` gets every signal the peer sends, in order: the test is its signalling layer. */
function startPeer (role: 'offerer' | 'answerer', onSignal: (signal: object) => void): Peer {
  const child = spawn(NODE, [CHILD, role], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
  children.push(child)
  const messages: Array<Record<string, any>> = []
  const waiters: Array<() => void> = []
  readline.createInterface({ input: child.stdout! }).on('line', line => {
    const message = JSON.parse(line)
    messages.push(message)
    if (message.signal !== undefined) onSignal(message.signal)
    for (const wake of waiters.splice(0)) wake()
  })
  const exited = new Promise<number | null>(resolve => { child.on('exit', code => { resolve(code) }) })
  return {
    child,
    messages,
    exited,
    send: message => { child.stdin!.write(JSON.stringify(message) + '\n') },
    next: async (match, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = messages.find(match)
        if (found !== undefined) return found
        if (Date.now() > deadline) throw new Error(`${role}: nothing matching within ${timeoutMs} ms; got ${JSON.stringify(messages).slice(0, 500)}`)
        await new Promise<void>(resolve => {
          waiters.push(resolve)
          setTimeout(resolve, 50)
        })
      }
    }
  }
}

describe('PeerSession across two processes', () => {
  it('connects, echoes, verifies fingerprints and leaves nothing running after close', async () => {
    const peers: { offerer?: Peer, answerer?: Peer } = {}
    const offerer = startPeer('offerer', signal => { peers.answerer?.send({ signal }) })
    const answerer = startPeer('answerer', signal => { peers.offerer?.send({ signal }) })
    Object.assign(peers, { offerer, answerer })
    await Promise.all([offerer.next(m => m.event === 'channel'), answerer.next(m => m.event === 'channel')])
    offerer.send({ cmd: 'ping', count: 500 })
    const pinged = await offerer.next(m => m.event === 'pinged')
    expect(pinged.echoed).toBe(500)
    expect(pinged.pair.local.address).toBe('127.0.0.1')
    const answer = answerer.messages.find(m => m.signal?.type === 'answer')!.signal.sdp as string
    expect(pinged.fingerprint).toEqual(fingerprintFromSdp(answer))

    offerer.send({ cmd: 'close' })
    await Promise.all([offerer.next(m => m.event === 'closed'), answerer.next(m => m.event === 'closed')])
    // Both exit on their own: no timer, socket or native callback left behind.
    offerer.child.stdin!.end()
    answerer.child.stdin!.end()
    let timer: NodeJS.Timeout | undefined
    const codes = await Promise.race([
      Promise.all([offerer.exited, answerer.exited]),
      new Promise(resolve => { timer = setTimeout(() => { resolve('still running 10 s after close') }, 10_000) })
    ])
    clearTimeout(timer)
    expect(codes).toEqual([0, 0])
    expect([...offerer.messages, ...answerer.messages].filter(m => m.event === 'error')).toEqual([])
  }, 60_000)
})
