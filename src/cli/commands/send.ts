import type { Command } from 'commander'
import readline from 'node:readline'
import type { CliContext } from '../cli-context.ts'
import type { ChannelOpenOptions, SendBody } from '../../client/control-client.ts'
import { parseInteger } from '../parse-options.ts'

export const DEFAULT_CHANNEL = 'control'

interface SendOptions {
  channel: string
  base64?: boolean
  stdin?: boolean
  unordered?: boolean
  maxRetransmits?: number
  maxPacketLifetime?: number
}

function channelOptions (opts: SendOptions): ChannelOpenOptions {
  const out: ChannelOpenOptions = {}
  if (opts.unordered === true) out.ordered = false
  if (opts.maxRetransmits !== undefined) out.maxRetransmits = opts.maxRetransmits
  if (opts.maxPacketLifetime !== undefined) out.maxPacketLifeTime = opts.maxPacketLifetime
  return out
}

export function sendCommand (program: Command, cli: CliContext): void {
  program.command('send')
    .description('send a message on a data channel of a connected peer')
    .argument('<peer>', 'peer id')
    .argument('[text]', 'the message (omit with --stdin)')
    .option('--channel <name>', 'channel label', DEFAULT_CHANNEL)
    .option('--base64', 'TEXT (or each stdin line) is base64: send the decoded bytes as a binary message')
    .option('--stdin', 'send each line of stdin as one message, in order, each after the previous is accepted')
    .option('--unordered', 'if the channel is not open yet, open it unordered')
    .option('--max-retransmits <n>', 'if the channel is not open yet, open it lossy: at most n retransmissions', parseInteger(0))
    .option('--max-packet-lifetime <ms>', 'if the channel is not open yet, open it lossy: give up on a message after ms', parseInteger(1))
    .action(async (peer: string, text: string | undefined, opts: SendOptions, cmd: Command) => {
      if (opts.stdin === true && text !== undefined) cmd.error('error: give either TEXT or --stdin, not both')
      if (opts.stdin !== true && text === undefined) cmd.error('error: missing TEXT (or --stdin)')
      const client = cli.client(cmd)
      const json = cli.json(cmd)
      const options = channelOptions(opts)
      const body = (line: string): SendBody => opts.base64 === true ? { base64: line } : { text: line }

      if (text !== undefined) {
        const res = await client.send(peer, opts.channel, body(text), options)
        if (json) cli.printJson(res)
        return
      }
      const lines = readline.createInterface({ input: cli.io.stdin(), crlfDelay: Infinity })
      try {
        // One POST at a time: a slow channel slows down reading stdin.
        for await (const line of lines) {
          const res = await client.send(peer, opts.channel, body(line), options)
          if (json) cli.io.stdout(JSON.stringify(res) + '\n')
        }
      } finally {
        lines.close()
      }
    })
}
