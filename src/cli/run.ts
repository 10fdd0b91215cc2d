import { runCli } from './program.ts'
import type { CliIo } from './cli-context.ts'

let interrupt: AbortController | undefined

const io: CliIo = {
  stdout: text => { process.stdout.write(text) },
  stderr: text => { process.stderr.write(text) },
  env: process.env,
  stdin: () => process.stdin,
  interrupted: () => {
    if (interrupt === undefined) {
      const controller = new AbortController()
      interrupt = controller
      // Once only: a second Ctrl-C gets the default behaviour and kills edgectl.
      process.once('SIGINT', () => { controller.abort() })
      process.once('SIGTERM', () => { controller.abort() })
    }
    return interrupt.signal
  }
}

// Writing into a closed pipe (`edgectl events | head`) is a normal way to stop.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

process.exitCode = await runCli(process.argv.slice(2), io)
