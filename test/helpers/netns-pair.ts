import { startEdged, waitFor, type EdgedProcess } from './edged-process.ts'
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
 * veth (eth0 at `addrs` /24), alpha in the first, bravo in the second
 * bootstrapping from alpha; resolves once their session is connected.
 */
export async function startLinkedPair (set: NetnsSet, tag: string, addrs: readonly [string, string], alphaConfig: Record<string, any> = {}): Promise<{ ns: [string, string], a: EdgedProcess, b: EdgedProcess }> {
  const p = labPrefix(tag)
  const ns: [string, string] = [set.add(`${p}-a`), set.add(`${p}-b`)]
  set.link(ns[0], 'eth0', `${addrs[0]}/24`, ns[1], 'eth0', `${addrs[1]}/24`)
  const listen = { listen: ['/ip4/0.0.0.0/tcp/0'] }
  const a = await startEdged({ name: 'alpha', netns: ns[0], config: { ...alphaConfig, swarm: { ...alphaConfig.swarm, ...listen } } })
  const port = ((await unixRequest(a.socket, 'GET', '/v1/status')).body.addresses as string[])
    .map(x => x.startsWith(`/ip4/${addrs[0]}/tcp/`) ? x.split('/')[4] : undefined).find(Boolean)
  const b = await startEdged({ name: 'bravo', netns: ns[1], config: { swarm: { ...listen, bootstrap: [`/ip4/${addrs[0]}/tcp/${port as string}/p2p/${a.peerId}`] } } })
  await connected(a, b.peerId, 20_000)
  return { ns, a, b }
}
