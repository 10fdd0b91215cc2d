import type { WebSocket } from 'ws'
import { openChannelSocket } from './lib/channel-socket.ts'
import { isReady, sessionWith, startEdged, type EdgedDaemon } from './lib/edged.ts'
import { sleep } from './lib/sleep.ts'
import { median, round } from './lib/stats.ts'
import { unixJson } from './lib/unix-json.ts'
import type { BenchContext, Benchmark, Figure } from './lib/types.ts'
import { netnsUnavailable, sh } from './lib/netns.ts'

// How long a session takes to carry messages again after a partition heals,
// and to deliver everything a program sent during it (in order, once: the run
// fails otherwise), beside a brand-new session made by hand (disconnect,
// connect) in the same run. Two robots in network namespaces of this
// benchmark, joined by a veth; the partition is iptables dropping everything
// that arrives over the link.

const DEFAULT_RUNS = 10
const PARTITION_MS = 3_000
const SEND_EVERY_MS = 20
const TRY_TIMEOUT_MS = 30_000
const ADDR = ['10.96.0.1', '10.96.0.2'] as const


/** Resolves with the time of the first message that arrives on `ws` after now. */
function nextArrival (ws: WebSocket, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.off('message', on); reject(new Error(`no message in ${timeoutMs} ms`)) }, timeoutMs)
    const on = (): void => { clearTimeout(timer); ws.off('message', on); resolve(performance.now()) }
    ws.on('message', on)
  })
}

/** Both ends connected, with the control channel open. */
async function ready (a: EdgedDaemon, b: EdgedDaemon): Promise<void> {
  const deadline = performance.now() + TRY_TIMEOUT_MS
  while (!isReady(await sessionWith(a, b.peerId), 'control') || !isReady(await sessionWith(b, a.peerId), 'control')) {
    if (performance.now() > deadline) throw new Error(`no session between ${a.name} and ${b.name} with its control channel open`)
    await sleep(20)
  }
}

