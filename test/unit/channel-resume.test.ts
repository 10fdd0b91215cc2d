import { pino } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { FLOW_PAUSE_BYTES } from '../../src/core/sessions/channel-endpoint.ts'
import { ChannelHub, EDGE_CHANNEL } from '../../src/core/sessions/channel-hub.ts'
import { FakeChannel, pairOf } from '../helpers/fake-channel.ts'

// Two daemons' channel hubs joined by fake channels, so that sessions can be
// cut (what is in flight is lost, as when an SCTP association dies) and
// replaced at will: a reliable ordered channel still delivers everything, in
// order, once.

const log = pino({ level: 'silent' })
const A = 'peer-a'
const B = 'peer-b'

interface FakeSession { id: string, a: Record<string, FakeChannel>, b: Record<string, FakeChannel> }

/** A session between the hubs with the `_edge` and `control` channels (attached in `order` on each side). */
function session (hubA: ChannelHub, hubB: ChannelHub, id: string, order: string[] = [EDGE_CHANNEL, 'control']): FakeSession {
  const s: FakeSession = { id, a: {}, b: {} }
  for (const label of order) {
    const [a, b] = pairOf(label)
    s.a[label] = a
    s.b[label] = b
  }
  for (const label of order) hubA.attach(B, s.a[label], id)
  for (const label of [...order].reverse()) hubB.attach(A, s.b[label], id)
  return s
}

function cut (s: FakeSession): void {
  for (const c of [...Object.values(s.a), ...Object.values(s.b)]) c.dropping = true
}

function end (s: FakeSession): void {
  for (const c of [...Object.values(s.a), ...Object.values(s.b)]) c.close()
}

async function until (check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => String(from + i))

