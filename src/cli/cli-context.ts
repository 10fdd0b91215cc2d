import type { Command } from 'commander'
import { clientSocketPath } from '../client/socket-path.ts'
import { createControlClient, type ControlClient } from '../client/control-client.ts'

export const EXIT_OK = 0
/** edged is not running, or it answered with an error. */
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

/** Where edgectl reads and writes: the process in run.ts, buffers in tests. */
export interface CliIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
  env: NodeJS.ProcessEnv
  /** Standard input, opened only by commands that read it (send --stdin). */
  stdin: () => NodeJS.ReadableStream
  /** Aborts on Ctrl-C/SIGTERM; only commands that run until interrupted ask for it. */
  interrupted: () => AbortSignal
}

export interface GlobalOptions {
  socket?: string
  json?: boolean
}

/** What every subcommand gets: the io, and the global options resolved for the command being run. */
export interface CliContext {
  io: CliIo
  client: (cmd: Command) => ControlClient
  json: (cmd: Command) => boolean
  /** `--json` output: the value as 2-space JSON on stdout. */
  printJson: (value: unknown) => void
}

export function createCliContext (io: CliIo): CliContext {
  return {
    io,
    client: cmd => createControlClient({ socket: cmd.optsWithGlobals<GlobalOptions>().socket ?? clientSocketPath(io.env) }),
    json: cmd => cmd.optsWithGlobals<GlobalOptions>().json === true,
    printJson: value => { io.stdout(JSON.stringify(value, null, 2) + '\n') }
  }
}
