import type { AuditRecord } from './record.js'

/**
 * A FIFO of records as an array plus a read index, compacted now and then, so taking a batch is
 * O(batch) rather than O(queue).
 */
export class RecordQueue {
  private items: AuditRecord[] = []
  private head = 0

  get size(): number {
    return this.items.length - this.head
  }

  push(record: AuditRecord): void {
    this.items.push(record)
  }

  /** Removes and returns up to `max` records from the front. */
  take(max: number): AuditRecord[] {
    const batch = this.items.slice(this.head, this.head + max)
    this.head += batch.length
    if (this.head === this.items.length) {
      this.items.length = 0
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head)
      this.head = 0
    }
    return batch
  }
}
