import { Lru } from '../lru.js'

/** Entries a first sighting may occupy, at most: small, so one-shot entries die young. */
const PROBATION_ENTRIES = 256

/** Slots of the doorkeeper (a power of two): which keys were seen once and have since left probation. */
const DOORKEEPER_SLOTS = 1 << 14

/**
 * The verifier's result cache, with admission: a result enters the main cache only once its key is
 * seen a second time. First sightings wait in a small probation cache (a repeat there is a hit and
 * moves the entry to the main cache); a key that left probation unrepeated is remembered in a
 * direct-mapped table of integers, so its next verification goes straight to the main cache.
 *
 * Why: callers that mint a token per request (or a flood of one-shot tokens) would otherwise push
 * every entry through a large LRU. That evicts the tokens that do repeat, and it ages thousands of
 * objects into the old generation only to drop them, which made the garbage collector a tenth of the
 * cost of a fresh-token request.
 *
 * Keys are small non-negative integers (the verifier's 30-bit hashes). The table never decides
 * anything: a collision in it only admits an entry early or verifies a token once more.
 */
export class VerificationCache<V> {
  private readonly main: Lru<number, V>
  private readonly probation: Lru<number, V>
  private readonly doorkeeper: Int32Array

  constructor(maxEntries: number) {
    this.main = new Lru(maxEntries)
    this.probation = new Lru(Math.min(maxEntries, PROBATION_ENTRIES))
    // No slots at all when caching is off: nothing is ever admitted.
    this.doorkeeper = new Int32Array(maxEntries > 0 ? DOORKEEPER_SLOTS : 0)
  }

  /** Entries held (both segments). */
  get size(): number {
    return this.main.size + this.probation.size
  }

  /** The entry under `key`; a repeat in probation moves it to the main cache. */
  get(key: number): V | undefined {
    const hit = this.main.get(key)
    if (hit !== undefined) return hit
    const waiting = this.probation.get(key)
    if (waiting !== undefined) {
      this.probation.delete(key)
      this.main.set(key, waiting)
    }
    return waiting
  }

  /** Stores a fresh result: in the main cache when the key was seen before, otherwise on probation. */
  set(key: number, value: V): void {
    if (this.doorkeeper.length === 0) return
    const slot = key & (DOORKEEPER_SLOTS - 1)
    // Stored as key + 1 so an empty slot (0) never matches key 0.
    if (this.doorkeeper[slot] === key + 1 || this.main.get(key) !== undefined) {
      this.probation.delete(key)
      this.main.set(key, value)
      return
    }
    this.doorkeeper[slot] = key + 1
    this.probation.set(key, value)
  }

  /** Forgets the entry under `key` (an expired result). */
  delete(key: number): void {
    this.main.delete(key)
    this.probation.delete(key)
  }
}
