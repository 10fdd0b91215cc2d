import type { Command } from 'commander'
import { setTimeout as sleep } from 'node:timers/promises'
import type { SessionInfo } from '../../daemon/api-types.ts'
import { TimeoutError } from '../../util/errors.ts'
import type { CliContext } from '../cli-context.ts'
import type { ControlClient } from '../../client/control-client.ts'
import { parseSeconds } from '../parse-options.ts'
import { formatPair } from './sessions.ts'

export const DEFAULT_CONNECT_TIMEOUT_S = 15
export const CONNECT_POLL_MS = 100

interface ConnectOptions {
  wait?: boolean
  timeout: number
}

/** Poll the session until it is connected; a TimeoutError that says where it got to otherwise. */
export async function waitConnected (client: ControlClient, first: SessionInfo, timeoutS: number): Promise<SessionInfo> {
  const deadline = Date.now() + timeoutS * 1000
  let info = first
  while (info.state !== 'connected') {
    const left = deadline - Date.now()
    if (left <= 0) {
      const why = info.lastError === null ? '' : `; last error ${info.lastError.code}: ${info.lastError.message}`
      throw new TimeoutError(`${info.peer} did not connect within ${timeoutS} s (state ${info.state}${why})`)
    }
    await sleep(Math.min(CONNECT_POLL_MS, left))
    info = await client.session(info.peer)
  }
  return info
}

export function connectCommand (program: Command, cli: CliContext): void {
  program.command('connect')
    .description('open a session with a peer (edged keeps it up and reconnects it)')
    .argument('<peer>', 'peer id (see edgectl peers)')
    .option('--wait', 'wait until the session is connected')
    .option('--timeout <seconds>', 'how long --wait waits', parseSeconds, DEFAULT_CONNECT_TIMEOUT_S)
    .action(async (peer: string, opts: ConnectOptions, cmd: Command) => {
      const client = cli.client(cmd)
      const json = cli.json(cmd)
      const started = await client.connect(peer)
      if (!json) cli.io.stdout(`connecting to ${started.peer} (${started.state})\n`)
      if (opts.wait !== true) {
        if (json) cli.printJson(started)
        return
      }
      const connected = await waitConnected(client, started, opts.timeout)
      if (json) cli.printJson(connected)
      else cli.io.stdout(`connected to ${connected.peer} (${formatPair(connected.pair)})\n`)
    })
}
