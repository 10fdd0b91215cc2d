import { startAdaptiveLab } from '../../test/helpers/adaptive-lab.ts'
import type { EdgedProcess } from '../../test/helpers/edged-process.ts'
import { netnsUnavailable, NetnsSet } from '../../test/helpers/netns-lab.ts'
import type { BenchContext, Figure } from './types.ts'

export interface AdaptiveLab {
  ns: [string, string]
  a: EdgedProcess
  b: EdgedProcess
}

/**
 * A benchmark's body in one adaptive lab (test/helpers/adaptive-lab.ts: two
 * daemons in network namespaces, an adaptive and a fixed-rate source): no
 * figures where namespaces cannot be made; the daemons and namespaces go
 * afterwards, whatever happened.
 */
export async function inAdaptiveLab (ctx: BenchContext, name: string, tag: string, addrs: readonly [string, string], body: (lab: AdaptiveLab) => Promise<Figure[]>): Promise<Figure[]> {
  const skip = netnsUnavailable()
  if (skip !== undefined) {
    ctx.log(`${name}: skipped, ${skip}`)
    return []
  }
  const set = new NetnsSet()
  let lab: AdaptiveLab | undefined
  try {
    lab = await startAdaptiveLab(set, tag, addrs)
    return await body(lab)
  } finally {
    await Promise.all([lab?.a, lab?.b].map(async d => { await d?.cleanup() }))
    set.remove()
  }
}