describe('reliable channels across sessions (channel hub and endpoints)', () => {
  const hubs: ChannelHub[] = []
  afterEach(() => { for (const hub of hubs.splice(0)) hub.close() })

  function hubsWithConsumer (): { hubA: ChannelHub, hubB: ChannelHub, got: string[] } {
    const hubA = new ChannelHub(log)
    const hubB = new ChannelHub(log)
    hubs.push(hubA, hubB)
    const got: string[] = []
    hubB.endpoint(A, 'control').addConsumer({ deliver: data => { got.push(String(data)); return true }, backlog: () => 0, overflow: () => {} })
    return { hubA, hubB, got }
  }

  it('what a dead session lost in flight comes on the next one, in order, once', async () => {
    const { hubA, hubB, got } = hubsWithConsumer()
    const out = hubA.endpoint(B, 'control')
    const s1 = session(hubA, hubB, 's1')
    for (const m of range(0, 100)) await out.write(m)
    await until(() => got.length === 100)
    cut(s1)
    for (const m of range(100, 200)) await out.write(m)
    end(s1)
    // Written while there is no session: they wait for the next one.
    const waiting = Promise.all(range(200, 250).map(async m => { await out.write(m) }))
    // The next session; B's control channel opens late, after A's resume for it came on _edge.
    const [edgeA, edgeB] = pairOf(EDGE_CHANNEL)
    const [controlA, controlB] = pairOf('control')
    hubA.attach(B, controlA, 's2')
    hubA.attach(B, edgeA, 's2')
    hubB.attach(A, edgeB, 's2')
    await new Promise(resolve => setTimeout(resolve, 20))
    hubB.attach(A, controlB, 's2')
    await waiting
    await until(() => got.length >= 250)
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(got).toEqual(range(0, 250))
    await until(() => out.unacknowledged === 0)
  })

  it('make-before-break: the old session still brings messages after the new one took over; none twice', async () => {
    const { hubA, hubB, got } = hubsWithConsumer()
    const out = hubA.endpoint(B, 'control')
    const s1 = session(hubA, hubB, 's1')
    for (const m of range(0, 50)) await out.write(m)
    await until(() => got.length === 50)
    // A partition holds the old session's traffic; a new session comes up beside it.
    const held: string[] = []
    s1.a.control.send = (data) => { held.push(String(data)); return true }
    for (const m of range(50, 80)) await out.write(m)
    const s2 = session(hubA, hubB, 's2')
    // The old association delivers late, after the receiver moved to s2.
    for (const m of held) s1.b.control.emit('message', m)
    for (const m of range(80, 120)) await out.write(m)
    await until(() => got.length >= 120)
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(got).toEqual(range(0, 120))
    end(s1)
    end(s2)
  })

  it('acknowledgements let the sender forget; a restarted receiver gets what was not acknowledged', async () => {
    const { hubA, hubB, got } = hubsWithConsumer()
    const out = hubA.endpoint(B, 'control')
    const s1 = session(hubA, hubB, 's1')
    for (const m of range(0, 10)) await out.write(m)
    await until(() => got.length === 10)
    await until(() => out.unacknowledged === 0)
    cut(s1)
    for (const m of range(10, 20)) await out.write(m)
    end(s1)
    // The receiving daemon restarts: a new hub, which knows nothing of s1.
    const hubB2 = new ChannelHub(log)
    hubs.push(hubB2)
    const got2: string[] = []
    hubB2.endpoint(A, 'control').addConsumer({ deliver: data => { got2.push(String(data)); return true }, backlog: () => 0, overflow: () => {} })
    session(hubA, hubB2, 's2')
    await until(() => got2.length >= 10)
    expect(got2).toEqual(range(10, 20))
  })

  it('a session replaced at once, the receiver\'s resume for it lost: the next one\'s resume still says where to go on from', async () => {
    const { hubA, hubB, got } = hubsWithConsumer()
    const out = hubA.endpoint(B, 'control')
    const s1 = session(hubA, hubB, 's1')
    for (const m of range(0, 20)) await out.write(m)
    await until(() => got.length === 20)
    expect(out.unacknowledged).toBeGreaterThan(0)
    end(s1)
    // s2: both ends take its control channel, but B's _edge channel never opens (B's resume
    // for s2 is lost) and s3 replaces it at once.
    const [edgeA] = pairOf(EDGE_CHANNEL)
    const [controlA, controlB] = pairOf('control')
    hubA.attach(B, edgeA, 's2')
    hubA.attach(B, controlA, 's2')
    hubB.attach(A, controlB, 's2')
    await new Promise(resolve => setTimeout(resolve, 20))
    for (const c of [edgeA, controlA, controlB]) c.close()
    session(hubA, hubB, 's3')
    for (const m of range(20, 40)) await out.write(m)
    await until(() => got.length >= 40)
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(got).toEqual(range(0, 40))
  })

  /**
   * Glare in session s2: both ends open `control`. The offerer's channel wins
   * at both ends; the answerer's own was attached at its end (it opened before
   * the offerer's arrived) and is then closed: its far end never took it, so
   * what is sent on it is lost.
   */
  interface Glare {
    /** The answerer's own channel opens at its end (the offerer's end drops it). */
    loserOpens: () => void
    /** The answerer closes its own channel as the offerer's arrives; the winner opens there. */
    winnerAtAnswerer: () => void
    /** The offerer's channel opens at the offerer. */
    winnerAtOfferer: () => void
    /** The _edge channel opens at the answerer / the offerer. */
    edgeAtAnswerer: () => void
    edgeAtOfferer: () => void
  }

  function glare (answerer: ChannelHub, answererPeer: string, offerer: ChannelHub, offererPeer: string, id: string): Glare {
    const [edgeO, edgeA] = pairOf(EDGE_CHANNEL)
    const [winnerO, winnerA] = pairOf('control')
    const [loserA, loserO] = pairOf('control')
    // The offerer closes the answerer's channel as it arrives, unannounced.
    loserO.close()
    return {
      loserOpens: () => { answerer.attach(offererPeer, loserA, id) },
      winnerAtAnswerer: () => {
        loserA.refused = true
        loserA.close()
        answerer.attach(offererPeer, winnerA, id)
      },
      winnerAtOfferer: () => { offerer.attach(answererPeer, winnerO, id) },
      edgeAtAnswerer: () => { answerer.attach(offererPeer, edgeA, id) },
      edgeAtOfferer: () => { offerer.attach(answererPeer, edgeO, id) }
    }
  }

  const tick = async (ms = 20): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

  /** 20 messages on s1, the last ones not acknowledged when it ends; then the remade session `remake` and 20 more. */
  async function acrossGlare (remake: (hubA: ChannelHub, hubB: ChannelHub) => Promise<void>): Promise<string[]> {
    const { hubA, hubB, got } = hubsWithConsumer()
    const out = hubA.endpoint(B, 'control')
    const s1 = session(hubA, hubB, 's1')
    for (const m of range(0, 20)) await out.write(m)
    await until(() => got.length === 20)
    // Before B's acknowledgement (ACK_DELAY_MS) goes out: A still holds the last messages.
    expect(out.unacknowledged).toBeGreaterThan(0)
    end(s1)
    await remake(hubA, hubB)
    for (const m of range(20, 40)) await out.write(m)
    await until(() => got.length >= 40).catch(() => {})
    await tick(50)
    return got
  }

  it('glare, the sender is the answerer: the peer\'s resume comes between its own channel and the offerer\'s', async () => {
    const got = await acrossGlare(async (hubA, hubB) => {
      const g = glare(hubA, A, hubB, B, 's2')
      g.edgeAtOfferer()
      g.edgeAtAnswerer()
      g.loserOpens()
      // B's resume for s2 reaches A while A's own channel is the only one it has.
      g.winnerAtOfferer()
      await tick()
      // The POST that opened A's channel: sent on it, lost (B dropped that channel).
      await hubA.endpoint(B, 'control').write('x')
      await tick()
      g.winnerAtAnswerer()
    })
    expect(got).toEqual([...range(0, 20), 'x', ...range(20, 40)])
  })

  it('glare, the sender is the answerer: the peer\'s resume comes before both of its channels', async () => {
    const got = await acrossGlare(async (hubA, hubB) => {
      const g = glare(hubA, A, hubB, B, 's2')
      g.edgeAtOfferer()
      g.edgeAtAnswerer()
      g.winnerAtOfferer()
      await tick()
      g.loserOpens()
      await tick()
      g.winnerAtAnswerer()
    })
    expect(got).toEqual(range(0, 40))
  })

  it('glare, the sender is the answerer: the peer\'s resume comes after both of its channels', async () => {
    const got = await acrossGlare(async (hubA, hubB) => {
      const g = glare(hubA, A, hubB, B, 's2')
      g.loserOpens()
      g.winnerAtAnswerer()
      g.edgeAtOfferer()
      g.edgeAtAnswerer()
      g.winnerAtOfferer()
    })
    expect(got).toEqual(range(0, 40))
  })

  it('glare, the receiver is the answerer: both its channels\' resumes reach the sender before the sender\'s channel opens', async () => {
    const got = await acrossGlare(async (hubA, hubB) => {
      const g = glare(hubB, B, hubA, A, 's2')
      g.edgeAtOfferer()
      g.edgeAtAnswerer()
      g.loserOpens()
      g.winnerAtAnswerer()
      await tick()
      g.winnerAtOfferer()
    })
    expect(got).toEqual(range(0, 40))
  })

  it('glare, the receiver is the answerer: its own channel closes before its _edge channel opens', async () => {
    const got = await acrossGlare(async (hubA, hubB) => {
      const g = glare(hubB, B, hubA, A, 's2')
      g.edgeAtOfferer()
      g.loserOpens()
      g.winnerAtAnswerer()
      g.edgeAtAnswerer()
      await tick()
      g.winnerAtOfferer()
    })
    expect(got).toEqual(range(0, 40))
  })

  it('a sender paused for a slow local consumer goes on once that consumer says it drained, without waiting for a poll', async () => {
    // The poll (a setInterval) never fires here: only consumerDrained() can resume the sender.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    try {
      const hubA = new ChannelHub(log)
      const hubB = new ChannelHub(log)
      hubs.push(hubA, hubB)
      let backlog = FLOW_PAUSE_BYTES + 1
      const got: string[] = []
      const inB = hubB.endpoint(A, 'control')
      inB.addConsumer({ deliver: data => { got.push(String(data)); return false }, backlog: () => backlog, overflow: () => {} })
      const out = hubA.endpoint(B, 'control')
      session(hubA, hubB, 's1')
      await out.write('0')
      await until(() => out.remotePaused, 1_000)
      const paused = out.write('1')
      inB.consumerDrained()
      await new Promise(resolve => setTimeout(resolve, 20))
      expect(out.remotePaused).toBe(true) // still behind: no resume
      backlog = 0
      inB.consumerDrained()
      await until(() => got.length === 2, 1_000)
      await paused
      expect(got).toEqual(['0', '1'])
    } finally {
      vi.useRealTimers()
    }
  })

  it('glare: the answerer\'s own channel closing before its _edge channel opens drops no other channel\'s resume', async () => {
    const { hubA, hubB } = hubsWithConsumer()
    const got: string[] = []
    hubB.endpoint(A, 'telemetry').addConsumer({ deliver: data => { got.push(String(data)); return true }, backlog: () => 0, overflow: () => {} })
    const out = hubA.endpoint(B, 'telemetry')
    const s1 = session(hubA, hubB, 's1', [EDGE_CHANNEL, 'control', 'telemetry'])
    for (const m of range(0, 10)) await out.write(m)
    await until(() => got.length === 10)
    end(s1)
    const waiting = Promise.all(range(10, 20).map(async m => { await out.write(m) }))
    const g = glare(hubB, B, hubA, A, 's2')
    const [telemetryA, telemetryB] = pairOf('telemetry')
    g.edgeAtOfferer()
    hubA.attach(B, telemetryA, 's2')
    g.winnerAtOfferer()
    // At B (the answerer), telemetry's resume waits for B's _edge channel, which opens last.
    hubB.attach(A, telemetryB, 's2')
    g.loserOpens()
    g.winnerAtAnswerer()
    g.edgeAtAnswerer()
    await waiting
    await until(() => got.length >= 20).catch(() => {})
    expect(got).toEqual(range(0, 20))
  })

  it('unordered reliable channels are not numbered: messages go straight to the channel', async () => {
    const hubA = new ChannelHub(log)
    hubs.push(hubA)
    const [edge] = pairOf(EDGE_CHANNEL)
    const channel = new FakeChannel('bulk', { ordered: false })
    const sent: string[] = []
    channel.send = (data) => { sent.push(String(data)); return true }
    hubA.attach(B, edge, 's1')
    hubA.attach(B, channel, 's1')
    await hubA.endpoint(B, 'bulk').write('x')
    expect(sent).toEqual(['x'])
    expect(hubA.endpoint(B, 'bulk').unacknowledged).toBe(0)
  })
})
