import type { Command } from 'commander'
import { StreamClosedError } from '../../util/errors.ts'
import type { CliContext } from '../cli-context.ts'
import type { ChannelMessage, ControlClient } from '../../client/control-client.ts'
import { DEFAULT_CHANNEL } from './send.ts'

/** How much of a binary message's base64 a line shows. */
const BASE64_PREVIEW_CHARS = 24

/** Control characters would break the one-line-per-message output (or the terminal): show them escaped. */
function visible (text: string): string {
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, c => {
    if (c === '\n') return '\\n'
    if (c === '\r') return '\\r'
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  })
}

/** `PEER NAME: text`, or `PEER NAME: <N bytes base64 AAEC…>` for a binary message; no name when unknown. */
export function formatMessage (message: ChannelMessage, name: string | null = null): string {
  const who = name === null ? message.peer : `${message.peer} ${name}`
  if ('text' in message) return `${who}: ${visible(message.text)}\n`
  const bytes = Buffer.from(message.base64, 'base64').byteLength
  const preview = message.base64.length > BASE64_PREVIEW_CHARS ? message.base64.slice(0, BASE64_PREVIEW_CHARS) + '…' : message.base64
  return `${who}: <${bytes} bytes base64 ${preview}>\n`
}

/** Peer names from GET /v1/peers, fetched again only for a peer not seen yet. */
function peerNames (client: ControlClient): (peer: string) => Promise<string | null> {
  const names = new Map<string, string | null>()
  return async peer => {
    if (!names.has(peer)) {
      try {
        for (const p of (await client.peers()).peers) names.set(p.peerId, p.name)
      } catch {
        // A name is a nicety: print the message without it.
      }
      if (!names.has(peer)) names.set(peer, null)
    }
    return names.get(peer) ?? null
  }
}

export function listenCommand (program: Command, cli: CliContext): void {
  program.command('listen')
    .description('print the messages every peer sends on a channel (JSON lines with --json) until Ctrl-C')
    .option('--channel <name>', 'channel label', DEFAULT_CHANNEL)
    .action(async (opts: { channel: string }, cmd: Command) => {
      const client = cli.client(cmd)
      const json = cli.json(cmd)
      const nameOf = peerNames(client)
      // Lines go out in arrival order even while a name is being looked up.
      let printed = Promise.resolve()
      const end = await client.messages(opts.channel, message => {
        if (json) { cli.io.stdout(JSON.stringify(message) + '\n'); return }
        printed = printed.then(async () => { cli.io.stdout(formatMessage(message, await nameOf(message.peer))) })
      }, cli.io.interrupted())
      await printed
      if (end === 'closed') throw new StreamClosedError('edged closed the message stream')
    })
}
