import { execFileSync } from 'node:child_process'

/** Run a command (ip, iptables, tc); its stderr goes into the error when it fails. */
export function sh (args: string[]): void {
  execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Why a network-namespace bench cannot run here, or undefined when it can. */
export function netnsUnavailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)'
  try { sh(['which', 'ip']); sh(['which', 'iptables']) } catch { return 'needs ip and iptables (scripts/setup --test)' }
  return undefined
}
