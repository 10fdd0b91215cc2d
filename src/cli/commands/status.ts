import type { Command } from 'commander'
import type { StatusResponse } from '../../daemon/api-types.ts'
import type { CliContext } from '../cli-context.ts'
import { formatFields } from '../format-fields.ts'
import { formatDuration } from '../format-time.ts'

export function formatStatus (s: StatusResponse): string {
  return formatFields([
    ['peer id', s.peerId],
    ['name', s.name],
    ['version', s.version],
    ['swarm', s.swarm],
    ['stack', s.stack],
    ['addresses', s.addresses],
    ['web', s.web ?? 'off'],
    ['foxglove', s.foxglove ?? 'off'],
    ['peers', String(s.peers)],
    ['sessions', String(s.sessions)],
    ['uptime', formatDuration(s.uptimeS)],
    ['pid', String(s.pid)],
    ['config', s.config]
  ])
}

export function statusCommand (program: Command, cli: CliContext): void {
  program.command('status')
    .description('show this daemon: identity, swarm, addresses, counts')
    .action(async (_opts: unknown, cmd: Command) => {
      const status = await cli.client(cmd).status()
      if (cli.json(cmd)) cli.printJson(status)
      else cli.io.stdout(formatStatus(status))
    })
}
