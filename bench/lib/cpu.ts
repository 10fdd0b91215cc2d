import fs from 'node:fs/promises'
import { descendants } from './rss.ts'

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every mainstream kernel). */
const TICKS_PER_SECOND = 100

/** User + system CPU time of one process in ms from /proc/<pid>/stat; undefined once it has exited. */
export async function readCpuMs (pid: number): Promise<number | undefined> {
  let stat: string
  try {
    stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // fields resume after the command name's last ')': state is field 3, utime 14, stime 15
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_SECOND
}

/** CPU time in ms of a process and everything it started (10 ms resolution). */
export async function treeCpuMs (pid: number): Promise<number> {
  let total = 0
  for (const p of [pid, ...await descendants(pid)]) total += (await readCpuMs(p)) ?? 0
  return total
}
