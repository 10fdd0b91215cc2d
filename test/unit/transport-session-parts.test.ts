import type { Logger } from 'pino'
import { describe, expect, it } from 'vitest'
import { keepChannel } from '../../src/transport/session-channels.ts'
import { SessionStateMachine } from '../../src/transport/session-state.ts'
import type { Channel, ChannelEvents, PeerSessionEvents, SessionState } from '../../src/transport/types.ts'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'

/** A session as the state machine sees it: its events and its close(). */
class FakeSession extends TypedEmitter<PeerSessionEvents> {
  closed = false
  readonly states: SessionState[] = []
  machine!: SessionStateMachine

  constructor () {
    super()
    this.on('state', state => { this.states.push(state) })
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.machine.set('closed')
    this.emit('close')
  }
}

function machineFor (session: FakeSession, warnings: unknown[]): SessionStateMachine {
  const log = { warn: (obj: unknown, msg: string) => { warnings.push([obj, msg]) } } as unknown as Logger
  session.machine = new SessionStateMachine({ session, isClosed: () => session.closed, log, failMessage: 'test session failed' })
  return session.machine
}

describe('SessionStateMachine', () => {
  it('starts connecting and emits each change once, never a repeat', () => {
    const session = new FakeSession()
    const machine = machineFor(session, [])
    expect(machine.current).toBe('connecting')
    machine.set('connecting')
    machine.set('connected')
    machine.set('connected')
    machine.set('disconnected')
    expect(session.states).toEqual(['connected', 'disconnected'])
    expect(machine.current).toBe('disconnected')
  })

  it('fail() warns with the reason, emits failed, then closes the session', () => {
    const session = new FakeSession()
    const warnings: unknown[] = []
    const machine = machineFor(session, warnings)
    const events: string[] = []
    session.on('state', state => { events.push(state) })
    session.on('close', () => { events.push('close') })
    machine.fail('not connected after 5 ms')
    expect(warnings).toEqual([[{ reason: 'not connected after 5 ms' }, 'test session failed']])
    expect(events).toEqual(['failed', 'closed', 'close'])
    expect(session.closed).toBe(true)
  })

  it('fail() after close does nothing', () => {
    const session = new FakeSession()
    const warnings: unknown[] = []
    const machine = machineFor(session, warnings)
    session.close()
    machine.fail('too late')
    expect(warnings).toEqual([])
    expect(session.states).toEqual(['closed'])
  })
})

class FakeChannel extends TypedEmitter<ChannelEvents> {
  readonly label: string
  constructor (label: string) {
    super()
    this.label = label
  }
}

const fake = (label: string): Channel => new FakeChannel(label) as unknown as Channel

describe('keepChannel', () => {
  it('enters the channel, announces it once it opens and drops it once it closes', () => {
    const channels = new Map<string, Channel>()
    const announced: Channel[] = []
    const channel = keepChannel(channels, fake('chat'), c => { announced.push(c) })
    expect(channels.get('chat')).toBe(channel)
    expect(announced).toEqual([])
    channel.emit('open')
    expect(announced).toEqual([channel])
    channel.emit('close')
    expect(channels.has('chat')).toBe(false)
  })

  it('leaves a channel that took the label meanwhile in place', () => {
    const channels = new Map<string, Channel>()
    const loser = keepChannel(channels, fake('chat'), () => {})
    const winner = keepChannel(channels, fake('chat'), () => {})
    loser.emit('close')
    expect(channels.get('chat')).toBe(winner)
  })
})
