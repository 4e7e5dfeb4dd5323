/**
 * A bounded set of keys remembered until a time: the client-assertion `jti`s seen (replay check)
 * and the replacement counts per transaction. When full of live entries it refuses new ones, so a
 * flood can never make the service forget a key early.
 */
export class ExpiringCounter {
  private readonly entries = new Map<string, { count: number; until: number }>()

  constructor(private readonly capacity: number) {}

  /** The count for `key` now (0 when absent or expired). */
  get(key: string, now: number): number {
    const entry = this.entries.get(key)
    if (entry === undefined || entry.until < now) return 0
    return entry.count
  }

  /**
   * Adds one to `key`, kept at least until `until` (ms). Returns the new count, or undefined when
   * the set is full of live entries (the caller fails closed).
   */
  increment(key: string, until: number, now: number): number | undefined {
    const entry = this.entries.get(key)
    if (entry !== undefined && entry.until >= now) {
      entry.count++
      entry.until = Math.max(entry.until, until)
      return entry.count
    }
    if (entry !== undefined) this.entries.delete(key)
    if (this.entries.size >= this.capacity) {
      this.sweep(now)
      if (this.entries.size >= this.capacity) return undefined
    }
    this.entries.set(key, { count: 1, until })
    return 1
  }

  /** Entries held now (live or not yet swept). */
  get size(): number {
    return this.entries.size
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.entries) if (entry.until < now) this.entries.delete(key)
  }
}
