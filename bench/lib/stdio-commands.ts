import readline from 'node:readline'

export type Command = Record<string, any> & { cmd: string }

/** For baseline programs: one JSON object per line on stdout. */
export function say (message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

/** Errors from web-style APIs are sometimes Events carrying the error. */
function describe (err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`
  const event = err as { type?: string, error?: unknown, message?: string }
  if (typeof event?.type === 'string') return `event ${event.type}: ${event.error instanceof Error ? describe(event.error) : String(event.message ?? event.error)}`
  return String(err)
}

/**
 * For baseline programs driven by bench/lib/json-lines.ts: run each command
 * from stdin in turn; the handler's result goes back tagged `reply: <cmd>`,
 * a thrown error as `error`. Ends the process when stdin closes.
 */
export function serveCommands (handle: (command: Command) => Promise<Record<string, unknown>>, onEnd: () => Promise<void> | void): void {
  const lines = readline.createInterface({ input: process.stdin })
  let chain = Promise.resolve()
  lines.on('line', line => {
    chain = chain.then(async () => {
      let command: Command
      try {
        command = JSON.parse(line)
      } catch {
        say({ error: `not JSON: ${line.slice(0, 100)}` })
        return
      }
      try {
        say({ reply: command.cmd, ...(await handle(command)) })
      } catch (err) {
        say({ error: describe(err) })
      }
    })
  })
  lines.on('close', () => { void chain.then(onEnd).finally(() => process.exit(0)) })
}
