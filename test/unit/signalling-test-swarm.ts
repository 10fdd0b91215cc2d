import { Writable } from 'node:stream'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { pino, type Logger } from 'pino'
import { createSwarm } from '../../src/signalling/swarm.ts'
import { presenceSyncProtocol } from '../../src/signalling/swarm-scope.ts'
import type { PresenceContent, PresenceRecord, Swarm, SwarmInit } from '../../src/signalling/types.ts'

/** Shared by the signalling unit tests: swarms on loopback with quick presence. */

export interface TestSwarmOptions {
  /** Node name in presence records. */
  name: string
  swarm?: Partial<SwarmInit['swarm']>
  privateKey?: PrivateKey
  presence?: () => PresenceContent
  logger?: Logger
}

export function testSwarmInit (swarm: Partial<SwarmInit['swarm']> = {}): SwarmInit['swarm'] {
  return {
    name: 'unit',
    listen: ['/ip4/127.0.0.1/tcp/0'],
    announce: [],
    bootstrap: [],
    mdns: false,
    dht: true,
    relay: false,
    allow: [],
    announceIntervalMs: 300,
    peerExpiryMs: 1500,
    overlayPeers: 6,
    ...swarm
  }
}

/** A logger that keeps its JSON lines in `lines` (level debug). */
export function capturingLogger (): { logger: Logger, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line))
      done()
    }
  })
  return { logger: pino({ level: 'debug' }, stream), lines }
}

/** Creates swarms and stops every one of them in `stopAll` (call it in afterEach). */
export class TestSwarms {
  readonly started: Swarm[] = []

  async start (opts: TestSwarmOptions): Promise<Swarm> {
    const swarm = createSwarm({
      swarm: testSwarmInit(opts.swarm),
      privateKey: opts.privateKey ?? await generateKeyPair('Ed25519'),
      presence: opts.presence ?? (() => ({ instance: `${opts.name}-1`, name: opts.name, version: '0.0.0-test', sources: [], stack: 'webrtc' })),
      logger: opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
    })
    this.started.push(swarm)
    await swarm.start()
    return swarm
  }

  async stopAll (): Promise<void> {
    await Promise.all(this.started.splice(0).map(async s => { await s.stop() }))
  }
}

/** Poll `check` until it is true; fails naming `what` after `timeoutMs`. */
export async function waitFor (what: string, check: () => boolean, timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now()
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  return Date.now() - t0
}

export function peerNames (swarm: Swarm): string[] {
  return swarm.peers().map(p => p.name).sort()
}

/** A presence record of swarm 'unit' by `key` (now, with a loopback address), with `over` on top. */
export function unitRecord (key: PrivateKey, over: Partial<PresenceRecord> = {}): PresenceRecord {
  const peerId = peerIdFromPrivateKey(key).toString()
  return {
    peerId, swarm: 'unit', instance: 'x-1', name: 'x', version: '1', sources: [], stack: 'webrtc',
    addresses: [`/ip4/127.0.0.1/tcp/9/p2p/${peerId}`], seq: Date.now(), ts: Date.now(), ...over
  }
}

/** Make `evil` answer every presence sync request with `frames`, whatever it was asked. */
export async function answerSyncWith (evil: Swarm, frames: Uint8Array[]): Promise<void> {
  const protocol = presenceSyncProtocol('unit')
  await evil.libp2p.unhandle(protocol)
  await evil.libp2p.handle(protocol, async (stream) => {
    const lp = lpStream(stream)
    await lp.read()
    for (const frame of frames) await lp.write(frame)
    await stream.close()
  })
}
