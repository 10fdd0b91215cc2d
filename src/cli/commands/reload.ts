import type { Command } from 'commander'
import type { ReloadResponse } from '../../daemon/api-types.ts'
import type { CliContext } from '../cli-context.ts'

export function formatReload (res: ReloadResponse): string {
  const lines = [`reloaded ${res.config}`]
  lines.push(res.applied.length === 0 ? 'applied: nothing changed that applies live' : `applied: ${res.applied.join(', ')}`)
  if (res.restartNeeded.length > 0) lines.push(`restart needed for: ${res.restartNeeded.join(', ')}`)
  return lines.join('\n') + '\n'
}

export function reloadCommand (program: Command, cli: CliContext): void {
  program.command('reload')
    .description('re-read edged\'s config file: apply what can change live, name what needs a restart')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await cli.client(cmd).request<ReloadResponse>('POST', '/v1/reload')
      if (cli.json(cmd)) cli.printJson(res)
      else cli.io.stdout(formatReload(res))
    })
}