export const benchmark: Benchmark = {
  name: 'partition reconnect',
  description: 'messages flow again after a healed 3 s partition, beside a new session made by hand',
  async run (ctx: BenchContext) {
    const skip = netnsUnavailable()
    if (skip !== undefined) {
      ctx.log(`partition reconnect: skipped, ${skip}`)
      return []
    }
    const runs = ctx.runs ?? DEFAULT_RUNS
    const ns = [`ebr${process.pid % 100000}-a`, `ebr${process.pid % 100000}-b`]
    const drop = (op: '-I' | '-D'): void => { for (const n of ns) sh(['ip', 'netns', 'exec', n, 'iptables', '-w', op, 'INPUT', '-i', 'eth0', '-j', 'DROP']) }
    let partitioned = false
    try {
      for (const n of ns) { try { sh(['ip', 'netns', 'del', n]) } catch {} ; sh(['ip', 'netns', 'add', n]); sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']) }
      sh(['ip', '-n', ns[0], 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns[1]])
      for (const [i, n] of ns.entries()) {
        sh(['ip', '-n', n, 'addr', 'add', `${ADDR[i]}/24`, 'dev', 'eth0'])
        sh(['ip', '-n', n, 'link', 'set', 'eth0', 'up'])
      }
      const listen = ['/ip4/0.0.0.0/tcp/0']
      const a = await startEdged(ctx, { name: 'robot-a', netns: ns[0], swarm: { listen } })
      const port = a.addresses.map(x => /\/ip4\/10\.96\.0\.1\/tcp\/(\d+)/.exec(x)?.[1]).find(Boolean)
      const b = await startEdged(ctx, { name: 'robot-b', netns: ns[1], swarm: { listen, bootstrap: [`/ip4/${ADDR[0]}/tcp/${port as string}/p2p/${a.peerId}`] } })
      await ready(a, b)

      const heal: number[] = []
      const caughtUp: number[] = []
      const fresh: number[] = []
      for (let i = 0; i < runs; i++) {
        // After a partition: the same session (or the next one, which resumes), delivering what queued up.
        {
          await ready(a, b)
          const send = await openChannelSocket(a.socket, b.peerId, 'control')
          const recv = await openChannelSocket(b.socket, a.peerId, 'control')
          const got: number[] = []
          recv.on('message', (data: Buffer) => { got.push(Number(data.toString())) })
          let sent = 0
          const sender = setInterval(() => { send.send(String(sent++)) }, SEND_EVERY_MS)
          try {
            await nextArrival(recv, 5_000).catch(async (err: Error) => {
              throw new Error(`${err.message} before the partition; A: ${JSON.stringify(await sessionWith(a, b.peerId))} B: ${JSON.stringify(await sessionWith(b, a.peerId))}`)
            })
            drop('-I'); partitioned = true
            await sleep(PARTITION_MS)
            drop('-D'); partitioned = false
            const healedAt = performance.now()
            const sentBeforeHeal = sent
            heal.push(round(await nextArrival(recv, TRY_TIMEOUT_MS).catch(async (err: Error) => {
              throw new Error(`${err.message} after the heal; A: ${JSON.stringify(await sessionWith(a, b.peerId))} B: ${JSON.stringify(await sessionWith(b, a.peerId))}\nA log: ${a.child.output().slice(-1500)}\nB log: ${b.child.output().slice(-1500)}`)
            }) - healedAt))
            // Everything sent before the heal, in order, once.
            const deadline = healedAt + TRY_TIMEOUT_MS
            while (got.length < sentBeforeHeal && performance.now() < deadline) await sleep(10)
            caughtUp.push(round(performance.now() - healedAt))
            clearInterval(sender)
            await sleep(500)
            const wrong = got.findIndex((n, k) => n !== k)
            if (got.length < sentBeforeHeal || wrong >= 0 || got.length > sent) {
              throw new Error(`the channel lost, reordered or repeated messages across the partition: ${got.length} of ${sent} arrived${wrong >= 0 ? `, #${wrong} was ${got[wrong]}` : ''}`)
            }
          } finally {
            clearInterval(sender)
            send.close(); recv.close()
          }
        }
        // Baseline: a brand-new PeerConnection (disconnect, connect) to the first message.
        {
          await unixJson(a.socket, 'DELETE', `/v1/sessions/${b.peerId}`)
          await sleep(300)
          const t0 = performance.now()
          await unixJson(a.socket, 'POST', '/v1/sessions', { peer: b.peerId })
          // A channel socket needs a connected session (it is refused with 4404 before).
          await ready(a, b)
          const send = await openChannelSocket(a.socket, b.peerId, 'control')
          const recv = await openChannelSocket(b.socket, a.peerId, 'control')
          const sender = setInterval(() => { send.send('tick') }, SEND_EVERY_MS)
          try {
            fresh.push(round(await nextArrival(recv, TRY_TIMEOUT_MS).catch(async (err: Error) => {
              throw new Error(`${err.message} on a new session; A: ${JSON.stringify(await sessionWith(a, b.peerId))} B: ${JSON.stringify(await sessionWith(b, a.peerId))}`)
            }) - t0))
          } finally {
            clearInterval(sender)
            send.close(); recv.close()
          }
        }
        ctx.log(`partition reconnect ${i + 1}/${runs}: after the heal first message ${heal.at(-1) ?? '-'} ms, all sent during the partition ${caughtUp.at(-1) ?? '-'} ms; new session ${fresh.at(-1) ?? '-'} ms`)
      }
      // Both figures beside the same baseline: a new session made by hand.
      const beside = (name: string, samples: number[]): Figure => ({
        name,
        value: round(median(samples)),
        unit: 'ms',
        baseline: 'a new session by hand (disconnect, connect) to its first message',
        baselineValue: round(median(fresh)),
        samples,
        baselineSamples: fresh
      })
      return [
        beside(`messages again after a healed ${PARTITION_MS / 1000} s partition, median of ${runs}`, heal),
        beside(`everything sent during a healed ${PARTITION_MS / 1000} s partition delivered, median of ${runs}`, caughtUp)
      ]
    } finally {
      if (partitioned) { try { drop('-D') } catch {} }
      for (const n of ns) { try { sh(['ip', 'netns', 'del', n]) } catch {} }
    }
  }
}
