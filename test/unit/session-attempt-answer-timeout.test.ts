import { pino } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ANSWER_TIMEOUT_MS, SessionAttempt, type AttemptFailure } from '../../src/core/sessions/session-attempt.ts'
import type { SignalMessage } from '../../src/signalling/signal-messages.ts'
import type { SignalStream } from '../../src/signalling/signal-stream.ts'
import type { PeerSession } from '../../src/transport/types.ts'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'

/** A signal stream that carries nothing: the other end never answers unless the test says so. */
class SilentStream extends TypedEmitter<{ message: [SignalMessage], close: [Error?] }> {
  closed = false
  sent: SignalMessage[] = []
  async send (m: SignalMessage): Promise<void> { this.sent.push(m) }
  async reject (): Promise<void> {}
  close (): void { this.closed = true }
}

/** A PeerSession that stays connecting (no ICE behind it). */
function connectingSession (): PeerSession {
  const s = new TypedEmitter() as unknown as PeerSession
  Object.assign(s, { state: 'connecting', close: () => {}, handleSignal: () => {}, stats: () => ({}) })
  return s
}

function offerer (stream: SilentStream): { ended: Promise<AttemptFailure | undefined> } {
  const attempt = new SessionAttempt({
    peer: 'peer', id: 'session-1', role: 'offerer', profile: 'webrtc',
    stream: stream as unknown as SignalStream,
    createSession: () => connectingSession(),
    logger: pino({ level: 'silent' })
  })
  return { ended: new Promise(resolve => { attempt.on('ended', resolve) }) }
}

describe('SessionAttempt: an offer nobody answers', () => {
  afterEach(() => { vi.useRealTimers() })

  it(`fails with "timeout" after ${ANSWER_TIMEOUT_MS} ms of silence and closes its stream`, async () => {
    vi.useFakeTimers()
    const stream = new SilentStream()
    const { ended } = offerer(stream)
    await vi.advanceTimersByTimeAsync(ANSWER_TIMEOUT_MS - 1)
    expect(stream.closed).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    const failure = await ended
    expect(failure).toMatchObject({ code: 'timeout', permanent: false })
    expect(failure?.message).toMatch(/no answer/)
    expect(stream.closed).toBe(true)
  })

  it('waits on once the peer has said anything on the stream', async () => {
    vi.useFakeTimers()
    const stream = new SilentStream()
    const { ended } = offerer(stream)
    let done = false
    void ended.then(() => { done = true })
    stream.emit('message', { type: 'candidate', session: 'session-1', candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host', mid: '0' } as SignalMessage)
    await vi.advanceTimersByTimeAsync(ANSWER_TIMEOUT_MS * 3)
    expect(done).toBe(false)
  })
})
