import type { Command } from 'commander'
import type { CliContext } from '../cli-context.ts'

export function disconnectCommand (program: Command, cli: CliContext): void {
  program.command('disconnect')
    .description('close the session with a peer; it stays down until the next connect')
    .argument('<peer>', 'peer id')
    .action(async (peer: string, _opts: unknown, cmd: Command) => {
      await cli.client(cmd).disconnect(peer)
      // edged answers 204 with no body: --json still prints a document scripts can parse.
      if (cli.json(cmd)) cli.printJson({ peer, disconnected: true })
      else cli.io.stdout(`disconnected ${peer}\n`)
    })
}
