import type { Command } from 'commander'
import type { SourcesResponse } from '../../daemon/api-types.ts'
import type { CliContext } from '../cli-context.ts'
import { formatTable } from '../format-table.ts'

/** Local sources (with the encoder each uses), then the swarm's remote ones. */
export function formatSources (res: SourcesResponse): string {
  const local = res.local.length === 0
    ? 'no local sources\n'
    : formatTable(
      ['SOURCE', 'KIND', 'CODEC', 'ENCODER', 'RUNNING', 'VIEWERS', 'ERROR'],
      res.local.map(s => [
        s.name, s.kind, s.codec,
        s.encoder === null ? 'none' : `${s.encoder}${s.hardware ? ' (hw)' : ''}`,
        s.running ? 'yes' : (s.alwaysOn ? 'no (always-on)' : 'no'),
        String(s.users),
        s.error === null ? '-' : `${s.error.name}: ${s.error.message}`
      ]))
  const remote = res.remote.length === 0
    ? 'no remote sources\n'
    : formatTable(['PEER', 'NAME', 'SOURCE', 'KIND', 'CODEC'], res.remote.map(r => [r.peer, r.peerName, r.name, r.kind, r.codec]))
  return `${local}\n${remote}`
}

export function sourcesCommand (program: Command, cli: CliContext): void {
  program.command('sources')
    .description('list this daemon\'s sources (with their encoders) and the swarm\'s')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await cli.client(cmd).sources()
      if (cli.json(cmd)) cli.printJson(res)
      else cli.io.stdout(formatSources(res))
    })
}
