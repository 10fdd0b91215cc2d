import { execFileSync } from 'node:child_process'

/**
 * A network namespace of the test's own with multicast on its loopback, so
 * mDNS between daemons stays inside it and never reaches a real network.
 * Returns null (with the reason) where namespaces cannot be made (not root).
 */
export function createLoopbackNetns (name: string): { name: string, remove: () => void } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'network namespaces need root' }
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' })
  } catch {}
  try {
    execFileSync('ip', ['netns', 'add', name])
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up', 'multicast', 'on'])
    execFileSync('ip', ['-n', name, 'route', 'add', '224.0.0.0/4', 'dev', 'lo'])
  } catch (err) {
    return { skip: `cannot create network namespace: ${(err as Error).message}` }
  }
  return {
    name,
    remove: () => {
      try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }) } catch {}
    }
  }
}
