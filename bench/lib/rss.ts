import fs from 'node:fs/promises'

const KIB_PER_MIB = 1024

/** VmRSS of one process in KiB from /proc/<pid>/status; undefined once it has exited. */
export async function readRssKiB (pid: number): Promise<number | undefined> {
  let status: string
  try {
    status = await fs.readFile(`/proc/${pid}/status`, 'utf8')
  } catch {
    return undefined
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  return match === null ? undefined : Number(match[1])
}

/** Direct and indirect children of `pid`, from the ppid field of /proc/<n>/stat. */
export async function descendants (pid: number): Promise<number[]> {
  const parentOf = new Map<number, number>()
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8')
      // the command name (field 2) may hold spaces and parentheses: fields resume after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      parentOf.set(Number(entry), ppid)
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = []
  let frontier = [pid]
  while (frontier.length > 0) {
    const next: number[] = []
    for (const [child, parent] of parentOf) if (frontier.includes(parent)) next.push(child)
    found.push(...next)
    frontier = next
  }
  return found
}

/**
 * Resident memory of a process and everything it started, in MiB (a launcher
 * script that forks node instead of exec-ing it still counts as one program).
 */
export async function treeRssMiB (pid: number): Promise<number> {
  const own = await readRssKiB(pid)
  if (own === undefined) throw new Error(`process ${pid} is gone; cannot read its RSS`)
  let total = own
  for (const child of await descendants(pid)) total += (await readRssKiB(child)) ?? 0
  return total / KIB_PER_MIB
}
