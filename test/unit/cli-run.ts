import { spawn } from 'node:child_process'
import path from 'node:path'
import { Readable } from 'node:stream'
import { runCli } from '../../src/cli/program.ts'
import type { CliIo } from '../../src/cli/cli-context.ts'

export const EDGECTL = path.resolve(import.meta.dirname, '..', '..', 'bin', 'edgectl')

export interface Run { code: number, stdout: string, stderr: string }

export interface RunOptions {
  env?: NodeJS.ProcessEnv
  interrupt?: AbortController
  /** What the command reads as stdin; a command that reads stdin without one fails the test. */
  stdin?: string
}

/** edgectl in this process; `out()` shows stdout so far. */
export function startEdgectl (args: string[], opts: RunOptions = {}): { done: Promise<Run>, out: () => string } {
  let stdout = ''
  let stderr = ''
  const interrupt = opts.interrupt ?? new AbortController()
  const io: CliIo = {
    stdout: t => { stdout += t },
    stderr: t => { stderr += t },
    env: opts.env ?? {},
    stdin: () => {
      if (opts.stdin === undefined) throw new Error('this test gives edgectl no stdin')
      return Readable.from([opts.stdin])
    },
    interrupted: () => interrupt.signal
  }
  const done = runCli(args, io).then(code => ({ code, stdout, stderr }))
  return { done, out: () => stdout }
}

export async function edgectl (args: string[], opts: RunOptions = {}): Promise<Run> {
  return await startEdgectl(args, opts).done
}

export async function until (check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

export interface ChildOptions {
  uid?: number
  gid?: number
  env?: NodeJS.ProcessEnv
  /** Written to the child's stdin, which is then closed. */
  stdin?: string
}

/** bin/edgectl as a real child process. */
export function child (args: string[], opts: ChildOptions = {}): { done: Promise<Run & { signal: NodeJS.Signals | null }>, proc: ReturnType<typeof spawn>, out: () => string } {
  const proc = spawn(EDGECTL, args, { env: { ...process.env, ...opts.env }, uid: opts.uid, gid: opts.gid })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  proc.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  if (opts.stdin !== undefined) proc.stdin.end(opts.stdin)
  const done = new Promise<Run & { signal: NodeJS.Signals | null }>(resolve => {
    proc.on('close', (code, signal) => { resolve({ code: code ?? -1, signal, stdout, stderr }) })
  })
  return { done, proc, out: () => stdout }
}
