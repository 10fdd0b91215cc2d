import type { ChildProcess } from 'node:child_process'
import { spawnIn } from './netns-lab.ts'

export interface Coturn {
  proc: ChildProcess
  output: () => string
  stop: () => Promise<void>
}

/** coturn in a namespace, with TURN REST credentials (use-auth-secret) from `secret`. */
export async function startCoturn (ns: string, address: string, secret: string, port = 3478): Promise<Coturn> {
  const proc = spawnIn(ns, 'turnserver', [
    '-n', '--no-cli', '--no-tls', '--no-dtls', '--simple-log', '--log-file=stdout', '--fingerprint',
    `--listening-ip=${address}`, `--relay-ip=${address}`, `--listening-port=${port}`,
    '--min-port=49152', '--max-port=49400', '--realm=edge.test',
    '--use-auth-secret', `--static-auth-secret=${secret}`, '--no-tcp-relay',
    // The lab's addresses are private (10.x): coturn must relay to them.
    '--allowed-peer-ip=10.0.0.0-10.255.255.255', '--verbose'
  ])
  let out = ''
  proc.stdout?.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-500_000) })
  proc.stderr?.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-500_000) })
  const exited = new Promise<void>(resolve => { proc.once('exit', () => { resolve() }) })
  const deadline = Date.now() + 10_000
  while (!/listener opened on|Total General servers/i.test(out)) {
    if (proc.exitCode !== null) throw new Error(`coturn exited:\n${out.slice(-3000)}`)
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`coturn did not start:\n${out.slice(-3000)}`) }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return {
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
      const t = setTimeout(() => { proc.kill('SIGKILL') }, 3000)
      await exited
      clearTimeout(t)
    }
  }
}
