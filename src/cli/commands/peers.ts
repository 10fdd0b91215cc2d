import type { Command } from 'commander'
import type { PeerInfo } from '../../daemon/api-types.ts'
import type { CliContext } from '../cli-context.ts'
import { formatTable } from '../format-table.ts'
import { formatAgo } from '../format-time.ts'

/** The full peer id stays: people copy it into `edgectl connect`. */
export function formatPeers (peers: PeerInfo[], now: number = Date.now()): string {
  if (peers.length === 0) return 'no peers\n'
  return formatTable(
    ['PEER ID', 'NAME', 'STACK', 'SOURCES', 'CONNECTED', 'LAST SEEN'],
    peers.map(p => [
      p.peerId,
      p.name,
      p.stack,
      p.sources.length === 0 ? '-' : p.sources.map(s => s.name).join(','),
      p.connected ? 'yes' : 'no',
      formatAgo(p.lastSeen, now)
    ])
  )
}

export function peersCommand (program: Command, cli: CliContext): void {
  program.command('peers')
    .description('list the peers of the swarm this daemon knows')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await cli.client(cmd).peers()
      if (cli.json(cmd)) cli.printJson(res)
      else cli.io.stdout(formatPeers(res.peers))
    })
}
