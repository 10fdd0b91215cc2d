/**
 * One PeerSession in its own process, for transport-two-process.test.ts.
 * argv[2] is the role. Signals and commands arrive as JSON lines on stdin;
 * signals and events leave as JSON lines on stdout. The process must exit by
 * itself once the session is closed: anything left open would keep it alive.
 */
import readline from 'node:readline'
import { createPeerSession } from '../../src/transport/peer-session.ts'
import type { Channel, SessionRole, SessionSignal } from '../../src/transport/types.ts'
import { testLogger } from './transport-helpers.ts'

const role = process.argv[2] as SessionRole
const started = performance.now()
const out = (message: object): void => { process.stdout.write(JSON.stringify(message) + '\n') }

const session = createPeerSession({
  remotePeer: role === 'offerer' ? 'answerer' : 'offerer',
  role,
  profile: 'data',
  bindAddress: '127.0.0.1',
  channels: { control: { ordered: true } },
  sendSignal: signal => { out({ signal }) },
  logger: testLogger
})
session.on('state', state => { out({ event: 'state', state }) })
session.on('channel', channel => {
  out({ event: 'channel', label: channel.label, ms: performance.now() - started })
  if (role === 'answerer') channel.on('message', data => { channel.send(data) }) // echo
})
session.on('close', () => {
  out({ event: 'closed' })
  input.close()
})

async function ping (channel: Channel, count: number): Promise<void> {
  let echoed = 0
  const done = new Promise<void>(resolve => {
    channel.on('message', () => { if (++echoed === count) resolve() })
  })
  for (let i = 0; i < count; i++) await channel.write(`ping ${i}`)
  await done
  out({ event: 'pinged', echoed, fingerprint: session.remoteFingerprint(), pair: session.stats().pair })
}

const input = readline.createInterface({ input: process.stdin })
input.on('line', line => {
  const message = JSON.parse(line) as { signal?: SessionSignal, cmd?: string, count?: number }
  try {
    if (message.signal !== undefined) session.handleSignal(message.signal)
    else if (message.cmd === 'ping') void ping(session.channel('control')!, message.count ?? 1)
    else if (message.cmd === 'close') session.close()
  } catch (err) {
    out({ event: 'error', name: (err as Error).name, message: (err as Error).message })
  }
})
input.on('close', () => { session.close() })
