import { startEdgedPair } from './edged-pair.ts'
import { waitFor, type EdgedProcess } from './edged-process.ts'
import { labPrefix, type NetnsSet } from './netns-lab.ts'
import { unixRequest } from './unix-http.ts'

/** `d`'s session with `peer` (GET /v1/sessions/:peer), or undefined when it has none. */
export async function sessionWith (d: EdgedProcess, peer: string): Promise<any> {
  const res = await unixRequest(d.socket, 'GET', `/v1/sessions/${peer}`)
  return res.status === 200 ? res.body : undefined
}

/** Wait until `d`'s session with `peer` is connected; resolves to it. */
export async function connected (d: EdgedProcess, peer: string, timeoutMs: number): Promise<any> {
  return await waitFor(`${d.name} connected to ${peer}`, async () => {
    const s = await sessionWith(d, peer)
    return s?.state === 'connected' ? s : undefined
  }, timeoutMs, 100)
}

/**
 * Two robots on one link: namespaces `<tag>…-a` and `-b` of `set`, joined by a
 * veth (eth0 at `addrs` /24), alpha in the first, bravo in the second,
 * each bootstrapping from the other; resolves once their session is connected.
 */
export async function startLinkedPair (set: NetnsSet, tag: string, addrs: readonly [string, string], alphaConfig: Record<string, any> = {}): Promise<{ ns: [string, string], a: EdgedProcess, b: EdgedProcess }> {
  const p = labPrefix(tag)
  const ns: [string, string] = [set.add(`${p}-a`), set.add(`${p}-b`)]
  set.link(ns[0], 'eth0', `${addrs[0]}/24`, ns[1], 'eth0', `${addrs[1]}/24`)
  // Both at once, each bootstrapping from the other over the link (edged-pair.ts).
  const [a, b] = await startEdgedPair(
    { name: 'alpha', netns: ns[0], listenHost: '0.0.0.0', address: addrs[0], config: alphaConfig },
    { name: 'bravo', netns: ns[1], listenHost: '0.0.0.0', address: addrs[1] })
  await connected(a, b.peerId, 20_000)
  return { ns, a, b }
}
