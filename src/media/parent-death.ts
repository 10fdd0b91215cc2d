import { spawnSync } from 'node:child_process'

/**
 * Children must die with the daemon, even on `kill -9`. Node cannot call
 * prctl(PR_SET_PDEATHSIG) itself, so the command runs under util-linux's
 * `setpriv --pdeathsig KILL`, which sets it and execs the command (same pid,
 * no extra process, no polling). Linux sends the signal when the thread that
 * forked the child ends: libuv forks from the main thread, which lives as long
 * as the daemon, so spawn only from the main thread, never from a worker.
 * Without setpriv (not Debian), children are still in their own process group
 * and stopped by stop(), but may outlive a SIGKILLed daemon.
 */
let setprivAvailable: boolean | undefined

export function hasSetpriv (): boolean {
  if (setprivAvailable === undefined) {
    const probe = spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' })
    setprivAvailable = probe.error === undefined && probe.status === 0
  }
  return setprivAvailable
}

/** The command and args that run `command args…` with SIGKILL as its parent-death signal, where possible. */
export function withParentDeathSignal (command: string, args: string[]): { command: string, args: string[], guarded: boolean } {
  if (!hasSetpriv()) return { command, args, guarded: false }
  return { command: 'setpriv', args: ['--pdeathsig', 'KILL', '--', command, ...args], guarded: true }
}
