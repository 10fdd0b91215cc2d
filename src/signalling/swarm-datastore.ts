import { MemoryDatastore } from 'datastore-core/memory'
import type { Key } from 'interface-datastore'
import { base32 } from 'multiformats/bases/base32'
import type { CID } from 'multiformats/cid'

/** Entries the whole datastore holds (peer store, DHT providers): past it, new keys are dropped. */
export const DEFAULT_MAX_DATASTORE_ENTRIES = 8192
/** Provider records of the rendezvous key kept (one per provider). */
export const DEFAULT_MAX_RENDEZVOUS_PROVIDERS = 256
/** kad-dht's datastore prefix for provider records (its `datastorePrefix` default plus `/provider`). */
const PROVIDER_PREFIX = '/dht/provider/'

export interface SwarmDatastoreInit {
  /** The only key edged provides and looks up (swarm-scope.ts rendezvousCid). */
  rendezvous: CID
  maxEntries?: number
  maxRendezvousProviders?: number
}

/**
 * libp2p's in-memory datastore (its default) with bounds that libp2p has no
 * option for. It backs the peer store and kad-dht's provider records; a
 * peer's ADD_PROVIDER of any key went straight in (50,000 junk CIDs stayed
 * until their 48 h validity ran out). Here:
 * - provider records of keys other than the swarm's rendezvous key are not
 *   stored (edged never looks them up): the put succeeds and keeps nothing;
 * - rendezvous providers are capped;
 * - the whole store is capped; past it new keys are dropped, as a cache
 *   would (the peer store then forgets a peer it would have learnt of).
 */
export class SwarmDatastore extends MemoryDatastore {
  readonly #rendezvousPrefix: string
  readonly #maxEntries: number
  readonly #maxProviders: number
  /** The keys held (MemoryDatastore's map is private to it). */
  readonly #keys = new Set<string>()
  #providers = 0

  constructor (init: SwarmDatastoreInit) {
    super()
    this.#rendezvousPrefix = `${PROVIDER_PREFIX}${base32.baseEncode(init.rendezvous.multihash.bytes)}/`
    this.#maxEntries = init.maxEntries ?? DEFAULT_MAX_DATASTORE_ENTRIES
    this.#maxProviders = init.maxRendezvousProviders ?? DEFAULT_MAX_RENDEZVOUS_PROVIDERS
  }

  override put (key: Key, val: Uint8Array, options?: { signal?: AbortSignal }): Key | Promise<Key> {
    const text = key.toString()
    if (!this.#keys.has(text)) {
      if (!this.#admits(text)) return key
      this.#keys.add(text)
      if (text.startsWith(this.#rendezvousPrefix)) this.#providers++
    }
    return super.put(key, val, options)
  }

  override delete (key: Key, options?: { signal?: AbortSignal }): void | Promise<void> {
    const text = key.toString()
    if (this.#keys.delete(text) && text.startsWith(this.#rendezvousPrefix)) this.#providers--
    return super.delete(key, options)
  }

  /** Entries held now. */
  get size (): number { return this.#keys.size }

  /** Entries held now under `prefix` (a key's text starts with it). */
  count (prefix: string): number {
    let n = 0
    for (const key of this.#keys) if (key.startsWith(prefix)) n++
    return n
  }

  #admits (key: string): boolean {
    if (key.startsWith(PROVIDER_PREFIX)) {
      if (!key.startsWith(this.#rendezvousPrefix)) return false
      if (this.#providers >= this.#maxProviders) return false
    }
    return this.#keys.size < this.#maxEntries
  }
}
