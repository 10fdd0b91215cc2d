import type { Logger } from 'pino'
import type { Channel } from '../../transport/types.ts'
import { ChannelEndpoint } from './channel-endpoint.ts'

/** The daemons' own channel on every session: flow control for the user channels. */
export const EDGE_CHANNEL = '_edge'

interface FlowMessage { t: 'flow', label: string, paused: boolean }

function parseFlow (data: string | Buffer): FlowMessage | undefined {
  try {
    const m = JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as Partial<FlowMessage>
    if (m.t === 'flow' && typeof m.label === 'string' && typeof m.paused === 'boolean') return m as FlowMessage
  } catch {}
  return undefined
}

/** All channel endpoints of the daemon, by peer and label. */
export class ChannelHub {
  readonly #endpoints = new Map<string, ChannelEndpoint>()
  readonly #log: Logger
  /** Listeners on a label for every peer (edgectl listen). */
  readonly #labelListeners = new Set<{ label: string, onEndpoint: (e: ChannelEndpoint) => void }>()

  constructor (logger: Logger) {
    this.#log = logger
  }

  endpoint (peer: string, label: string): ChannelEndpoint {
    const key = `${peer}\n${label}`
    let endpoint = this.#endpoints.get(key)
    if (endpoint === undefined) {
      endpoint = new ChannelEndpoint(peer, label, this.#log)
      this.#endpoints.set(key, endpoint)
      for (const l of this.#labelListeners) if (l.label === label) l.onEndpoint(endpoint)
    }
    return endpoint
  }

  readonly #edge = new Map<string, Channel>()

  find (peer: string, label: string): ChannelEndpoint | undefined {
    return this.#endpoints.get(`${peer}\n${label}`)
  }

  /**
   * A session's channel opened: attach it to its endpoint. The `_edge` channel
   * carries flow control: a daemon whose local consumers fall behind on a
   * reliable channel asks the sending daemon to pause (end-to-end backpressure).
   */
  attach (peer: string, channel: Channel): void {
    if (channel.label === EDGE_CHANNEL) {
      this.#edge.set(peer, channel)
      channel.on('message', data => {
        const flow = parseFlow(data)
        if (flow === undefined) { this.#log.warn({ peer }, 'ignoring a malformed message on the _edge channel'); return }
        this.#endpoints.get(`${peer}\n${flow.label}`)?.setRemotePaused(flow.paused)
      })
      channel.on('close', () => { if (this.#edge.get(peer) === channel) this.#edge.delete(peer) })
      return
    }
    this.endpoint(peer, channel.label).attach(channel, paused => {
      const edge = this.#edge.get(peer)
      if (edge?.isOpen === true) edge.send(JSON.stringify({ t: 'flow', label: channel.label, paused }))
    })
  }

  /** Endpoints of a label, now and as they appear, for every peer. */
  onLabel (label: string, onEndpoint: (e: ChannelEndpoint) => void): () => void {
    const listener = { label, onEndpoint }
    this.#labelListeners.add(listener)
    for (const e of this.#endpoints.values()) if (e.label === label) onEndpoint(e)
    return () => { this.#labelListeners.delete(listener) }
  }

  /** Forget a peer's endpoints (it left the swarm). */
  dropPeer (peer: string): void {
    for (const [key, e] of this.#endpoints) {
      if (e.peer === peer) { e.close(); this.#endpoints.delete(key) }
    }
  }

  close (): void {
    for (const e of this.#endpoints.values()) e.close()
    this.#endpoints.clear()
    this.#labelListeners.clear()
  }
}
