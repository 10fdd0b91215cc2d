import { execFileSync, spawn, type ChildProcess } from 'node:child_process'

/**
 * Network namespaces of a test's own, wired with veth pairs made inside them
 * (never in the host's namespace), with private 10.x addresses that exist
 * only there. Deleting the namespaces removes their veths, routes and
 * iptables rules: `remove()` is all the cleanup there is.
 */

export function netnsUnavailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  for (const tool of ['ip', 'iptables']) {
    try { execFileSync('which', [tool], { stdio: 'ignore' }) } catch { return `${tool} is not installed (scripts/setup --test)` }
  }
  return undefined
}

/** A short prefix unique to this process, for namespace and interface names (≤ 15 characters with a suffix). */
export function labPrefix (tag: string): string {
  return `${tag}${process.pid % 100_000}`
}

export function inNetns (ns: string, cmd: string, args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

export function ipIn (ns: string, args: string[]): void {
  execFileSync('ip', ['-n', ns, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
}

export function iptablesIn (ns: string, args: string[]): void {
  inNetns(ns, 'iptables', ['-w', ...args])
}

/** A long-running process inside a namespace (coturn, …); killed by the caller. */
export function spawnIn (ns: string, cmd: string, args: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
}

export class NetnsSet {
  readonly names: string[] = []

  add (name: string): string {
    try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }) } catch {}
    execFileSync('ip', ['netns', 'add', name])
    this.names.push(name)
    ipIn(name, ['link', 'set', 'lo', 'up'])
    return name
  }

  /** A veth pair between two of our namespaces, addressed on both ends (CIDR), up. */
  link (a: string, aIf: string, aAddr: string, b: string, bIf: string, bAddr: string): void {
    ipIn(a, ['link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b])
    ipIn(a, ['addr', 'add', aAddr, 'dev', aIf])
    ipIn(b, ['addr', 'add', bAddr, 'dev', bIf])
    ipIn(a, ['link', 'set', aIf, 'up'])
    ipIn(b, ['link', 'set', bIf, 'up'])
  }

  forwarding (ns: string): void {
    inNetns(ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'])
  }

  remove (): void {
    for (const name of this.names.splice(0)) {
      try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }) } catch {}
    }
  }
}

/**
 * pub (the "internet": 10.99.0.1 on its loopback, routes to both NATs)
 *   ├─ 10.99.1.0/24 ─ nat1 (MASQUERADE) ─ 10.98.1.0/24 ─ robot1
 *   ├─ 10.99.2.0/24 ─ nat2 (MASQUERADE) ─ 10.98.2.0/24 ─ robot2
 *   └─ default ─ rest (drops whatever reaches it: the rest of the internet)
 * The robots' own addresses are unreachable from anywhere but their router.
 */
export interface NatLab {
  pub: string
  nat1: string
  nat2: string
  robot1: string
  robot2: string
  /** pub's service address (coturn, bootstrap edged). */
  pubAddr: string
  natPublic: [string, string]
  robotAddr: [string, string]
  set: NetnsSet
  remove: () => void
}

export const PUB_ADDR = '10.99.0.1'
const REST_GW = { pub: '10.99.255.1', rest: '10.99.255.2' }

export function createNatLab (tag: string): NatLab {
  const p = labPrefix(tag)
  const set = new NetnsSet()
  try {
    const pub = set.add(`${p}-pub`)
    ipIn(pub, ['addr', 'add', `${PUB_ADDR}/32`, 'dev', 'lo'])
    set.forwarding(pub)
    // The rest of the internet, where pub's default route leads: UDP to an
    // address nobody routes (a robot's private host candidate) vanishes
    // silently, as it does upstream of a real server. With no route at all,
    // sendto() fails with ENETUNREACH, and coturn closes any allocation whose
    // relay socket fails to send (a relayed check towards a host candidate).
    // Everything else is refused at once (ICMP net unreachable), so libp2p's
    // dials of private addresses still fail fast. `rest` forwards nothing.
    const rest = set.add(`${p}-rest`)
    set.link(pub, 'rest', `${REST_GW.pub}/30`, rest, 'wan', `${REST_GW.rest}/30`)
    ipIn(pub, ['route', 'add', 'default', 'via', REST_GW.rest])
    set.forwarding(rest)
    ipIn(rest, ['route', 'add', 'default', 'via', REST_GW.pub])
    iptablesIn(rest, ['-A', 'FORWARD', '-p', 'udp', '-j', 'DROP'])
    iptablesIn(rest, ['-A', 'FORWARD', '-j', 'REJECT', '--reject-with', 'icmp-net-unreachable'])
    const nats: string[] = []
    const robots: string[] = []
    for (const i of [1, 2]) {
      const nat = set.add(`${p}-nat${i}`)
      const robot = set.add(`${p}-robot${i}`)
      set.link(pub, `pub-n${i}`, `10.99.${i}.1/24`, nat, 'wan', `10.99.${i}.2/24`)
      set.link(nat, 'lan', `10.98.${i}.1/24`, robot, 'lan0', `10.98.${i}.2/24`)
      set.forwarding(nat)
      ipIn(nat, ['route', 'add', 'default', 'via', `10.99.${i}.1`])
      ipIn(robot, ['route', 'add', 'default', 'via', `10.98.${i}.1`])
      iptablesIn(nat, ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE'])
      // A NAT router answers nothing unsolicited from the outside.
      iptablesIn(nat, ['-A', 'FORWARD', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'])
      iptablesIn(nat, ['-A', 'FORWARD', '-i', 'wan', '-j', 'DROP'])
      // Drop unsolicited packets to the router itself before conntrack confirms
      // them: a confirmed entry for a peer's early check would collide with the
      // mapping our robot is about to make, and MASQUERADE would pick another
      // port (a symmetric NAT by accident). Home routers keep the mapping.
      iptablesIn(nat, ['-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'NEW,INVALID', '-j', 'DROP'])
      nats.push(nat)
      robots.push(robot)
    }
    return {
      pub, nat1: nats[0], nat2: nats[1], robot1: robots[0], robot2: robots[1],
      pubAddr: PUB_ADDR,
      natPublic: ['10.99.1.2', '10.99.2.2'],
      robotAddr: ['10.98.1.2', '10.98.2.2'],
      set,
      remove: () => { set.remove() }
    }
  } catch (err) {
    set.remove()
    throw err
  }
}
