import { Command, CommanderError } from 'commander'
import { VERSION } from '../daemon/version.ts'
import { DaemonError, DaemonNotRunningError, EdgeError } from '../util/errors.ts'
import { createCliContext, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIo } from './cli-context.ts'
import { connectCommand } from './commands/connect.ts'
import { disconnectCommand } from './commands/disconnect.ts'
import { eventsCommand } from './commands/events.ts'
import { keygenCommand } from './commands/keygen.ts'
import { listenCommand } from './commands/listen.ts'
import { peersCommand } from './commands/peers.ts'
import { reloadCommand } from './commands/reload.ts'
import { sendCommand } from './commands/send.ts'
import { sessionsCommand } from './commands/sessions.ts'
import { statusCommand } from './commands/status.ts'
import { sourcesCommand } from './commands/sources.ts'
import { unwatchCommand, watchCommand } from './commands/watch.ts'
import { recordCommand } from './commands/record.ts'
import { topCommand } from './commands/top.ts'

export function createProgram (io: CliIo): Command {
  const program = new Command('edgectl')
    .description('control the local Edge Stack daemon (edged)')
    .version(VERSION)
    .option('--socket <path>', 'control socket (default: $EDGED_SOCKET, /run/edged/edged.sock as root, else $XDG_RUNTIME_DIR/edged/edged.sock)')
    .option('--json', 'print machine-readable JSON')
    .configureHelp({ showGlobalOptions: true })
    // Set before the subcommands exist: they inherit it.
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run edgectl --help for usage)')

  const cli = createCliContext(io)
  statusCommand(program, cli)
  peersCommand(program, cli)
  sourcesCommand(program, cli)
  watchCommand(program, cli)
  unwatchCommand(program, cli)
  recordCommand(program, cli)
  sessionsCommand(program, cli)
  connectCommand(program, cli)
  disconnectCommand(program, cli)
  sendCommand(program, cli)
  listenCommand(program, cli)
  eventsCommand(program, cli)
  keygenCommand(program, cli)
  topCommand(program, cli)
  reloadCommand(program, cli)
  return program
}

/** What a failed command prints; never a stack trace for errors edgectl expects. */
export function describeError (err: unknown): string {
  if (err instanceof DaemonNotRunningError) return err.message
  if (err instanceof DaemonError) return `error: ${err.remoteName}: ${err.message}`
  if (err instanceof EdgeError) return `error: ${err.name}: ${err.message}`
  return `edgectl: internal error: ${(err as Error)?.stack ?? String(err)}`
}

/** Run edgectl on the user's arguments (no node/script prefix); resolves to the exit code. */
export async function runCli (args: string[], io: CliIo): Promise<number> {
  const program = createProgram(io)
  try {
    await program.parseAsync(args, { from: 'user' })
    return EXIT_OK
  } catch (err) {
    // Commander has already printed its own message (usage, help, version).
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE
    io.stderr(describeError(err) + '\n')
    return EXIT_FAILURE
  }
}
