interface Entry<V> {
  readonly value: V
  /** Read since the entry last reached the young end: it gets a second chance before eviction. */
  used: boolean
}

/**
 * A bounded map evicting the least recently used entry, in the second-chance ("clock") form: a hit
 * only marks its entry, and the eviction moves marked entries to the young end (unmarking them)
 * until it finds an unmarked one to drop. Hits never touch the Map's order, which spares a delete
 * and re-insert on every read of a hot entry; the order is repaired only when something must go.
 */
export class Lru<K, V> {
  private readonly entries = new Map<K, Entry<V>>()
  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    entry.used = true
    return entry.value
  }

  set(key: K, value: V): void {
    if (this.maxEntries <= 0) return
    // Make room first, so the scan never takes the entry being added.
    if (!this.entries.delete(key) && this.entries.size >= this.maxEntries) this.evictOne()
    this.entries.set(key, { value, used: false })
  }

  delete(key: K): void {
    this.entries.delete(key)
  }

  /** Drops the oldest entry not read since it last moved; each read entry met on the way moves young. */
  private evictOne(): void {
    for (;;) {
      const oldest = this.entries.entries().next()
      if (oldest.done) return
      const [key, entry] = oldest.value
      this.entries.delete(key)
      if (!entry.used) return
      entry.used = false
      this.entries.set(key, entry)
    }
  }
}
