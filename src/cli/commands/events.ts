import type { Command } from 'commander'
import type { ControlEvent } from '../../client/control-client.ts'
import type { CliContext } from '../cli-context.ts'
import { StreamClosedError } from '../../util/errors.ts'

function summary (data: unknown): string {
  if (data === null || typeof data !== 'object') return typeof data === 'string' ? data : JSON.stringify(data)
  const d = data as Record<string, unknown>
  if (typeof d.peerId === 'string') {
    const parts = [d.peerId]
    if (typeof d.name === 'string') parts.push(d.name)
    if (typeof d.stack === 'string') parts.push(`stack=${d.stack}`)
    if (typeof d.connected === 'boolean') parts.push(`connected=${d.connected ? 'yes' : 'no'}`)
    return parts.join(' ')
  }
  return JSON.stringify(data)
}

/** One readable line: local time, type, what it is about. */
export function formatEvent (event: ControlEvent, at: Date = new Date()): string {
  const time = at.toTimeString().slice(0, 8) + '.' + String(at.getMilliseconds()).padStart(3, '0')
  return `${time}  ${event.type}  ${summary(event.data)}\n`
}

export function eventsCommand (program: Command, cli: CliContext): void {
  program.command('events')
    .description('print daemon events as they happen (JSON lines with --json) until Ctrl-C')
    .action(async (_opts: unknown, cmd: Command) => {
      const json = cli.json(cmd)
      const end = await cli.client(cmd).events(event => {
        cli.io.stdout(json ? JSON.stringify({ type: event.type, data: event.data }) + '\n' : formatEvent(event))
      }, cli.io.interrupted())
      // edged stopping ends the stream: fail so scripts that follow events notice.
      if (end === 'closed') throw new StreamClosedError('edged closed the event stream')
    })
}
